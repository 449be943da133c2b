from __future__ import annotations

import pytest

from curation.pipeline.base import StepConfigError, build_step

from .helpers import run_step


def norm(text, **options):
    return build_step("normalize", options).normalize_text(text)


def test_fullwidth_letters_and_digits_become_ascii_but_chinese_punctuation_stays():
    assert norm("ＡＢＣ１２３ｘｙｚ，你好！") == "ABC123xyz，你好！"


def test_punctuation_options():
    assert norm("你好，世界！", punctuation="ascii") == "你好,世界!"
    assert norm("你好, 世界!", punctuation="cjk") == "你好，世界！"
    with pytest.raises(StepConfigError, match="punctuation"):
        build_step("normalize", {"punctuation": "weird"})


def test_safe_nfkc_keeps_superscripts_fractions_and_circled_numbers():
    assert norm("面积 10 m² ½ ① ﬁnance") == "面积 10 m² ½ ① finance"


def test_html_remnants_entities_and_scripts_are_removed():
    out = norm("<div><p>Dose:&nbsp;5&amp;10 mg</p><script>alert(1)</script><br>Next line</div><!-- c -->")
    assert out == "Dose: 5&10 mg\n\nNext line"  # </p> and <br> each end a line


def test_boilerplate_lines_removed_but_content_lines_kept():
    text = "Real content about copyright law in China.\nAll rights reserved.\n上一篇：新闻\n版权所有 © 2024 某公司\n正文内容。\nRead more"
    assert norm(text) == "Real content about copyright law in China.\n正文内容。"


def test_extra_boilerplate_pattern_and_bad_regex():
    assert norm("keep\nAD: buy now\nkeep too", boilerplate_patterns=["AD:.*"]) == "keep\nkeep too"
    with pytest.raises(StepConfigError, match="not a valid regex"):
        build_step("normalize", {"boilerplate_patterns": ["("]})


def test_whitespace_and_newlines_collapse():
    assert norm("a  \t b\u00a0\u3000c\r\n\r\n\r\n\r\nd\u200b e  ") == "a b c\n\nd e"


def test_mojibake_is_fixed():
    assert norm("CafÃ© dÃ©jÃ  vu") == "Café déjà vu"


def test_traditional_to_simplified_only_when_asked():
    assert norm("這是繁體中文的測試") == "這是繁體中文的測試"
    assert norm("這是繁體中文的測試", traditional_to_simplified=True) == "这是繁体中文的测试"


def test_mixed_script_text_is_untouched_where_clean():
    text = "患者 John 服用 Aspirin 100mg，血压 140/90 mmHg。"
    assert norm(text) == text


def test_messages_records_have_every_content_normalised():
    rec = {"id": "s1", "messages": [{"role": "user", "content": "ＨＥＬＬＯ  <b>there</b>"},
                                    {"role": "assistant", "content": "你好　世界"}], "extra": 1}
    kept, rejected, _ = run_step("normalize", [rec])
    assert kept == [{"id": "s1", "messages": [{"role": "user", "content": "HELLO there"},
                                             {"role": "assistant", "content": "你好 世界"}], "extra": 1}]
    assert rec["messages"][0]["content"] == "ＨＥＬＬＯ  <b>there</b>"  # input not mutated


def test_empty_after_cleaning_is_dropped_with_reason():
    kept, rejected, step = run_step("normalize", [{"id": "a", "text": "<br> &nbsp; "}, {"id": "b", "text": ""},
                                                  {"id": "c", "text": "ok"}])
    assert [r["id"] for r in kept] == ["c"]
    assert [(rec["id"], rej.reason) for rec, rej in rejected] == [("a", "empty"), ("b", "empty")]
    assert step.stats.n_dropped == 2


def test_ten_megabyte_document():
    text = ("Ｆｕｌｌ width 测试文本。  \n" * 500_000)[: 10 * 1024 * 1024]
    out = norm(text)
    assert out.startswith("Full width 测试文本。\nFull")
    assert "Ｆ" not in out and "  " not in out


