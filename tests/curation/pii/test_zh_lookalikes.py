"""Chinese look-alike non-PII words (curation/pii/zh_lookalikes.py): sources, the train/dev/held-out split,
and that the Chinese name model's training negatives stay out of bench/pii.py's evaluation."""
import re

import numpy as np
import pytest

from curation.pii import zh_lookalikes, zh_names
from curation.pii.names import COMPOUND_SURNAMES, SURNAMES


@pytest.fixture(scope="module")
def splits():
    return {s: zh_lookalikes.lookalike_words(s) for s in zh_lookalikes.SPLITS}


def test_split_is_stable_and_covers_three_parts():
    assert zh_lookalikes.split_of("王府井") == zh_lookalikes.split_of("王府井")
    seen = {zh_lookalikes.split_of(f"词{k}") for k in range(200)}
    assert seen == set(zh_lookalikes.SPLITS)
    with pytest.raises(ValueError, match="unknown split 'test'.*train, dev, held-out"):
        zh_lookalikes.lookalike_words("test")


def test_words_begin_with_a_surname_and_are_no_names(splits):
    _, persons = zh_lookalikes._people_daily_tags()
    names = {p for p in persons if 2 <= len(p) <= 4}
    for split, by_kind in splits.items():
        assert set(by_kind) == set(zh_lookalikes.KINDS)
        for kind, words in by_kind.items():
            assert words, (split, kind)
            for w in words:
                assert w[0] in SURNAMES or w[:2] in COMPOUND_SURNAMES, w
                assert zh_lookalikes.split_of(w) == split
                assert not any(w[:k] in names for k in (2, 3, 4)), w
    every = {w for by_kind in splits.values() for ws in by_kind.values() for w in ws}
    assert {"罗红霉素", "严阵以待"} <= every  # jieba: n, i
    assert "王岐山" not in every and "江泽民" not in every  # jieba nr / People's Daily names
    sources = {zh_lookalikes.source_of(w) for w in every}
    assert sources == {"jieba", "people's daily", "faker"}
    assert zh_lookalikes.source_of("张伟") is None


def test_splits_are_disjoint(splits):
    flat = {s: {w for ws in by_kind.values() for w in ws} for s, by_kind in splits.items()}
    assert not flat["train"] & flat["dev"] and not flat["train"] & flat["held-out"] and not flat["dev"] & flat["held-out"]


def test_training_negatives_stay_out_of_the_evaluation(bench, splits):
    """The model trains on the "train" split only, minus every word of the bench's hand-written
    look-alike sentences; its listed places and plain sentences hold no evaluation-split look-alike;
    its frames are none of the bench's."""
    evaluation = {w for s in ("dev", "held-out") for ws in splits[s].values() for w in ws}
    negatives = zh_names.training_lookalikes()
    used = {w for ws in negatives.values() for w in ws}
    assert len(used) > 5000
    assert not used & evaluation
    assert not any(w in t for w in used for t in bench.ZH_FREE_PLAIN)
    places = zh_names.training_places()
    assert places and not set(places) & evaluation
    assert not any(p in t for p in places for t in bench.ZH_FREE_PLAIN)
    held = [w for w in evaluation if zh_lookalikes._all_words()[w][0] != "word"]
    for sentence in zh_names.training_plain_sentences():
        assert not any(w in sentence for w in held), sentence
    bench_frames = {f for dev, held_out in bench.ZH_LOOKALIKE_FRAMES.values() for f in dev + held_out}
    training_frames = {f for frames in zh_names.LOOKALIKE_FRAMES.values() for f in frames}
    assert not bench_frames & training_frames
    for dev, held_out in bench.ZH_LOOKALIKE_FRAMES.values():
        assert not set(dev) & set(held_out)


def test_bench_lookalike_documents_draw_from_their_split(bench, splits):
    for split in ("dev", "held-out"):
        docs = bench.make_free_plain_docs("zh", split, 60, 3)
        assert len(docs) == 60
        for kind, doc in docs:
            if kind == "sentences":  # the hand-written sentences are the dev half only
                assert split == "dev"
                assert any(re.fullmatch(re.sub(r"\\\{\w+\\\}", ".+", re.escape(t)), doc.text)
                           for t in bench.ZH_FREE_PLAIN), doc.text
                continue
            assert any(w in doc.text for w in splits[split][kind]), (split, kind, doc.text)
    en = bench.make_free_plain_docs("en", "held-out", 10, 3)  # English: see test_en_lookalikes.py
    assert [k for k, _ in en][::2] == ["sentences"] * 5 and "sentences" not in [k for k, _ in en][1::2]


