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
