"""With a real pipeline run (PII + exact dedup): samples come from the run's scrubbed output, dropped samples stay
out, every sample traces to its source file and the run, and no Faker PII value from the source reaches any export."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
from django.core.management import call_command
from faker import Faker

from training.export.base import iter_jsonl
from training.models import SPLITS, DatasetVersion
from training.services.datasets import dataset_version_create

from .conftest import make_sample, qa


CN_MOBILE_FORMATS = ("{}", "+86 {} {} {}", "{}-{}-{}")


def _cn_mobile(fake, i: int) -> str:
    """A Faker zh_CN mobile, bare (13912345678), international (+86 139 1234 5678) or dashed (139-1234-5678)."""
    digits = fake.phone_number()
    fmt = CN_MOBILE_FORMATS[i % 3]
    return digits if fmt == "{}" else fmt.format(digits[:3], digits[3:7], digits[7:])


def _pii_collection():
    from curation.models import Collection, SourceFile

    col = Collection.objects.create(name="bank", title="Bank")
    sf = SourceFile.objects.create(collection=col, name="tickets.jsonl", sha256="b" * 64, size=10, format="jsonl",
                                   stored_path="uploads/bb/tickets.jsonl")
    zh, en = Faker("zh_CN"), Faker("en_US")
    zh.seed_instance(11)
    en.seed_instance(11)
    values: list[str] = []
    for i in range(24):
        if i % 2:
            name, phone, ident, card = zh.name(), _cn_mobile(zh, i), zh.ssn(), zh.credit_card_number()
            values += [name, phone, ident, card]
            q = f"{zh.paragraph(nb_sentences=4)}我是{name}，我的手机号是{phone}，身份证号{ident}，请查询信用卡{card}的账单。"
            a = f"{name}您好，{zh.paragraph(nb_sentences=4)}还款已经到账，手机号{phone}会收到短信通知。"
            lang = "zh"
        else:
            # a formatted US number (the PII step does not catch bare 10-digit numbers such as 4958597297)
            name, email, phone = en.name(), en.email(), en.numerify("(###) ###-####")
            values += [name, email, phone]
            q = f"{en.paragraph(nb_sentences=4)} This is {name}. Please update my email to {email} and call me at {phone}."
            a = f"Dear {name}, {en.paragraph(nb_sentences=4)} The email is now {email}; an agent will call {phone}."
            lang = "en"
        make_sample(col, qa(q, a), origin="ingested", language=lang, domain="finance", source_file=sf, record_index=i)
    # an exact duplicate the pipeline drops
    first = col.samples.order_by("id").first()
    dup = make_sample(col, first.messages, origin="ingested", language=first.language, domain="finance",
                      source_file=sf, record_index=99)
    return col, values, dup


def _run_pipeline(col, pii_options=None):
    from curation.models import PipelineRun
    from curation.pipeline.services import pipeline_config_create, pipeline_run_create, pipeline_run_execute

    config = pipeline_config_create(collection=col, name=f"scrub-{PipelineRun.objects.count()}", steps=[
        {"step": "exact_dedup", "options": {}}, {"step": "pii", "options": pii_options or {}}])
    run = pipeline_run_create(collection=col, config=config, executor="local")
    pipeline_run_execute(run=run)
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    return run


EDIT_SCHEME = {"fields": [{"name": "decision", "type": "decision"}, {"name": "relevance", "type": "rating"}]}


def _edit(col, curator, annotator, sample, answer):
    """A curator's "edit" decision on ``sample`` with the corrected answer ``answer``."""
    from annotation.models import Item
    from annotation.services import item_adjudicate, project_create

    project = project_create(name=f"review-{sample.pk}", collection=col, scheme=EDIT_SCHEME, user=curator,
                             overlap=1, annotators=[annotator], sample_ids=[sample.pk])
    item_adjudicate(item=Item.objects.get(project=project), method="curator", user=curator,
                    final_label={"decision": "edit", "relevance": 4, "edited_response": answer})


def _all_export_text(folder) -> str:
    parts = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix in (".jsonl", ".json", ".md"):
            parts.append(path.read_text(encoding="utf-8"))
        elif path.suffix == ".parquet":
            parts.append(json.dumps(pq.read_table(path).to_pylist(), ensure_ascii=False, default=str))
        elif path.suffix == ".arrow":
            import pyarrow as pa

            with pa.memory_map(str(path)) as src:
                parts.append(json.dumps(pa.ipc.open_stream(src).read_all().to_pylist(), ensure_ascii=False, default=str))
    return "\n".join(parts)


