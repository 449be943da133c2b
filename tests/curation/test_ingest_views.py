"""Pages: collections, detail, document browser with search/filters, document detail, upload + live report,
samples; every page is curator-only (annotators get 403)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from curation.ingest.services import ingest_paths
from curation.models import Collection, Document, Sample, SourceFile
from refinery.models import Job

from ._ingest_helpers import make_collection, write

pytestmark = pytest.mark.django_db


@pytest.fixture
def filled(tmp_path):
    coll = make_collection("clinic", title="Clinic", domain="medical")
    write(tmp_path, "c/bp.txt", "High blood pressure needs daily medicine and less salt.")
    write(tmp_path, "c/zh.txt", "高血压患者应当每天测量血压并减少食盐摄入。")
    write(tmp_path, "c/qa.jsonl", '{"prompt": "What is BP?", "response": "Blood pressure.", "intent": "define"}\n{"bad json\n')
    ingest_paths(collection=coll, paths=[tmp_path / "c"])
    return coll


def _urls(coll):
    doc = Document.objects.filter(collection=coll).first()
    sample = Sample.objects.filter(collection=coll).first()
    source = SourceFile.objects.filter(collection=coll).first()
    return [
        reverse("curation:collection_list"),
        reverse("curation:collection_detail", args=[coll.pk]),
        reverse("curation:document_list", args=[coll.pk]),
        reverse("curation:sample_list", args=[coll.pk]),
        reverse("curation:upload", args=[coll.pk]),
        reverse("curation:document_detail", args=[doc.pk]),
        reverse("curation:sample_detail", args=[sample.pk]),
        reverse("curation:source_file_raw", args=[source.pk]),
    ]


def test_annotator_gets_403_everywhere_and_anonymous_is_redirected(filled, annotator_client, client):
    for url in _urls(filled):
        assert annotator_client.get(url).status_code == 403, url
        assert client.get(url).status_code == 302, url
    assert annotator_client.post(reverse("curation:collection_list"), {"name": "x"}).status_code == 403
    job = Job.objects.create(kind="curation.ingest", title="t")
    assert annotator_client.post(reverse("curation:upload", args=[filled.pk]), {}).status_code == 403
    assert annotator_client.get(reverse("curation:upload_report", args=[filled.pk, job.pk])).status_code == 403
    assert not Collection.objects.filter(name="x").exists()


def test_curator_sees_every_page(filled, curator_client):
    for url in _urls(filled):
        assert curator_client.get(url).status_code == 200, url


def test_collection_list_and_create(filled, curator_client, curator):
    page = curator_client.get(reverse("curation:collection_list")).content.decode()
    assert "clinic" in page and "<td>3</td>" in page  # three files
    resp = curator_client.post(reverse("curation:collection_list"), {"name": "finance-faq", "title": "Finance"})
    coll = Collection.objects.get(name="finance-faq")
    assert resp.status_code == 302 and resp.url == reverse("curation:collection_detail", args=[coll.pk])
    assert coll.created_by == curator
    bad = curator_client.post(reverse("curation:collection_list"), {"name": "not a slug!"})
    assert bad.status_code == 400 and "name" in bad.content.decode()
    dup = curator_client.post(reverse("curation:collection_list"), {"name": "clinic"})
    assert dup.status_code == 400 and "already exists" in dup.content.decode()


def test_collection_detail_stats_files_and_chart(filled, curator_client):
    page = curator_client.get(reverse("curation:collection_detail", args=[filled.pk])).content.decode()
    assert 'id="stat-documents">2<' in page and 'id="stat-samples">1<' in page
    assert "c/qa.jsonl" in page and "Ingested with errors" in page and "line 2:" in page
    assert "plotly/plotly.min.js" in page and 'id="collection-chart"' in page and '"zh": 1' in page


def test_document_browser_search_filters_pagination(filled, curator_client):
    url = reverse("curation:document_list", args=[filled.pk])
    page = curator_client.get(url, {"q": "blood pressure"}).content.decode()
    assert "High <mark>blood</mark> <mark>pressure</mark>" in page and "高血压" not in page and "1 document " in page
    page = curator_client.get(url, {"q": "血压"}).content.decode()
    assert "高<mark>血压</mark>患者" in page and "High blood" not in page
    page = curator_client.get(url, {"q": "测量血压"}).content.decode()
    assert "<mark>测量血压</mark>" in page
    page = curator_client.get(url, {"language": "en"}).content.decode()
    assert "High blood" in page and "高血压患者" not in page
    zh_file = SourceFile.objects.get(name="c/zh.txt")
    page = curator_client.get(url, {"source_file": zh_file.pk}).content.decode()
    assert "高血压患者" in page and "High blood" not in page
    Document.objects.filter(language="zh").update(status=Document.Status.EXCLUDED)
    page = curator_client.get(url, {"status": "excluded"}).content.decode()
    assert "高血压患者" in page and "High blood" not in page
    partial = curator_client.get(url, {"q": "salt"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "High blood" in partial
    for i in range(30):
        Document.objects.create(collection=filled, text=f"filler {i}", content_hash=str(i), title=f"filler {i}")
    page1 = curator_client.get(url).content.decode()
    assert "page 1 of 2" in page1
    page2 = curator_client.get(url, {"page": 2}).content.decode()
    assert "filler 29" in page2 and "filler 29" not in page1


def test_document_detail_escapes_text_and_links_source(filled, curator_client):
    source = SourceFile.objects.get(name="c/bp.txt")
    doc = Document.objects.create(collection=filled, source_file=source, record_index=9, text="<script>alert(1)</script>",
                                  content_hash="x", meta={"k": "v"})
    page = curator_client.get(reverse("curation:document_detail", args=[doc.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert reverse("curation:source_file_raw", args=[source.pk]) in page and "c/bp.txt" in page
    raw = curator_client.get(reverse("curation:source_file_raw", args=[source.pk]))
    assert b"".join(raw.streaming_content).startswith(b"High blood pressure")
    assert "bp.txt" in raw["Content-Disposition"]


def test_sample_list_and_detail(filled, curator_client):
    page = curator_client.get(reverse("curation:sample_list", args=[filled.pk]), {"intent": "define"}).content.decode()
    assert "What is BP?" in page
    assert "What is BP?" not in curator_client.get(reverse("curation:sample_list", args=[filled.pk]),
                                                   {"q": "nothing-like-this"}).content.decode()
    sample = Sample.objects.get()
    page = curator_client.get(reverse("curation:sample_detail", args=[sample.pk])).content.decode()
    assert "Blood pressure." in page and "define" in page


def test_upload_starts_a_job_and_shows_the_per_file_report(filled, curator_client, curator, django_capture_on_commit_callbacks):
    url = reverse("curation:upload", args=[filled.pk])
    files = [SimpleUploadedFile("notes.txt", "Upload test: a new document about salt.".encode()),
             SimpleUploadedFile("broken.txt", b"", content_type="text/plain"),
             SimpleUploadedFile("bp.txt", b"High blood pressure needs daily medicine and less salt.")]
    with django_capture_on_commit_callbacks(execute=True):
        resp = curator_client.post(url, {"files": files}, HTTP_HX_REQUEST="true")
    assert resp.status_code == 200
    job = Job.objects.get(kind="curation.ingest")
    assert job.status == Job.Status.SUCCEEDED and job.created_by == curator
    page = curator_client.get(reverse("curation:upload_report", args=[filled.pk, job.pk])).content.decode()
    assert "notes.txt" in page and "the file is empty" in page and "already present" in page
    assert "hx-trigger" not in page  # finished: no more polling
    assert Document.objects.filter(source_file__name="notes.txt").exists()
    # The staged copies are gone; the raw file is kept by hash.
    from django.conf import settings
    assert not any((settings.DATA_DIR / "incoming").glob("*/*"))
    # Non-htmx post redirects to the page with the job.
    with django_capture_on_commit_callbacks(execute=True):
        resp = curator_client.post(url, {"files": [SimpleUploadedFile("n2.md", b"# N2\n\ntext")]})
    assert resp.status_code == 302 and "?job=" in resp.url
    assert "n2.md" in curator_client.get(resp.url).content.decode()


def test_upload_without_files_or_too_large(filled, curator_client, settings):
    url = reverse("curation:upload", args=[filled.pk])
    resp = curator_client.post(url, {}, HTTP_HX_REQUEST="true")
    assert resp.status_code == 400 and "no files were uploaded" in resp.content.decode()
    settings.MAX_UPLOAD_BYTES = 10
    resp = curator_client.post(url, {"files": [SimpleUploadedFile("a.txt", b"more than ten bytes")]})
    assert resp.status_code == 400 and "too large" in resp.content.decode()
    assert not Job.objects.exists()


def test_search_results_mark_terms_and_escape_text(filled, curator_client):
    Document.objects.create(collection=filled, title="xss", content_hash="x",
                            text="<b>bold</b> claim: " + "filler " * 40 + "the Salt <script>alert(1)</script> tail")
    page = curator_client.get(reverse("curation:document_list", args=[filled.pk]), {"q": "salt"}).content.decode()
    assert "<mark>Salt</mark>" in page and "<mark>salt</mark>" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page


def test_document_detail_shows_latest_pipeline_run_result(filled, curator_client):
    from django.utils import timezone

    from curation.models import PipelineRun, RunOutput, RunRejection

    kept, dropped = Document.objects.filter(collection=filled).order_by("id")[:2]
    page = curator_client.get(reverse("curation:document_detail", args=[kept.pk])).content.decode()
    assert 'id="latest-run"' not in page
    run = PipelineRun.objects.create(collection=filled, config_name="clean", status=PipelineRun.Status.SUCCEEDED,
                                     finished_at=timezone.now())
    RunOutput.objects.create(run=run, document=kept, text="CURATED <b>text</b>", attributes={"quality": 0.9})
    RunRejection.objects.create(run=run, document=dropped, record_id=f"d{dropped.pk}", step="exact_dedup",
                                reason="exact duplicate", duplicate_of=f"d{kept.pk}")
    page = curator_client.get(reverse("curation:document_detail", args=[kept.pk])).content.decode()
    assert "kept" in page and "CURATED &lt;b&gt;text&lt;/b&gt;" in page and "&quot;quality&quot;: 0.9" in page
    assert reverse("curation:run_detail", args=[run.pk]) in page
    page = curator_client.get(reverse("curation:document_detail", args=[dropped.pk])).content.decode()
    assert "dropped" in page and "exact_dedup" in page and f"duplicate of d{kept.pk}" in page


def test_exclude_and_include_a_document(filled, curator_client, annotator_client, curator):
    doc = Document.objects.filter(collection=filled).first()
    url = reverse("curation:document_status", args=[doc.pk])
    assert annotator_client.post(url, {"status": "excluded"}).status_code == 403
    assert curator_client.get(url).status_code == 405
    resp = curator_client.post(url, {"status": "excluded"})
    assert resp.status_code == 302
    doc.refresh_from_db()
    assert doc.status == Document.Status.EXCLUDED and doc.updated_by == curator
    assert "Include again" in curator_client.get(resp.url).content.decode()
    curator_client.post(url, {"status": "bogus"})
    doc.refresh_from_db()
    assert doc.status == Document.Status.EXCLUDED
    curator_client.post(url, {"status": "active"})
    doc.refresh_from_db()
    assert doc.status == Document.Status.ACTIVE


def test_collection_detail_links_to_other_curation_pages(filled, curator_client):
    page = curator_client.get(reverse("curation:collection_detail", args=[filled.pk])).content.decode()
    assert reverse("curation:pipeline_list") in page
