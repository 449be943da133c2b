from __future__ import annotations

import pytest

from curation.pipeline.base import StepConfigError, build_step

from .helpers import reasons, run_step

TEXTS = [
    {"id": "en", "text": "The patient was admitted to the hospital with chest pain and shortness of breath."},
    {"id": "zh", "text": "患者因胸痛和呼吸急促入院，医生建议进一步检查。"},
    {"id": "zh_mixed", "text": "请用Python和LoRA微调这个模型，然后上传到GPU服务器。"},
    {"id": "fr", "text": "Le patient a été admis à l'hôpital avec une douleur thoracique et un essoufflement."},
    {"id": "digits", "text": "12345 67890 !!! ---"},
    {"id": "empty", "text": ""},
]


@pytest.mark.parametrize("detector", ["auto", "lingua", "fasttext", "langdetect"])
def test_detectors_keep_allowed_languages_and_drop_the_rest(detector):
    kept, rejected, _ = run_step("language", TEXTS, detector=detector)
    assert [r["id"] for r in kept] == ["en", "zh", "zh_mixed"]
    assert reasons(rejected) == {"fr": "not_allowed", "digits": "no_text", "empty": "no_text"}
    langs = {r["id"]: r["attrs"]["language"]["lang"] for r in kept}
    assert langs == {"en": "en", "zh": "zh", "zh_mixed": "zh"}


def test_threshold_drops_low_confidence():
    step = build_step("language", {"threshold": 0.999, "detector": "lingua", "script_rule": False})
    kept, rejected, _ = run_step(step, [{"id": "amb", "text": "ok ok"}, TEXTS[0]])
    assert "amb" in reasons(rejected)
    assert reasons(rejected)["amb"] in ("low_confidence", "not_allowed")


def test_script_rule_marks_han_text_chinese_with_its_share():
    step = build_step("language")
    assert step.detect("医保报销需要哪些材料") == ("zh", 1.0)
    lang, score = step.detect("用 Python 训练模型需要很多数据和时间")
    assert lang == "zh" and 0.9 < score < 1.0
    # Japanese (kana) is not taken for Chinese
    assert step.detect("これは日本語の文章です。東京に住んでいます。")[0] == "ja"


def test_empty_allowed_means_any_language():
    kept, _, _ = run_step("language", [TEXTS[3]], allowed=[])
    assert kept[0]["attrs"]["language"]["lang"] == "fr"


def test_messages_record_is_detected_on_its_contents():
    rec = {"id": "s", "messages": [{"role": "user", "content": "我的信用卡被盗刷了怎么办？"},
                                   {"role": "assistant", "content": "请立即拨打银行客服电话冻结卡片。"}]}
    kept, _, _ = run_step("language", [rec])
    assert kept[0]["attrs"]["language"]["lang"] == "zh"


def test_bad_options():
    with pytest.raises(StepConfigError, match="detector must be one of"):
        build_step("language", {"detector": "cld3"})
    with pytest.raises(StepConfigError, match="threshold"):
        build_step("language", {"threshold": "2"})


def test_ten_megabyte_document_reads_only_the_head():
    text = "This is an English sentence about finance and loans. " * 200_000
    kept, _, _ = run_step("language", [{"id": "big", "text": text}])
    assert kept[0]["attrs"]["language"]["lang"] == "en"
