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
            phone, ident, card = zh.phone_number(), zh.ssn(), zh.credit_card_number()
            values += [phone, ident, card]
            q = f"{zh.paragraph(nb_sentences=2)}我的手机号是{phone}，身份证号{ident}，请查询信用卡{card}的账单。"
            a = f"{zh.paragraph(nb_sentences=2)}还款已经到账，手机号{phone}会收到短信通知。"
            lang = "zh"
        else:
            # a formatted US number (the PII step does not catch bare 10-digit numbers such as 4958597297)
            email, phone = en.email(), en.numerify("(###) ###-####")
            values += [email, phone]
            q = f"{en.paragraph(nb_sentences=2)} Please update my email to {email} and call me at {phone}."
            a = f"{en.paragraph(nb_sentences=2)} The email is now {email}; an agent will call {phone}."
            lang = "en"
        make_sample(col, qa(q, a), origin="ingested", language=lang, domain="finance", source_file=sf, record_index=i)
    # an exact duplicate the pipeline drops
    first = col.samples.order_by("id").first()
    dup = make_sample(col, first.messages, origin="ingested", language=first.language, domain="finance",
                      source_file=sf, record_index=99)
    return col, values, dup


def _run_pipeline(col):
    from curation.models import PipelineRun
    from curation.pipeline.services import pipeline_config_create, pipeline_run_create, pipeline_run_execute

    config = pipeline_config_create(collection=col, name="scrub", steps=[
        {"step": "exact_dedup", "options": {}}, {"step": "pii", "options": {"names": False}}])
    run = pipeline_run_create(collection=col, config=config, executor="local")
    pipeline_run_execute(run=run)
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    return run


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


def test_pii_run_outputs_lineage_and_no_pii_in_any_export(db, curator, tmp_path):
    col, values, dup = _pii_collection()
    run = _run_pipeline(col)
    version = dataset_version_create(collection=col, spec={"pipeline_run": "latest"}, user=curator)
    manifest = json.loads((version.folder / "manifest.json").read_text())
    assert manifest["pipeline_runs"][0]["id"] == run.pk
    assert manifest["counts"]["excluded"]["not kept by the pipeline run"] == 1
    written = {r["id"] for s in SPLITS for r in iter_jsonl(version.split_file(s))}
    contaminated = {e["id"] for e in manifest["decontamination"]["excluded"]}
    assert str(dup.pk) not in written and len(written) + len(contaminated) == 24 and len(written) >= 20
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
    assert "[PHONE" in text or "[EMAIL" in text  # placeholders are kept as the PII step wrote them
    # the same samples without the run do contain the raw values (the test would catch a leak)
    raw = dataset_version_create(collection=col, spec={}, user=curator)
    assert any(v in _all_export_text(raw.folder) for v in values)
    assert DatasetVersion.objects.filter(collection=col).count() == 6


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
