from __future__ import annotations

import pytest

from curation.pipeline.base import StepConfigError, build_step
from curation.pipeline.steps.quality import RULES, heuristic_scores
from curation.pipeline.steps.quality_model import ClassifierTrainingError, save_classifier, train_classifier

from .helpers import reasons, run_step

GOOD_EN = ("The clinic opens at eight in the morning and closes at six in the evening. Patients with an appointment "
           "should arrive ten minutes early and bring their insurance card. If you need to cancel, please call the "
           "front desk at least one day before, so that another patient can have the slot. The doctor will review "
           "your results with you and explain the next steps of the treatment plan in plain language.")
GOOD_ZH = ("本行信用卡的账单日为每月五日，到期还款日为账单日后第二十天。持卡人可以通过手机银行、网上银行或者柜台办理还款。"
           "如果在到期还款日之前全额还款，可以享受免息还款期待遇；如果只偿还最低还款额，则需要按日支付利息。"
           "我们建议您开通自动还款功能，以免因为忘记还款而影响个人信用记录。如有疑问，请拨打客服热线咨询。")


def verdict(text, **options):
    kept, rejected, _ = run_step("quality", [{"id": "x", "text": text}], **options)
    return "kept" if kept else rejected[0][1].reason


def test_good_english_and_chinese_prose_pass():
    assert verdict(GOOD_EN) == "kept"
    assert verdict(GOOD_ZH) == "kept"


RULE_CASES = [
    ("# Title ### tags #a #b #c #d ... more ... and ... " * 10, "symbol_ratio"),
    ("".join(f"- the {w} item of the shopping list is here\n" for w in ("first second third fourth fifth sixth "
                                                                         "seventh eighth ninth tenth").split()), "bullet_lines"),
    ("".join(f"Line {i} trails off and never finishes its thought in time...\n" for i in range(20)), "ellipsis_lines"),
    (GOOD_EN + "\n" + "\n".join(["Buy our product today at the lowest price online"] * 12), "repeated_lines"),
    ("buy cheap pills " * 60, "top_ngram"),
    (" ".join(f"{i * 7919 % 100000} ¥{i}.5 ({i})" for i in range(30)) + " total", "alpha_ratio"),
    (" ".join(["supercalifragilisticexpialidocious antidisestablishmentarianism"] * 2
              + [f"pneumonoultramicroscopicsilicovolcanoconiosis{i}" for i in range(60)]), "mean_word_length"),
    (" ".join(f"apple{i} banana{i} cherry{i}" for i in range(30)), "stop_words"),
]


@pytest.mark.parametrize("text,reason", RULE_CASES)
def test_each_rule_has_its_own_reason(text, reason):
    assert verdict(text) == reason


@pytest.mark.parametrize("text,reason", RULE_CASES + [("点击这里领取优惠券马上领取" * 20, "top_ngram")])
def test_rejections_carry_the_offending_snippet_for_the_drill_down(text, reason):
    _, rejected, _ = run_step("quality", [{"id": "x", "text": text}])
    details = rejected[0][1].details
    if reason == "stop_words":  # an absence: nothing to highlight
        assert "match" not in details
        return
    match = details["match"]
    assert match and len(match) <= 120 and match.lower() in text.lower()
    expected = {"symbol_ratio": "#", "top_ngram": ("buy cheap pills", "点击这里领取"), "mean_word_length": "pneumono",
                "alpha_ratio": "¥", "bullet_lines": "- the first item", "ellipsis_lines": "never finishes its thought in time...",
                "repeated_lines": "Buy our product today"}[reason]
    assert any(e in match for e in ((expected,) if isinstance(expected, str) else expected)), match


def test_chinese_repetition_is_caught_with_character_ngrams():
    assert verdict("点击这里领取优惠券马上领取" * 20) in ("top_ngram", "repeated_ngrams")


def test_short_instruction_turns_are_not_judged_as_web_pages():
    for text in ("How do I reset my password?", "我的银行卡丢了怎么办？", "Reset password"):
        assert verdict(text) == "kept"