def test_pii_run_outputs_lineage_and_no_pii_in_any_export(db, curator, annotator, tmp_path):
    col, values, dup = _pii_collection()
    # annotators edit two answers: the edits repeat the sample's own PII and add new PII (typed by the annotator)
    zh, en = Faker("zh_CN"), Faker("en_US")
    zh.seed_instance(99)
    en.seed_instance(99)
    samples = list(col.samples.exclude(pk=dup.pk).order_by("id"))
    zh_sample, en_sample = samples[1], samples[2]
    zh_new = [zh.name(), _cn_mobile(zh, 1), zh.ssn()]
    en_new = [en.name(), en.email(), en.numerify("(###) ###-####")]
    values += zh_new + en_new
    zh_old = [v for v in values if v in zh_sample.messages[0]["content"]]
    en_old = [v for v in values if v in en_sample.messages[0]["content"]]
    assert len(zh_old) >= 3 and len(en_old) >= 3
    _edit(col, curator, annotator, zh_sample,
          f"{zh_old[0]}您好，账单已核实。请联系{zh_new[0]}，电话{zh_new[1]}，身份证{zh_new[2]}，原手机号{zh_old[1]}。")
    _edit(col, curator, annotator, en_sample,
          f"Reviewed answer: {en_old[0]}, please write to {en_new[1]}. This is {en_new[0]}, your new agent; "
          f"I will call {en_new[2]} or {en_old[2]}.")
    run = _run_pipeline(col)
    assert run.report and "pii" in run.step_names
    version = dataset_version_create(collection=col, spec={"pipeline_run": "latest"}, user=curator)
    manifest = json.loads((version.folder / "manifest.json").read_text())
    assert manifest["pipeline_runs"][0]["id"] == run.pk
    assert manifest["counts"]["excluded"]["not kept by the pipeline run"] == 1
    rows = {r["id"]: r for s in SPLITS for r in iter_jsonl(version.split_file(s))}
    written = set(rows)
    contaminated = {e["id"] for e in manifest["decontamination"]["excluded"]}
    assert str(dup.pk) not in written and len(written) + len(contaminated) == 24 and len(written) >= 20
    # the edits are in, on top of the run's scrubbed user turn, with the annotator's PII replaced
    for sample, marker in ((zh_sample, "账单已核实"), (en_sample, "Reviewed answer:")):
        if str(sample.pk) in rows:
            msgs = rows[str(sample.pk)]["messages"]
            # the sample's own name has the placeholder the run gave it; the new name the next one
            assert marker in msgs[-1]["content"] and "[PERSON_1]" in msgs[-1]["content"]
            assert "[PERSON_2]" in msgs[-1]["content"] and "[PERSON_1]" in msgs[0]["content"]
    assert any(str(s.pk) in rows for s in (zh_sample, en_sample))
    # lineage: every sample → its source file and the run
    lineage = {r["id"]: r for r in iter_jsonl(version.folder / manifest["lineage"]["file"])}
    assert manifest["lineage"]["rows"] == len(written)
    assert manifest["files"]["lineage.jsonl"]["rows"] == len(written)
    assert set(lineage) == written
    for line in lineage.values():
        assert line["pipeline_run"] == run.pk
        assert line["source_file"]["name"] == "tickets.jsonl" and line["source_file"]["sha256"] == "b" * 64
    # exports in every format, plus the version folder itself
    for fmt in ("messages", "alpaca", "sharegpt", "hf"):
        call_command("export_dataset", "--collection", "bank", "--format", fmt, "--out", str(tmp_path / fmt),
                     "--filter", "pipeline_run=latest", verbosity=0)
    text = _all_export_text(version.folder) + "".join(_all_export_text(tmp_path / f) for f in
                                                      ("messages", "alpaca", "sharegpt", "hf"))
    assert len(text) > 10_000
    leaked = [v for v in values if v in text]
    assert leaked == []
    for placeholder in ("[PERSON_", "[PHONE_", "[EMAIL_", "[CN_ID_"):
        assert placeholder in text  # placeholders are kept as the PII step wrote them
    # the same samples without the run do contain the raw values (the test would catch a leak)
    raw = _all_export_text(dataset_version_create(collection=col, spec={}, user=curator).folder)
    for group in (zh_new, en_new, zh_old, en_old):
        assert all(v in raw for v in group)
    assert DatasetVersion.objects.filter(collection=col).count() == 6


def test_edit_with_pii_is_dropped_when_the_run_drops_pii(db, curator, annotator):
    col, _values, dup = _pii_collection()
    clean = make_sample(col, qa("How long does a refund take?", "Refunds take five working days."),
                        origin="ingested", language="en", domain="finance")
    plain = make_sample(col, qa("Can I pay by bank transfer?", "Yes, bank transfers are accepted."),
                        origin="ingested", language="en", domain="finance")
    _edit(col, curator, annotator, clean, "Refunds take five days; call 13912345678 if it takes longer.")
    _edit(col, curator, annotator, plain, "Yes, transfers are accepted from any bank.")
    run = _run_pipeline(col, {"mode": "drop", "names": False})
    version = dataset_version_create(collection=col, spec={"pipeline_run": str(run.pk)}, user=curator)
    rows = {r["id"]: r for s in SPLITS for r in iter_jsonl(version.split_file(s))}
    assert set(rows) == {str(plain.pk)}  # every ticket has PII; the clean one's edit brought some in
    assert rows[str(plain.pk)]["messages"][-1]["content"] == "Yes, transfers are accepted from any bank."
    assert version.manifest["counts"]["excluded"]["edited answer contains PII (the run's pii step drops such samples)"] == 1


def test_pipeline_run_id_and_errors(db, curator):
    import pytest

    from training.dataset_spec import DatasetSpecError

    col, _values, _dup = _pii_collection()
    with pytest.raises(DatasetSpecError, match="has no finished pipeline run"):
        dataset_version_create(collection=col, spec={"pipeline_run": "latest"}, user=curator)
    run = _run_pipeline(col)
    v = dataset_version_create(collection=col, spec={"pipeline_run": str(run.pk)}, user=curator)
    assert v.manifest["pipeline_runs"][0]["id"] == run.pk
    with pytest.raises(DatasetSpecError, match="no such run"):
        dataset_version_create(collection=col, spec={"pipeline_run": str(run.pk + 100)}, user=curator)
