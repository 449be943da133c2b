from __future__ import annotations

import pytest

from curation.pipeline.base import StepConfigError

from .helpers import reasons, run_step


def test_english_default_bounds_are_5_to_512_words():
    recs = [{"id": "short", "text": "Too short text"}, {"id": "ok", "text": "This one has exactly six words."},
            {"id": "long", "text": "word " * 513}, {"id": "edge", "text": "word " * 512}]
    kept, rejected, _ = run_step("length", recs)
    assert [r["id"] for r in kept] == ["ok", "edge"]
    assert reasons(rejected) == {"short": "too_short", "long": "too_long"}
    assert kept[0]["attrs"]["length"] == {"unit": "words", "value": 6}
    short = rejected[0][1]
    assert short.details == {"unit": "words", "value": 3, "min": 5, "match": "Too short text"}  # highlighted whole
    assert "match" not in rejected[1][1].details


def test_chinese_is_measured_in_characters():
    recs = [{"id": "zh_short", "text": "你好世界"}, {"id": "zh_ok", "text": "今天天气很好我们去公园散步吧"},
            {"id": "zh_long", "text": "好" * 1025}]
    kept, rejected, _ = run_step("length", recs)
    assert [r["id"] for r in kept] == ["zh_ok"]
    assert reasons(rejected) == {"zh_short": "too_short", "zh_long": "too_long"}
    assert kept[0]["attrs"]["length"]["unit"] == "cjk_chars"


def test_mixed_script_counts_cjk_characters_plus_words():
    rec = {"id": "m", "text": "我们用 Python 训练 LoRA 模型"}  # 7 CJK chars + 2 words
    kept, _, _ = run_step("length", [rec], min_cjk_chars=9)
    assert kept[0]["attrs"]["length"] == {"unit": "cjk_chars", "value": 9}


def test_empty_text_is_too_short():
    _, rejected, _ = run_step("length", [{"id": "e", "text": ""}])
    assert reasons(rejected) == {"e": "too_short"}


def test_messages_are_measured_over_all_turns():
    rec = {"id": "s", "messages": [{"role": "user", "content": "Reset password?"},
                                   {"role": "assistant", "content": "Open settings and click reset."}]}
    kept, _, _ = run_step("length", [rec])
    assert kept[0]["attrs"]["length"]["value"] == 7


def test_bad_bounds_are_rejected():
    with pytest.raises(StepConfigError, match="min_words"):
        run_step("length", [], min_words=10, max_words=5)
    with pytest.raises(StepConfigError, match="Valid options"):
        run_step("length", [], min_chars=3)


def test_batched_counting_matches_the_word_regex_exactly():
    """The numpy counter used for batches agrees with WORD_RE / CJK_RE on adversarial strings: apostrophes,
    hyphens and underscores at word edges, combining marks, astral letters, CJK/kana/hangul, digits."""
    import random

    from curation.pipeline.steps._text import count_cjk, count_cjk_and_words, count_words

    rng = random.Random(11)
    pool = list("ab Z09_'’-- \n\t.,") + ["中", "文", "ー", "한", "é", "e\u0301", "𝐀", "𠀀", "٣", "²", "½", "\u200b", "ǅ"]
    texts = ["".join(rng.choice(pool) for _ in range(rng.randrange(0, 30))) for _ in range(5000)] + ["", "don't e-mail a_b"]
    n_cjk, n_words = count_cjk_and_words(texts)
    assert n_cjk.tolist() == [count_cjk(t) for t in texts]
    assert n_words.tolist() == [count_words(t) for t in texts]
    assert count_words("don't e-mail a_b") == 3


def test_batches_give_the_same_verdicts_as_one_record_at_a_time():
    recs = [{"id": str(i), "text": t} for i, t in enumerate(["Too short text", "This one has exactly six words.",
                                                            "word " * 513, "你好世界", "今天天气很好我们去公园散步吧", ""] * 100)]
    kept, rejected, step = run_step("length", recs)
    alone = {}
    for r in recs[:6]:
        k, rej, _ = run_step("length", [r])
        alone[r["text"]] = "kept" if k else (rej[0][1].reason, rej[0][1].details)
    by_id = {rec["id"]: (rej.reason, rej.details) for rec, rej in rejected}
    assert all((by_id.get(r["id"]) or "kept") == alone[r["text"]] for r in recs)
    assert step.stats.n_in == 600 and step.stats.n_out == len(kept) == 200
