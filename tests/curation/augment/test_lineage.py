"""What a child inherits follows its messages: entity spans, per-utterance intents; whole-word entity swaps;
perturbation rate bounds; the translation cache keyed by the model's contents."""
from __future__ import annotations

import json

import pytest

from curation.augment.base import AugmentContext, Item, get_augmenter
from curation.augment.lineage import message_index_map
from curation.augment.services import entity_list_set, samples_augment
from curation.builders.importers import record_to_messages
from curation.generation import model_fingerprint
from curation.models import Sample

from .conftest import make_sample

CONVERSATION = {"system": "客服助手", "intent": "card_fee", "utterances": [
    {"speaker": "customer", "text": "我的白金卡年费能免吗?", "intent": "fee_waiver",
     "entities": [{"label": "card_type", "text": "白金卡", "start": 2, "end": 5}]},
    {"speaker": "agent", "text": "白金卡消费满5万元可以免年费。"},
    {"speaker": "customer", "text": "好的,那我的白金卡怎么查消费?", "intent": "spending_query",
     "entities": [{"label": "card_type", "text": "白金卡", "start": 6, "end": 9}]},
    {"speaker": "agent", "text": "在手机银行的账单页面查看。"}]}


def _conversation_sample(collection):
    messages, extra = record_to_messages(CONVERSATION)
    fields = {k: v for k, v in extra.items() if k not in ("external_id", "language")}
    return make_sample(collection, messages, language="zh", split="train", **fields)


def test_importer_aligns_spans_and_intents_with_messages():
    messages, extra = record_to_messages(CONVERSATION)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert extra["meta"]["utterance_intents"] == ["", "fee_waiver", "", "spending_query", ""]
    for span in extra["meta"]["entity_spans"]:  # utterance counts messages (the system prompt is one)
        assert messages[span["utterance"]]["content"][span["start"]:span["end"]] == span["value"]


def test_entity_swap_moves_spans_and_dialogue_realigns_intents(collection):
    parent = _conversation_sample(collection)
    entity_list_set(collection=collection, entity_type="card_type", values=["金卡"])
    samples_augment(collection=collection, methods=["entity_swap", "dialogue"], ratio=1.0,
                    options={"dialogue": {"max_branches": 3}})
    swapped = Sample.objects.get(method="entity_swap")
    assert swapped.entities == {"card_type": ["金卡"]}
    spans = swapped.meta["entity_spans"]
    assert [(s["value"], s["utterance"]) for s in spans] == [("金卡", 1), ("金卡", 3)]
    for s in spans:
        assert swapped.messages[s["utterance"]]["content"][s["start"]:s["end"]] == "金卡"
    assert "白金卡" not in json.dumps(swapped.messages, ensure_ascii=False)
    branches = {c.meta["augment"]["branch"]: c for c in Sample.objects.filter(method="dialogue", parent=parent)}
    opening = branches["opening"]  # two turns inserted after the system prompt
    intents = opening.meta["utterance_intents"]
    assert len(intents) == len(opening.messages) and intents[3] == "fee_waiver" and intents[5] == "spending_query"
    for s in opening.meta["entity_spans"]:
        assert opening.messages[s["utterance"]]["content"][s["start"]:s["end"]] == "白金卡"
    prefix = branches["prefix:2"]  # ends at the first answer: the second question's span and intent are gone
    assert [s["utterance"] for s in prefix.meta["entity_spans"]] == [1]
    assert prefix.meta["utterance_intents"] == ["", "fee_waiver", ""]


def test_message_index_map():
    a = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert message_index_map(a, [{"role": "user", "content": "q2"}, a[1]]) == {0: 0, 1: 1}
    assert message_index_map(a, [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes"}, *a]) \
        == {0: 2, 1: 3}
    assert message_index_map(a, a[:1]) == {0: 0}


def test_entity_swap_replaces_whole_words_only_in_english():
    ctx = AugmentContext(entity_lists={"product": ["loan"], "card_type": ["gold card"]}, seed=1)
    text = "Can I discard my card and move the card balance to a loan? My card is blocked."
    item = Item("1", [{"role": "user", "content": text}], entities={"card_type": ["card"]})
    [out] = get_augmenter("entity_swap").augment([item], ctx)
    new = out.variants[0].messages[0]["content"]
    assert new == "Can I discard my gold card and move the gold card balance to a loan? My gold card is blocked."
    # no whole-word occurrence at all: nothing to swap
    [none] = get_augmenter("entity_swap").augment(
        [Item("2", [{"role": "user", "content": "Please discard it."}], entities={"card_type": ["card"]})], ctx)
    assert none.reason == "no swappable entity"


def test_perturb_rate_zero_is_refused_not_silently_applied():
    with pytest.raises(ValueError, match=r"rate.*\(0"):
        get_augmenter("perturb", rate=0)
    from curation.pipeline.base import StepConfigError, build_step
    with pytest.raises(StepConfigError, match="rate"):
        build_step("perturb", {"rate": 0})


def test_translation_cache_key_follows_the_model_contents(tmp_path):
    folder = tmp_path / "opus-mt-zh-en"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    before = model_fingerprint(folder)
    assert model_fingerprint(folder) == before
    (folder / "model.safetensors").write_bytes(b"new weights")
    assert model_fingerprint(folder) != before
    other = tmp_path / "other" / "opus-mt-zh-en"  # same folder name, another model
    other.mkdir(parents=True)
    (other / "config.json").write_text("{}")
    assert model_fingerprint(other) != before
