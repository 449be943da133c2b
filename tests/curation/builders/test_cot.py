"""Chain-of-thought from a template to a dataset export: one strip rule (curation.builders.cot) for built
samples and their augmented children, in keep and strip mode."""
from __future__ import annotations

import json

import pytest

from curation.augment.lineage import child_meta
from curation.augment.services import samples_augment
from curation.builders.cot import CotLost, cot_for_child, reasoning_parts, strip_reasoning
from curation.builders.services import samples_build_from_template, template_save
from curation.models import Collection, GlossaryTerm, Sample
from training.export.base import apply_cot, iter_jsonl
from training.models import SPLITS
from training.services.datasets import dataset_version_create

CASES = [
    {"age": 45, "symptoms": ["头痛", "发烧"], "analysis": "发热伴头痛三天", "candidates": ["流感", "普通感冒"],
     "exclusion": "无肌肉酸痛,不像流感", "diagnosis": "普通感冒"},
    {"age": 30, "symptoms": ["咳嗽"], "analysis": "干咳一周", "candidates": ["支气管炎", "普通感冒"],
     "exclusion": "无发热", "diagnosis": "支气管炎"},
    {"age": 61, "symptoms": ["胸闷"], "analysis": "活动后胸闷", "candidates": ["心绞痛"], "exclusion": "无外伤",
     "diagnosis": "心绞痛"},
]
COT = {"analysis": "analysis", "candidates": "candidates", "exclusion": "exclusion", "conclusion": "diagnosis"}
LABELS = ("分析:", "候选:", "排除:", "结论:")


def _records(version):
    return [r for s in SPLITS for r in iter_jsonl(version.split_file(s))]


def test_strip_rule_formats():
    labelled = "Analysis: fever for three days\nCandidates: flu, cold\nConclusion: common cold\nRest and drink water."
    assert reasoning_parts(labelled) == ("Analysis: fever for three days\nCandidates: flu, cold",
                                         "common cold\nRest and drink water.")
    assert reasoning_parts("<think>compare the symptoms</think>\nSee a doctor.") == ("compare the symptoms",
                                                                                   "See a doctor.")
    cot = {"reasoning": "First check the symptoms.", "answer": "Drink water."}
    assert reasoning_parts("First check the symptoms.\n\nDrink water.", cot)[1] == "Drink water."
    # Text that merely mentions a conclusion is not chain-of-thought; nothing is stripped without a rule.
    plain = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "My answer.\nConclusion: yes"}]
    assert strip_reasoning(plain) == (plain, False)
    # The answer always comes from the message: a placeholder written there later survives stripping.
    msgs = [{"role": "assistant", "content": "分析:来电人姓名已脱敏\n结论:请[PERSON_1]到柜台办理"}]
    assert strip_reasoning(msgs, {"reasoning": "分析:来电人王伟", "answer": "请王伟到柜台办理"})[0][0]["content"] \
        == "请[PERSON_1]到柜台办理"
    assert apply_cot(msgs, None, "keep") == (msgs, False)


def test_child_cot_follows_the_edited_turn():
    parent = [{"role": "user", "content": "症状:头痛"},
              {"role": "assistant", "content": "分析:头痛三天\n候选:普通感冒\n结论:普通感冒"}]
    cot = {"reasoning": "分析:头痛三天\n候选:普通感冒", "answer": "普通感冒"}
    edited = [parent[0], {"role": "assistant", "content": "分析:头疼三天\n候选:感冒\n结论:感冒"}]
    assert cot_for_child(parent, edited, cot) == {"reasoning": "分析:头疼三天\n候选:感冒", "answer": "感冒"}
    opened = [{"role": "user", "content": "在吗?"}, {"role": "assistant", "content": "在的"}, *parent]
    assert cot_for_child(parent, opened, cot) == cot  # the reasoning turn moved, unchanged
    assert cot_for_child(parent, [parent[0]], cot) is None  # a branch without the reasoning turn
    mangled = [parent[0], {"role": "assistant", "content": "Headache for three days, so a cold."}]
    with pytest.raises(CotLost):
        cot_for_child(parent, mangled, cot)
    with pytest.raises(CotLost):
        child_meta({"cot": cot}, parent, mangled)


@pytest.mark.django_db
def test_cot_template_to_stripped_export_including_augmented_children(tmp_path, curator):
    collection = Collection.objects.create(name="clinic", domain="medical")
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in CASES) + "\n", encoding="utf-8")
    tpl = template_save(collection=collection, name="triage", instruction="用户年龄:{age},症状:{symptoms}", cot=COT)
    assert samples_build_from_template(collection=collection, template=tpl, path=path, user=curator)["samples"] == 3
    built = list(Sample.objects.filter(origin="built").order_by("record_index"))
    assert all(s.source_file is not None and s.source_file.name == "cases.jsonl" for s in built)
    # Synonyms from the glossary on both turns (the conclusion changes too), then dialogue branches.
    GlossaryTerm.objects.create(collection=collection, canonical="普通感冒", synonyms=["感冒"])
    GlossaryTerm.objects.create(collection=collection, canonical="头痛", synonyms=["头疼"])
    stats = samples_augment(collection=collection, methods=["synonym", "dialogue"], ratio=1.0,
                            options={"synonym": {"roles": ["user", "assistant"], "rate": 1.0}}, user=curator)
    assert stats["methods"]["synonym"]["accepted"] == 2  # the third case has no glossary word
    assert stats["methods"]["dialogue"]["new_samples"] == 6
    children = Sample.objects.filter(origin="augmented")
    for child in children:
        assert child.meta["cot"], child.messages  # every child still says where its reasoning is
        turn = next(m["content"] for m in child.messages if m["content"].startswith("分析:"))
        assert turn.endswith("结论:" + child.meta["cot"]["answer"])
    syn = children.get(method="synonym", parent=built[0])
    assert syn.meta["cot"]["answer"] == "感冒" and "头疼" in syn.messages[0]["content"]

    keep = dataset_version_create(collection=collection, spec={"cot": "keep"}, user=curator)
    strip = dataset_version_create(collection=collection, spec={"cot": "strip"}, user=curator)
    kept, stripped = {r["id"]: r for r in _records(keep)}, {r["id"]: r for r in _records(strip)}
    assert set(kept) == set(stripped) == {str(s.pk) for s in Sample.objects.all()}
    for sid, record in stripped.items():
        sample = Sample.objects.get(pk=int(sid))
        answers = [m["content"] for m in record["messages"] if m["role"] == "assistant"]
        assert not any(label in a for a in answers for label in LABELS), answers
        assert sample.meta["cot"]["answer"] in answers
        assert any("分析:" in m["content"] for m in kept[sid]["messages"])
    assert stripped[str(syn.pk)]["messages"][-1]["content"] == "感冒"
    assert stripped[str(built[1].pk)]["messages"][-1]["content"] == "支气管炎"
    manifest = json.loads((strip.folder / "manifest.json").read_text())
    assert manifest["counts"]["chain_of_thought_stripped"] == Sample.objects.count() == 3 + 2 + 6
