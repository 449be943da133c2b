"""Builders on real records: templates (incl. CoT) from files, the build CLI, document → QA with real LMs."""
from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from curation.builders.cot import strip_reasoning
from curation.builders.services import samples_build_from_template, samples_build_qa, template_preview, template_save
from curation.builders.templates import TemplateError, TemplateSpec, build_from_record, render
from curation.hashing import text_hash
from curation.models import Collection, Document, Sample, SourceFile

RECORDS = [
    {"id": 1, "age": 45, "symptoms": ["头痛", "发烧"], "analysis": "发热伴头痛三天", "candidates": ["流感", "普通感冒"],
     "exclusion": "无咳嗽、肌肉酸痛较轻,不像流感", "diagnosis": "普通感冒", "intent": "diagnosis"},
    {"id": 2, "age": 30, "symptoms": ["咳嗽"], "analysis": "干咳一周", "candidates": ["支气管炎"],
     "exclusion": "无发热", "diagnosis": "支气管炎", "intent": "diagnosis"},
]


@pytest.fixture
def collection(db):
    return Collection.objects.create(name="clinic", domain="medical")


@pytest.fixture
def records_file(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS) + "\n", encoding="utf-8")
    return path


def test_render_fills_fields_joins_lists_and_names_missing_fields():
    assert render("用户年龄:{age},症状:{symptoms}", RECORDS[0]) == "用户年龄:45,症状:头痛、发烧"
    assert render("Age {p.age}, {{literal}}", {"p": {"age": 3}}) == "Age 3, {literal}"
    with pytest.raises(TemplateError, match="missing field 'weight'"):
        render("{weight}", RECORDS[0])


def test_chain_of_thought_keeps_reasoning_apart_for_the_export_switch():
    spec = TemplateSpec("用户年龄:{age},症状:{symptoms}", cot={"analysis": "analysis", "candidates": "candidates",
                                                           "exclusion": "exclusion", "conclusion": "diagnosis"})
    built = build_from_record(spec, RECORDS[0])
    response = built.messages[-1]["content"]
    assert response.splitlines() == ["分析:发热伴头痛三天", "候选:流感、普通感冒", "排除:无咳嗽、肌肉酸痛较轻,不像流感",
                                     "结论:普通感冒"]
    assert built.meta["cot"] == {"reasoning": "\n".join(response.splitlines()[:3]), "answer": "普通感冒"}
    stripped, changed = strip_reasoning(built.messages, built.meta["cot"])
    assert changed and stripped[-1]["content"] == "普通感冒" and stripped[0] == built.messages[0]


def test_template_from_file_and_preview(collection, records_file, curator):
    tpl = template_save(collection=collection, name="triage", instruction="用户年龄:{age},症状:{symptoms}",
                        response="{diagnosis}", intent_field="intent", user=curator)
    preview = template_preview(spec=TemplateSpec.from_model(tpl), records=[(1, RECORDS[0]), (2, {"age": 1})])
    assert preview[0]["messages"][1]["content"] == "普通感冒"
    assert preview[1]["error"] == "line 2: missing field 'symptoms'"
    result = samples_build_from_template(collection=collection, template=tpl, path=records_file, user=curator)
    assert result == {"records": 2, "samples": 2, "duplicates": 0, "method": "template:triage"}
    s = Sample.objects.get(record_index=1)
    assert (s.origin, s.method, s.intent, s.language) == ("built", "template:triage", "diagnosis", "zh")
    assert s.meta["record"]["age"] == 45
    again = samples_build_from_template(collection=collection, template=tpl, path=records_file)
    assert again["samples"] == 0 and again["duplicates"] == 2
    with pytest.raises(TemplateError, match="give a response template"):
        template_save(collection=collection, name="bad", instruction="{age}")


def test_build_cli(collection, records_file, tmp_path, capsys):
    template_save(collection=collection, name="cot", instruction="症状:{symptoms}",
                  cot={"analysis": "analysis", "conclusion": "diagnosis"})
    call_command("build", "--collection", "clinic", "--template", "cot", "--input", str(records_file))
    assert "2 samples built from 2 records" in capsys.readouterr().out
    assert Sample.objects.filter(meta__cot__answer="支气管炎").count() == 1
    # the records file became a source file of the collection: the samples link back to it and its lines
    assert sorted(Sample.objects.filter(source_file__name="cases.jsonl").values_list("record_index", flat=True)) == [1, 2]
    source = Sample.objects.first().source_file
    assert source.sha256 == __import__("hashlib").sha256(records_file.read_bytes()).hexdigest()
    from curation.ingest.services import source_file_path
    assert source_file_path(source).read_bytes() == records_file.read_bytes()
    call_command("build", "--collection", "clinic", "--template", "cot", "--input", str(records_file))
    assert SourceFile.objects.filter(collection=collection).count() == 1  # same content: the same source file
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"symptoms": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 1: chain-of-thought: missing field 'analysis'"):
        call_command("build", "--collection", "clinic", "--template", "cot", "--input", str(bad))
    with pytest.raises(CommandError, match="No template 'nope'"):
        call_command("build", "--collection", "clinic", "--template", "nope", "--input", str(bad))
    assert not SourceFile.objects.filter(name="bad.jsonl").exists()  # a failed build keeps nothing


def test_document_to_qa_with_the_bundled_lm(collection):
    text = "The bank charges an annual fee of 200 yuan for the platinum card. The fee is waived if you spend 50000 yuan a year."
    doc = Document.objects.create(collection=collection, text=text, content_hash=text_hash(text), language="en")
    result = samples_build_qa(collection=collection, max_pairs=1)
    assert result["documents"] == 1 and result["generator"] == "local:gemma3-270m"
    for s in Sample.objects.filter(origin="built"):
        assert s.source_document == doc and s.method == "qa:local:gemma3-270m"
        assert s.messages[0]["role"] == "user" and s.messages[0]["content"] and s.messages[1]["content"]
        assert s.meta["qa"]["passage"] == text
    assert result["samples"] == Sample.objects.filter(origin="built").count() == 1
