"""Augmenting a collection: held-out splits untouched, lineage recorded, job + CLI + pipeline steps."""
from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from curation.augment.services import augment_start, entity_list_set, samples_augment
from curation.models import GlossaryTerm, Sample
from refinery.models import AuditEvent, Job


def _snapshot(samples):
    return [(s.pk, s.messages, s.split, s.entities, s.meta) for s in samples]


def test_augmentation_never_touches_held_out_samples_and_records_lineage(collection, samples, curator):
    held_before = _snapshot(samples["held"])
    GlossaryTerm.objects.create(collection=collection, canonical="白金卡", synonyms=["铂金卡"])
    stats = samples_augment(collection=collection, methods=["synonym", "perturb"], ratio=1.0, user=curator)
    assert stats["eligible"] == 3 and stats["held_out_skipped"] == 2
    children = Sample.objects.filter(origin=Sample.Origin.AUGMENTED)
    assert children.count() == stats["new_samples"] > 0
    held_ids = {s.pk for s in samples["held"]}
    for child in children:
        assert child.parent_id not in held_ids and child.parent_id is not None
        assert child.method in ("synonym", "perturb") and child.meta["augment"]["method"] == child.method
        assert child.split not in ("validation", "test") and child.split == child.parent.split
        assert child.intent == child.parent.intent and child.created_by == curator
    for s in samples["held"]:
        s.refresh_from_db()
    assert _snapshot(samples["held"]) == held_before
    assert not Sample.objects.filter(parent__in=samples["held"]).exists()
    # the Chinese sample's synonym came from the glossary; the [PERSON_1] placeholder survived
    zh = children.filter(method="synonym", parent=samples["train"][1]).get()
    assert "铂金卡" in zh.messages[0]["content"] and "300" in zh.messages[0]["content"]
    for child in children.filter(parent=samples["train"][2]):
        assert "[PERSON_1]" in child.messages[0]["content"]
    assert AuditEvent.objects.filter(action="augment").count() == 1
    # Running again adds no duplicates of what exists (same seed → same variants).
    again = samples_augment(collection=collection, methods=["synonym"], ratio=1.0)
    assert again["new_samples"] == 0 and again["methods"]["synonym"]["rejected"].get("duplicate", 0) >= 1


def test_entity_swap_uses_curator_lists(collection, samples):
    entity_list_set(collection=collection, entity_type="card_type", values=["金卡", " ", "普卡"])
    stats = samples_augment(collection=collection, methods=["entity_swap"], ratio=1.0,
                            options={"entity_swap": {"roles": ["user", "assistant"]}})
    s = stats["methods"]["entity_swap"]
    assert (s["attempted"], s["accepted"], s["rejected"]) == (3, 1, {"no swappable entity": 2})
    child = Sample.objects.get(method="entity_swap")
    assert child.entities["card_type"][0] in ("金卡", "普卡") and child.entities["card_type"][0] in child.messages[0]["content"]