def test_rules_can_be_disabled_and_unknown_rules_listed():
    assert verdict("buy cheap pills " * 60, rules=["symbol_ratio"]) == "kept"
    with pytest.raises(StepConfigError, match="valid rules: symbol_ratio"):
        build_step("quality", {"rules": ["nonsense"]})


def test_empty_text_is_dropped():
    assert verdict("") == "alpha_ratio"


def test_messages_records_and_attributes():
    rec = {"id": "s", "messages": [{"role": "user", "content": "When does the clinic open?"},
                                   {"role": "assistant", "content": GOOD_EN}]}
    kept, _, _ = run_step("quality", [rec])
    assert kept[0]["attrs"]["quality"]["alpha_ratio"] > 0.9


def test_ten_megabyte_document_is_judged_on_its_head():
    text = (GOOD_EN + "\n") * 26_000
    assert len(text) > 10_000_000
    assert verdict(text) in ("repeated_lines", "repeated_line_chars", "top_ngram", "repeated_ngrams")


def test_scores_expose_each_rule_value():
    s = heuristic_scores(GOOD_ZH)
    assert s["cjk"] == 1.0 and s["stop_words"] >= 2 and s["alpha_ratio"] == 1.0


# ---------------------------------------------------------------- classifier
def _examples():
    good = [GOOD_EN, GOOD_ZH, GOOD_EN.replace("clinic", "hospital"), GOOD_ZH.replace("信用卡", "借记卡"),
            GOOD_EN.replace("doctor", "nurse"), GOOD_ZH.replace("客服", "人工")]
    bad = ["CLICK HERE!!! Win $$$ free prize now!!! Limited offer!!!", "点击领取红包！！！免费！！！限时抢购！！！",
           "BUY NOW cheap cheap cheap pills online!!!", "加微信领取优惠！！！代开发票！！！",
           "Hot singles in your area!!! Click!!!", "免费领取！！！点击链接！！！马上发财！！！"]
    return good + bad, [1] * len(good) + [0] * len(bad)


def test_classifier_trains_with_cross_validation_and_drops_spam(tmp_path):
    texts, labels = _examples()
    result = train_classifier(texts, labels)
    assert len(result.cv_scores) == 5 and 0.0 <= result.cv_accuracy <= 1.0
    path = save_classifier(result.model, tmp_path / "clf.joblib")
    recs = [{"id": "ok", "text": GOOD_EN.replace("morning", "day")}, {"id": "spam", "text": "CLICK HERE!!! free prize!!! 点击领取！！！"}]
    kept, rejected, _ = run_step("quality", recs, classifier_path=str(path), classifier_threshold=0.6)
    assert [r["id"] for r in kept] == ["ok"]
    assert reasons(rejected) == {"spam": "classifier"}
    assert kept[0]["attrs"]["quality"]["p_rejected"] < 0.6


def test_classifier_needs_both_classes():
    with pytest.raises(ClassifierTrainingError, match="at least 3 accepted and 3 rejected"):
        train_classifier(["a", "b", "c", "d"], [1, 1, 1, 0])


def test_missing_classifier_file_is_a_config_error(tmp_path):
    step = build_step("quality", {"classifier_path": str(tmp_path / "nope.joblib")})
    with pytest.raises(StepConfigError, match="does not exist"):
        step.ensure_setup()


def test_alpha_ratio_for_chinese_counts_characters_not_space_separated_chunks():
    assert verdict("在抗日战争时期，周恩来在 .") == "kept"
    assert verdict(GOOD_ZH[:60] + " 1998 " + GOOD_ZH[60:]) == "kept"
    assert verdict("，".join(f"第{i * 1000 + 7}号{i * 3719}元" for i in range(60))) == "alpha_ratio"


def test_number_heavy_chinese_finance_news_is_kept():
    text = ("据统计，在１９４９年，美国《财富》杂志５００家美国企业中单项业务企业、主导产品企业、相关联多元化企业和无关联多元化企业"
            "所占的比重分别为２８％、３８．７％、２９．２％和２．９％，１９６９年分别为７％、３５．８％、４４．５％和１２．４％。"
            "世界经济运行的良好趋势仍将继续维持。但是，在２００１年至２０１０年改革效果将体现出来，增长率将可能上升到２．８％。")
    assert verdict(text) == "kept"


