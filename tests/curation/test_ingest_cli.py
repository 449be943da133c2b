"""`manage.py ingest PATH... --collection NAME [--create]`: report per file, non-zero exit when all fail."""
import io

import pytest
from django.core.management import CommandError, call_command

from curation.models import Collection, Document
from refinery.models import Job

from ._ingest_helpers import write

pytestmark = pytest.mark.django_db


def _run(*args):
    out = io.StringIO()
    call_command("ingest", *map(str, args), "--no-progress", stdout=out)
    return out.getvalue()


def test_cli_creates_ingests_and_reports(tmp_path):
    write(tmp_path, "in/a.txt", "Alpha text.")
    write(tmp_path, "in/b.jsonl", '{"text": "b1"}\nnot json\n')
    write(tmp_path, "in/c.txt", b"")
    with pytest.raises(CommandError, match="Use --create"):
        _run(tmp_path / "in", "--collection", "cli")
    out = _run(tmp_path / "in", "--collection", "cli", "--create")
    assert "Created collection cli" in out
    assert "in/a.txt" in out and "line 2: invalid JSON" in out and "the file is empty" in out
    assert "3 files: 1 ingested, 1 partial, 0 already present, 1 errors — 2 documents" in out
    assert Document.objects.filter(collection__name="cli").count() == 2
    assert Job.objects.get().status == Job.Status.SUCCEEDED
    again = _run(tmp_path / "in" / "a.txt", "--collection", "cli")
    assert "already present" in again and Document.objects.count() == 2


def test_cli_fails_when_every_file_fails(tmp_path):
    Collection.objects.create(name="x")
    write(tmp_path, "e.txt", b"")
    with pytest.raises(CommandError, match="Every file failed"):
        _run(tmp_path / "e.txt", tmp_path / "missing.pdf", "--collection", "x")


def test_cli_shows_a_progress_bar(tmp_path, capsys):
    write(tmp_path, "p.txt", "progress")
    out = io.StringIO()
    call_command("ingest", str(tmp_path / "p.txt"), "--collection", "pb", "--create", stdout=out)
    err = capsys.readouterr().err
    assert "Ingesting files" in err and "1/1" in err


def test_cancelling_the_ingest_job_stops_between_files_and_keeps_finished_ones(tmp_path, monkeypatch):
    """Each file is its own transaction: files done before the cancel stay, the rest are not touched."""
    from curation.ingest import services
    from refinery.jobs import job_create, job_execute

    for i in range(4):
        write(tmp_path, f"in/{i}.txt", f"document number {i}")
    coll = Collection.objects.create(name="cancel")
    job = job_create(kind="curation.ingest", title="t", params={"collection_id": coll.pk, "paths": [str(tmp_path / "in")]})
    real = services._ingest_item

    def ingest_then_cancel_after_second(collection, item):
        report = real(collection, item)
        if item.name.endswith("1.txt"):
            Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        return report

    monkeypatch.setattr(services, "_ingest_item", ingest_then_cancel_after_second)
    job = job_execute(job.pk)
    assert job.status == Job.Status.CANCELLED
    assert sorted(Document.objects.values_list("text", flat=True)) == ["document number 0", "document number 1"]


def test_cli_reports_removed_nul_characters(tmp_path):
    write(tmp_path, "nul.jsonl", '{"text": "a\\u0000b"}\n')
    out = _run(tmp_path / "nul.jsonl", "--collection", "nul", "--create")
    assert "1 documents, 0 samples — removed 1 NUL character (U+0000" in out
    assert Document.objects.get().text == "ab"
