from curation.augment.protect import PLACEHOLDER_RE, protected_spans, spans_preserved
from curation.augment.translate import FEW_SHOT, parroted_example
from curation.augment.quality import SIMILARITY_BAND, similarity, similarity_gate


def test_protected_spans_cover_placeholders_numbers_and_terms():
    text = "Refund 300.50 yuan to [PERSON_1] for the Visa Platinum card"
    spans = [text[s:e] for s, e in protected_spans(text, ["Visa Platinum"])]
    assert spans == ["300.50", "[PERSON_1]", "Visa Platinum"]
    assert PLACEHOLDER_RE.fullmatch("[PHONE_2]")


def test_spans_preserved_detects_a_changed_number_or_placeholder():
    original = "Pay 300 yuan to [PERSON_1]"
    assert spans_preserved(original, "Transfer 300 yuan to [PERSON_1] now")
    assert not spans_preserved(original, "Pay 30 yuan to [PERSON_1]")
    assert not spans_preserved(original, "Pay 300 yuan to John")
    assert not spans_preserved("我的信用卡", "我的贷记卡", ["信用卡"])


def test_similarity_band_rejects_copies_and_drifts():
    original = "How do I reset the password of my online banking account?"
    assert similarity_gate(original, original).reason == "copy"
    assert similarity_gate(original, "The weather is lovely in spring.").reason == "drift"
    para = similarity_gate(original, "How can I reset my online banking account password?")
    assert para.accepted and SIMILARITY_BAND[0] <= para.similarity < SIMILARITY_BAND[1]
    assert similarity("我想查询账户余额", "我想查一下账户的余额") > similarity("我想查询账户余额", "今天天气很好")


def test_a_translation_that_copies_a_few_shot_example_is_recognised():
    zh, en = FEW_SHOT[2]
    assert parroted_example("Can I change the delivery address of my order?", zh)
    assert not parroted_example(en, zh)  # translating the example itself is fine
    assert not parroted_example("我想查询余额", "I want to check my balance.")