def test_model_features_see_long_words_suffixes_places_and_coordination():
    model = zh_names.get_model()
    lex = model.lex
    codes, _ = zh_names.encode(["甘草片和罗红霉素不宜同服。我们去王府井大街，由王芳跟进。"])
    t2, t3 = lex.tags_at(codes)
    pos = np.arange(len(codes))
    length, tag = lex.longest_at(codes, pos, t2, t3)
    text = "\x01\x01甘草片和罗红霉素不宜同服。我们去王府井大街，由王芳跟进。\x01\x01"
    assert length[text.index("罗红")] == 4 and tag[text.index("罗红")] == lex.tag_ids["n"]  # 罗红霉素
    assert length[text.index("王府井")] == 5  # 王府井大街
    cls, loc = lex.classes_at(codes, pos)
    assert cls[text.index("霉素")] == 3 and cls[text.index("大街")] == 1  # drug, place
    assert loc[text.index("王府井")] and not loc[text.index("罗红")]  # after 去
    assert lex.conjunction[ord("跟")] and length[text.index("跟进")] == 2  # 跟进 is a word, not 跟 + name
    # the long word 罗红霉素 keeps 罗红 from being a name
    spans = model.spans("甘草片和罗红霉素不宜同服。", threshold=0.2)
    assert spans == []


def test_shipped_model_keeps_held_out_lookalikes(bench):
    """A regression bar on a small sample of the held-out look-alike documents (the bench runs 800)."""
    from curation.pii import PIIScrubber

    keep, per_kind, _ = bench.evaluate_lookalikes(PIIScrubber(mode="replace"), "zh", "held-out", 300, 5)
    assert keep >= 0.99, per_kind
    assert np.isfinite(list(per_kind.values())).all()


def test_vectorised_lookups_equal_a_plain_python_scan():
    """longest_at / classes_at (hashed, prefiltered, at chosen positions) against a character-by-character
    reference over the same dictionary and suffix tables."""
    import random

    model = zh_names.get_model()
    lex = model.lex
    words = zh_names.load_dictionary()
    rng = random.Random(4)
    pieces = [w for w in sorted(words) if len(w) >= 4][:: 997] + list(zh_names.SUFFIX_CLASSES) + \
        list(zh_names.LOCATIVE_WORDS) + ["张伟", "，", "a1", "王府井大街", "罗红霉素"]
    text = "".join(rng.choice(pieces) for _ in range(400))
    codes, _ = zh_names.encode([text])
    full = "\x01\x01" + text + "\x01\x01"
    pos = np.arange(len(codes))
    t2, t3 = lex.tags_at(codes)
    length, tag = lex.longest_at(codes, pos, t2, t3)
    cls, loc = lex.classes_at(codes, pos)
    for p in range(len(full)):
        best = max((k for k in range(2, zh_names.LONG_MAX + 1) if full[p:p + k] in words and p + k <= len(full)), default=0)
        assert length[p] == best, (p, full[p:p + 8])
        assert tag[p] == (lex.tag_ids[words[full[p:p + best]]] if best else 0)
        suffix = max((k for k in (1, 2, 3) if full[p:p + k] in zh_names.SUFFIX_CLASSES), default=0)
        assert cls[p] == (zh_names.SUFFIX_CLASSES[full[p:p + suffix]] if suffix else 0)
        assert loc[p] == any(p >= k and full[p - k:p] in zh_names.LOCATIVE_WORDS for k in (1, 2))


def test_hash_table_lookups_equal_a_dict():
    """zh_names.Table (the dictionary lookups of the name model): every key found with its value, absent
    keys (0 included) give 0, duplicate keys keep the first value, values must be positive."""
    rng = np.random.default_rng(7)
    keys = rng.integers(1, 1 << 62, 5000, dtype=np.int64).astype(np.uint64)
    keys[:200] = np.arange(1, 201, dtype=np.uint64) << np.uint64(21)  # packed-code-point-like, clustered
    keys = np.unique(keys)
    values = rng.integers(1, 60, len(keys))
    table = zh_names.Table(np.concatenate([keys, keys[:3]]), np.concatenate([values, [99, 99, 99]]))
    ref = dict(zip(keys.tolist(), values.tolist()))
    query = np.concatenate([keys, rng.integers(1, 1 << 62, 5000, dtype=np.int64).astype(np.uint64),
                            np.zeros(3, dtype=np.uint64)])
    rng.shuffle(query)
    assert table.get(query).tolist() == [ref.get(q, 0) for q in query.tolist()]
    assert table.contains(keys).all() and len(table) == len(keys)
    assert zh_names.Table([]).get(np.array([0, 5], dtype=np.uint64)).tolist() == [0, 0]
    with pytest.raises(ValueError, match="positive"):
        zh_names.Table([1, 2], [1, 0])
