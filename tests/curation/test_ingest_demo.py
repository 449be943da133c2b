"""The demo corpus loads into collection `demo` (idempotently) and has what the brief promises."""
import io
import re

import pytest

from curation import demo
from curation.models import Collection, Document, Sample, SourceFile

pytestmark = pytest.mark.django_db


def _id_checksum_ok(number: str) -> bool:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(number[:17], weights))
    return "10X98765432"[total % 11] == number[17].upper()


def _luhn_ok(number: str) -> bool:
    digits = [int(d) for d in re.sub(r"\D", "", number)][::-1]
    return sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits)) % 10 == 0


def test_demo_loads_once_with_every_kind_of_file(curator):
    out = io.StringIO()
    coll = demo.load(out, {"curator": curator})
    assert coll.name == "demo" and coll.created_by == curator
    files = {f.name: f for f in SourceFile.objects.filter(collection=coll)}
    assert {f.format for f in files.values()} == {"txt", "md", "html", "pdf", "docx", "jsonl", "csv"}
    assert files["medical/clinic_notice_gbk.txt"].encoding == "gb18030"
    assert files["customer_service/faq_pairs.jsonl"].status == SourceFile.Status.PARTIAL
    assert not [f for f in files.values() if f.status == SourceFile.Status.ERROR]
    docs, samples = Document.objects.filter(collection=coll), Sample.objects.filter(collection=coll)
    assert docs.count() >= 15 and samples.count() >= 20
    assert {"zh", "en"} <= set(docs.values_list("language", flat=True))
    # exact duplicates (same text from two files) and near duplicates are present
    hashes = list(docs.values_list("content_hash", flat=True))
    assert len(hashes) - len(set(hashes)) >= 1
    assert samples.filter(intent="refund_request").exists()
    assert samples.exclude(entities={}).count() >= 4
    text = "\n".join(docs.values_list("text", flat=True)) + "\n".join(str(s.messages) for s in samples)
    ids = re.findall(r"(?<!\d)\d{17}[\dX](?!\d)", text)
    assert ids and all(_id_checksum_ok(i) for i in ids)
    cards = re.findall(r"(?<!\d)(?:\d{4} ?){3}\d{4}(?!\d)", text)
    assert cards and all(_luhn_ok(c) for c in cards)
    assert re.search(r"1[3-9]\d{9}", text) and "@example." in text
    assert "â€™" in text and "ＡＬＬ" in text and "&nbsp;" in text  # noisy text kept as ingested
    counts = (SourceFile.objects.count(), docs.count(), samples.count())
    again = io.StringIO()
    demo.load(again, {"curator": curator})
    assert "14 already present" in again.getvalue()
    assert (SourceFile.objects.count(), docs.count(), samples.count()) == counts
    # one run of the default pipeline (dashboards have data); a second load starts no new run
    from curation.models import PipelineRun

    run = PipelineRun.objects.get(collection=coll)
    assert run.status == PipelineRun.Status.SUCCEEDED and run.rejections.exists()
    assert "demo pipeline run" in out.getvalue() and "demo pipeline run" not in again.getvalue()
    assert Collection.objects.filter(name="demo").count() == 1
