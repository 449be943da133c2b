"""English look-alike non-PII phrases (curation/pii/en_lookalikes.py): sources, the dev/held-out split, what is
kept out, and a regression bar for the scrubber on bench/pii.py's English look-alike documents."""

import pytest

from curation.pii import PIIScrubber, en_lexicon, en_lookalikes


@pytest.fixture(scope="module")
def phrases():
    return en_lookalikes.all_phrases()


def test_split_is_stable_and_halves_the_phrases(phrases):
    assert en_lookalikes.split_of("Lincoln Park") == en_lookalikes.split_of("Lincoln Park")
    splits = [en_lookalikes.split_of(p) for p in phrases]
    assert 0.4 < splits.count("dev") / len(splits) < 0.6
    dev, held = en_lookalikes.lookalike_phrases("dev"), en_lookalikes.lookalike_phrases("held-out")
    for kind in en_lookalikes.KINDS:
        assert len(dev[kind]) >= 100 and len(held[kind]) >= 100, kind
        assert not set(dev[kind]) & set(held[kind])
        assert dev[kind] == sorted(dev[kind])


def test_sources_and_kinds(phrases):
    sources = {source for _, source in phrases.values()}
    assert sources == {"wordnet", "faker", "technical"}
    assert phrases["Parkinson's Disease"] == ("medical", "technical")
    assert en_lookalikes.source_of("Monte Carlo") == "wordnet" and phrases["Monte Carlo"][0] == "place"
    assert phrases["Lipitor"] == ("drug", "wordnet")  # a brand under WordNet's drug synsets
    assert phrases["Candlemas Day"][0] == "time"
    assert en_lookalikes.source_of("Nobody Anywhere") is None
    assert any(kind == "street" for kind, _ in phrases.values())


def test_names_of_people_are_kept_out(phrases):
    assert "Abraham Lincoln" not in phrases  # noun.person
    assert "Susan B Anthony dollar" not in phrases  # holds the full name of a WordNet person
    given, surnames = en_lexicon.get_lexicon()
    for phrase, (kind, source) in phrases.items():
        words = phrase.split()
        if kind == "street" and source == "faker":  # "Michael Springs": a person's name as well
            assert not (len(words) == 2 and en_lexicon.key(words[0]) in given and en_lexicon.key(words[1]) in surnames)


def test_dev_excludes_the_distinctive_words_of_the_held_out_sentences(bench):
    banned = en_lookalikes.distinctive_words(bench.EN_FREE_PLAIN_HELDOUT)
    assert "nantucket" in banned and "lake" not in banned  # generic words do not count
    dev = en_lookalikes.lookalike_phrases("dev", exclude=bench.EN_FREE_PLAIN_HELDOUT)
    for items in dev.values():
        for phrase in items:
            assert not {w.lower() for w in en_lookalikes._WORD.findall(phrase)} & banned, phrase
    assert sum(map(len, dev.values())) < sum(map(len, en_lookalikes.lookalike_phrases("dev").values()))


def test_bad_split_or_kind_is_reported():
    with pytest.raises(ValueError, match="unknown split 'train'"):
        en_lookalikes.lookalike_phrases("train")
    with pytest.raises(ValueError, match="unknown kind"):
        en_lookalikes.lookalike_phrases("dev", kinds=("place", "planet"))


def test_bench_documents_mix_sentences_and_phrases_in_the_split_frames(bench):
    docs = bench.make_free_plain_docs("en", "held-out", 40, 3)
    kinds = [kind for kind, _ in docs]
    assert kinds.count("sentences") == 20 and len(set(kinds)) > 5
    held = en_lookalikes.lookalike_phrases("held-out")
    held_frames = {f.split("{w}")[0] for frames in bench.EN_LOOKALIKE_FRAMES.values() for f in frames[1]}
    for kind, doc in docs:
        if kind != "sentences":
            assert any(p in doc.text for p in held[kind]) and any(doc.text.startswith(f) for f in held_frames)
    assert not set(bench.EN_LOOKALIKE_FRAMES) - set(en_lookalikes.KINDS)


def test_scrubber_keeps_the_english_lookalikes(bench):
    """Regression bars on samples of the English look-alike documents (the bench runs 800 of each half)."""
    scrubber = PIIScrubber(mode="replace")
    keep, per_kind, _ = bench.evaluate_lookalikes(scrubber, "en", "dev", 300, 5)
    assert keep >= 0.99, per_kind
    keep, per_kind, _ = bench.evaluate_lookalikes(scrubber, "en", "held-out", 300, 5)
    phrases = [v for kind, v in per_kind.items() if kind != "sentences"]
    assert keep >= 0.97 and min(phrases) >= 0.95, per_kind
