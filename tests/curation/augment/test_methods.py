"""Each augmenter on real data: WordNet (Debian data), glossary synonyms, entity lists, perturbation, dialogues."""
import re

from curation.augment.base import AugmentContext, GlossaryEntry, Item, get_augmenter
from curation.augment.methods import wordnet, wordnet_synonyms


def test_wordnet_is_the_real_debian_data():
    wn = wordnet()
    assert len(list(wn.all_synsets("n"))) == 82115  # WordNet 3.0 noun synsets
    assert "repayment" in wordnet_synonyms("refund")
    assert wn.synset("car.n.01").lexname() == "noun.artifact"  # the regenerated lexnames file


def test_english_synonyms_from_wordnet_keep_protected_spans():
    text = "I want to cancel my Visa Platinum card and get a refund of 200 dollars for [PERSON_1] quickly."
    ctx = AugmentContext(glossary=[GlossaryEntry("Visa Platinum")], seed=3)
    [outcome] = get_augmenter("synonym", rate=1.0).augment([Item("1", [{"role": "user", "content": text}])], ctx)
    [variant] = outcome.variants
    new = variant.messages[0]["content"]
    assert new != text
    for kept in ("Visa Platinum", "200", "[PERSON_1]"):
        assert kept in new
    for r in variant.details["replaced"]:
        assert r["to"].lower() in wordnet_synonyms(r["from"]), r


def test_chinese_synonyms_come_from_the_glossary_and_terms_stay():
    ctx = AugmentContext(glossary=[GlossaryEntry("信用卡", (), ("贷记卡",)), GlossaryEntry("年费")])
    item = Item("1", [{"role": "user", "content": "我的信用卡被扣了300元年费"}, {"role": "assistant", "content": "信用卡可以退"}])
    [outcome] = get_augmenter("synonym").augment([item], ctx)
    msgs = outcome.variants[0].messages
    assert msgs[0]["content"] == "我的贷记卡被扣了300元年费"
    assert msgs[1]["content"] == "信用卡可以退"  # only the user role is edited by default
    [none] = get_augmenter("synonym").augment([Item("2", [{"role": "user", "content": "年费300元"}])], ctx)
    assert none.variants == [] and none.reason == "no replaceable words"


def test_entity_swap_keeps_annotations_consistent():
    ctx = AugmentContext(entity_lists={"card_type": ["金卡", "普卡"], "person": ["张三"]}, seed=1)
    item = Item("1", [{"role": "user", "content": "白金卡年费多少?白金卡能免吗?"},
                      {"role": "assistant", "content": "[PERSON_1]您好,白金卡年费300元。"}], intent="fee_query",
                entities={"card_type": ["白金卡"], "person": ["[PERSON_1]"]})
    [outcome] = get_augmenter("entity_swap", roles=["user", "assistant"]).augment([item], ctx)
    [variant] = outcome.variants
    new_card = variant.entities["card_type"][0]
    assert new_card in ("金卡", "普卡")
    assert variant.entities["person"] == ["[PERSON_1]"]  # PII placeholders are never swapped
    joined = "".join(m["content"] for m in variant.messages)
    assert "白金卡" not in joined and joined.count(new_card) == 3 and "[PERSON_1]" in joined and "300" in joined


def test_perturbation_rephrases_adds_context_or_reorders_without_touching_numbers():
    ctx = AugmentContext(seed=5)
    item = Item("1", [{"role": "user", "content": "写一段产品介绍。不超过50字;使用正式语气;提到年利率3.5%。"},
                      {"role": "assistant", "content": "好的。"}])
    outcomes = get_augmenter("perturb", rate=1.0).augment([item], ctx)
    [variant] = outcomes[0].variants
    new = variant.messages[0]["content"]
    assert set(variant.details["perturbations"]) <= {"rephrase", "irrelevant_context", "reorder"}
    assert new != item.messages[0]["content"] and "50" in new and "3.5%" in new
    # reorder alone keeps every constraint sentence, in another order
    [only] = get_augmenter("perturb", rate=1.0, kinds=["reorder"]).augment([item], AugmentContext(seed=2)).copy()
    parts = re.split(r"(?<=[。;])", only.variants[0].messages[0]["content"])
    assert sorted(p for p in parts if p) == sorted(p for p in re.split(r"(?<=[。;])", item.messages[0]["content"]) if p)


def test_dialogue_expansion_branches_from_templates():
    turns = [{"role": "user", "content": "I lost my card."}, {"role": "assistant", "content": "I have frozen it."},
             {"role": "user", "content": "Can I get a new one?"}, {"role": "assistant", "content": "Yes, in 5 days."}]
    [outcome] = get_augmenter("dialogue", max_branches=3).augment([Item("1", turns)], AugmentContext())
    branches = {v.details["branch"]: v.messages for v in outcome.variants}
    assert set(branches) == {"opening", "closing", "prefix:2"}
    assert branches["opening"][2:] == turns and branches["closing"][:4] == turns
    assert branches["prefix:2"] == turns[:2]
    [single] = get_augmenter("dialogue").augment([Item("2", turns[:1])], AugmentContext())
    assert single.reason == "not a dialogue"