def test_augment_job_from_the_web_reports_acceptance(collection, samples, curator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = augment_start(collection=collection, methods=["perturb"], ratio=0.5, user=curator)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    m = job.result["methods"]["perturb"]
    assert job.result["selected"] == 2 and m["attempted"] == 2 and m["acceptance_rate"] == m["accepted"] / 2
    assert job.progress_done == job.progress_total == 2
    with pytest.raises(ValueError, match="Valid methods"):
        augment_start(collection=collection, methods=["nope"], ratio=0.5, user=curator)
    with pytest.raises(ValueError, match="ratio"):
        augment_start(collection=collection, methods=["perturb"], ratio=1.5, user=curator)


def test_augment_cli(collection, samples, capsys):
    call_command("augment", "--collection", "bank", "--methods", "synonym,dialogue", "--ratio", "1", "--no-progress")
    out = capsys.readouterr().out
    assert "2 held-out samples never touched" in out and "synonym" in out and "dialogue" in out
    assert Sample.objects.filter(method="dialogue").count() == 6  # opening + closing for 3 dialogues
    with pytest.raises(CommandError, match="Valid methods"):
        call_command("augment", "--collection", "bank", "--methods", "bogus", "--no-progress")
    with pytest.raises(CommandError, match="No collection"):
        call_command("augment", "--collection", "nope", "--methods", "synonym", "--no-progress")


def test_process_command_runs_augmenters_as_steps(tmp_path):
    src = tmp_path / "in.jsonl"
    records = [
        {"id": "a", "text": "Please refund the 300 dollars charged to [PERSON_1] yesterday."},
        {"id": "b", "messages": [{"role": "user", "content": "How do I close my savings account?"},
                                 {"role": "assistant", "content": "Visit a branch."}]},
        {"id": "c", "text": "Please refund the annual fee of my card.", "split": "test"},
    ]
    src.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    out, report = tmp_path / "out.jsonl", tmp_path / "report.json"
    call_command("process", "--steps", "synonym,perturb", "--input", str(src), "--output", str(out),
                 "--report", str(report), "--no-progress")
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    by_parent = {}
    for r in rows:
        by_parent.setdefault(r.get("parent_id"), []).append(r)
    assert [r["id"] for r in by_parent[None]] == ["a", "b", "c"]  # originals kept, in order
    assert "c" not in by_parent and not any(r["id"].startswith("c~") for r in rows)  # held-out untouched
    syn_a = next(r for r in by_parent["a"] if r["method"] == "synonym")
    assert syn_a["origin"] == "augmented" and syn_a["text"] != records[0]["text"]
    assert "300" in syn_a["text"] and "[PERSON_1]" in syn_a["text"]
    syn_b = next(r for r in by_parent["b"] if r["method"] == "synonym")
    assert syn_b["messages"][1] == records[1]["messages"][1] and syn_b["messages"][0] != records[1]["messages"][0]
    # perturb also saw the synonym variants (steps compose), so it made variants of those too
    assert any(r.get("method") == "perturb" and r["parent_id"].startswith("a~synonym") for r in rows)


def test_process_synonym_step_takes_the_glossary_for_chinese(tmp_path, collection):
    src, out, report = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "report.json"
    records = [{"id": "z1", "text": "我的信用卡被扣了300元年费,能退吗?"}, {"id": "z2", "text": "年费怎么退?"}]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    terms = tmp_path / "terms.json"
    terms.write_text(json.dumps([{"canonical": "信用卡", "synonyms": ["贷记卡"]}, {"canonical": "年费"}],
                                ensure_ascii=False), encoding="utf-8")

    def run(*sets):
        args = ["process", "--steps", "synonym", "--input", str(src), "--output", str(out), "--report", str(report),
                "--no-progress"]
        for s in sets:
            args += ["--set", s]
        call_command(*args)
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        return {r["parent_id"]: r["text"] for r in rows if r.get("parent_id")}, json.loads(report.read_text())

    made, rep = run()  # no glossary: Chinese has nothing to replace
    assert made == {} and rep["steps"][0]["counters"]["rejected:no replaceable words"] == 2
    made, rep = run(f"synonym.terms_file={terms}")
    assert made == {"z1": "我的贷记卡被扣了300元年费,能退吗?"}  # 年费 is a protected term, 300 a number
    assert rep["steps"][0]["counters"]["rejected:no replaceable words"] == 1
    GlossaryTerm.objects.create(collection=collection, canonical="年费", synonyms=["服务年费"])
    made, _ = run("synonym.collection=bank")  # the collection's glossary from the database
    assert made == {"z1": "我的信用卡被扣了300元服务年费,能退吗?", "z2": "服务年费怎么退?"}
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="synonym: glossary: terms_file .*bad.json is not valid JSON"):
        run(f"synonym.terms_file={bad}")
    with pytest.raises(CommandError, match="synonym: glossary: no collection named 'nope'"):
        run("synonym.collection=nope")