def test_short_fragments_are_left_to_the_length_step():
    assert verdict("Price of 2 items ?") == "kept"
    assert verdict("Arbitrary po .") == "kept"


def _ui_examples(rng_seed: int = 1):
    """Enough marked documents for a confident classifier: shuffled real prose (accepted) vs spam (rejected)."""
    import random

    from tests.curation.pipeline.corpus import EN, ZH

    rng = random.Random(rng_seed)
    good = []
    for t in EN + ZH:
        for _ in range(5):
            good.append(" ".join(rng.sample(t.split(), len(t.split()))) if t.isascii() else "".join(rng.sample(t, len(t))))
    parts = ["CLICK HERE", "FREE", "WIN", "$$$", "!!!", "BUY NOW", "点击领取", "免费", "红包", "！！！", "加微信", "限时抢购",
             "cheap pills", "prize"]
    spam = [" ".join(rng.choice(parts) for _ in range(12)) for _ in range(40)]
    return good, spam


@pytest.mark.django_db
def test_ui_trained_classifier_is_resolved_in_the_driver_and_drops_at_the_default_threshold(django_db_blocker):
    import os
    import pickle

    from curation.models import Collection, Document
    from curation.pipeline.services import steps_build
    from curation.services_steps import quality_classifier_train, quality_example_set
    from tests.curation.pipeline.corpus import EN

    coll = Collection.objects.create(name="qc")
    good, spam = _ui_examples()
    for i, (text, label) in enumerate([(t, "accepted") for t in good] + [(t, "rejected") for t in spam]):
        doc = Document.objects.create(collection=coll, record_index=i, text=text, content_hash=f"h{i}")
        quality_example_set(document=doc, label=label)
    clf = quality_classifier_train(collection=coll)
    (step,) = steps_build([{"step": "quality", "options": {"classifier_collection": "qc"}}])
    assert step.options.classifier_threshold == 0.85  # the default
    payload = pickle.dumps(step)  # what a worker process / Ray actor receives
    os.remove(clf.path)  # a worker on another machine cannot read the driver's disk either
    recs = [{"id": "ok", "text": EN[0].replace("patient", "man")},
            {"id": "spam", "text": "WIN a FREE prize!!! CLICK HERE $$$ 点击领取红包！！！"}]
    with django_db_blocker.block():  # … nor reach the database
        worker_step = pickle.loads(payload)
        kept, rejected, _ = run_step(worker_step, recs)
    assert [r["id"] for r in kept] == ["ok"] and reasons(rejected) == {"spam": "classifier"}
    assert rejected[0][1].details["p_rejected"] >= 0.85 > kept[0]["attrs"]["quality"]["p_rejected"]


@pytest.mark.django_db
def test_collection_without_a_classifier_is_a_config_error_before_the_run():
    from curation.models import Collection
    from curation.pipeline.services import steps_build

    Collection.objects.create(name="none-yet")
    with pytest.raises(StepConfigError, match="has no trained quality classifier"):
        steps_build([{"step": "quality", "options": {"classifier_collection": "none-yet"}}])


def test_batched_judging_gives_each_record_the_verdict_it_gets_alone():
    texts = [GOOD_EN, GOOD_ZH, "buy cheap pills " * 60, "", "点击这里领取优惠券马上领取" * 20, "Reset password",
             " ".join(f"apple{i} banana{i} cherry{i}" for i in range(30)), GOOD_EN + "\n" + "\n".join(["Buy now"] * 12)]
    recs = [{"id": f"{copy}-{i}", "text": t} for copy in range(40) for i, t in enumerate(texts)]  # > one batch
    kept, rejected, _ = run_step("quality", recs)
    alone = {}
    for i, t in enumerate(texts):
        k, r, _ = run_step("quality", [{"id": "x", "text": t}])
        alone[str(i)] = "kept" if k else (r[0][1].reason, r[0][1].details)
    batched = [(r["id"], "kept") for r in kept] + [(rec["id"], (rej.reason, rej.details)) for rec, rej in rejected]
    assert len(batched) == len(recs)
    assert all(verdict == alone[rid.split("-")[1]] for rid, verdict in batched)
    assert len(set(map(str, alone.values()))) >= 5  # kept and several different rules