# ---------------------------------------------------------------- ftfy gate (ftfy only runs where it would change something)
MOJIBAKE_SOURCES = ["Café déjà vu", "The Mona Lisa doesn’t have eyebrows.", "✔ No problems", "中文测试，“引号”",
                    "naïve façade — “quoted” … ½ €5", "Привет, мир", "Ελληνικά", "日本語のテキスト", "¯\\_(ツ)_/¯"]


@pytest.mark.parametrize("encoding", ["latin-1", "windows-1252", "macroman", "windows-1251", "windows-1253"])
def test_real_mojibake_is_still_fixed(encoding):
    import ftfy

    from curation.pipeline.steps.normalize import fix_unicode, ftfy_gate

    for source in MOJIBAKE_SOURCES:
        try:
            broken = source.encode("utf-8").decode(encoding)
        except UnicodeDecodeError:
            continue
        expected = ftfy.fix_text(broken, unescape_html=False, fix_character_width=False, uncurl_quotes=False)
        if expected == broken:
            continue  # ftfy itself leaves it alone (e.g. nothing it can prove is mojibake)
        assert ftfy_gate().search(broken), (encoding, broken)
        assert fix_unicode(broken) == expected
        assert norm(broken) == norm(source), (encoding, broken)


def test_curly_quotes_and_chinese_punctuation_skip_ftfy_with_the_same_result():
    import ftfy

    from curation.pipeline.steps.normalize import fix_unicode, ftfy_gate

    for text in ["He said “hello” — it’s fine…", "他说：“你好”——这是‘引号’……", "“第一”“第二”", "m² ½ ① · 5 × 3"]:
        same = ftfy.fix_text(text, unescape_html=False, fix_character_width=False, uncurl_quotes=False)
        assert fix_unicode(text) == same
    assert not ftfy_gate().search("He said “hello” — it’s fine…")


def test_ftfy_gate_misses_nothing_ftfy_would_change():
    """Fuzz: every string the gate passes over is one ftfy leaves as it is (up to NFC) — built from the
    characters ftfy's mojibake heuristic is made of, ASCII, CJK and combining marks."""
    import random
    import unicodedata

    import ftfy
    from ftfy.badness import MOJIBAKE_CATEGORIES, is_bad

    from curation.pipeline.steps.normalize import ftfy_gate

    pool = []
    for fragment in MOJIBAKE_CATEGORIES.values():
        i = 0
        while i < len(fragment):
            if i + 2 < len(fragment) and fragment[i + 1] == "-":
                pool.extend(chr(c) for c in range(ord(fragment[i]), ord(fragment[i + 2]) + 1))
                i += 3
            else:
                pool.append(fragment[i])
                i += 1
    pool += list("aeAZ .,?!\n\t0") + ["中", "文", "。", "\u0301", "\u0303", "€", "√", "Ã", "Â", "œ", "\u2028", "\r", "ﬁ", "\x1b["]
    # the characters ftfy's single-character and "common"-character rules are about, drawn half the time
    tricky = list("az .,?\n") + ["Ã", "Â", "Œ", "œ", "Ø", "Ù", "Î", "Ð", "√", "·", "´", "\xa0", "–", "…", "’", "°", "€"]
    rng = random.Random(7)
    gate = ftfy_gate()
    passed = 0
    for _ in range(30_000):
        s = "".join(rng.choice(tricky if rng.random() < 0.5 else pool) for _ in range(rng.randint(1, 6)))
        if gate.search(s):
            continue
        passed += 1
        assert not is_bad(s), repr(s)
        fixed = ftfy.fix_text(s, unescape_html=False, fix_character_width=False, uncurl_quotes=False)
        assert fixed == unicodedata.normalize("NFC", s), repr(s)
    assert passed > 1000  # the fuzz did exercise the fast path
