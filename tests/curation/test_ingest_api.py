"""REST API: collections CRUD, documents/samples/source files with search and filters, upload → job; annotators 403."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from curation.ingest.services import ingest_paths
from curation.models import Collection, Document
from refinery.models import Job
from tests.conftest import api_client_for

from ._ingest_helpers import make_collection, write

pytestmark = pytest.mark.django_db


@pytest.fixture
def filled(tmp_path):
    coll = make_collection("bank", domain="finance")
    write(tmp_path, "b/en.txt", "Report a lost credit card immediately.")
    write(tmp_path, "b/zh.txt", "信用卡丢失后请立即致电客服挂失。")
    write(tmp_path, "b/qa.csv", "question,answer,intent\nHow do I open an account?,Bring ID.,open_account\n")
    ingest_paths(collection=coll, paths=[tmp_path / "b"])
    return coll


def test_annotator_is_forbidden_on_every_endpoint(filled, annotator):
    api = api_client_for(annotator)
    doc = Document.objects.first()
    for url in ["/api/collections/", f"/api/collections/{filled.pk}/", "/api/documents/", f"/api/documents/{doc.pk}/",
                "/api/samples/", "/api/source-files/"]:
        assert api.get(url).status_code == 403, url
    assert api.post("/api/collections/", {"name": "x"}).status_code == 403
    assert api.delete(f"/api/collections/{filled.pk}/").status_code == 403
    assert api.post(f"/api/documents/{doc.pk}/status/", {"status": "excluded"}).status_code == 403
    assert api.post(f"/api/collections/{filled.pk}/upload/", {}, format="multipart").status_code == 403
    from rest_framework.test import APIClient
    assert APIClient().get("/api/collections/").status_code in (401, 403)


def test_collections_crud(filled, curator):
    api = api_client_for(curator)
    rows = api.get("/api/collections/").json()["results"]
    assert rows[0]["name"] == "bank" and rows[0]["n_documents"] == 2 and rows[0]["n_samples"] == 1 and rows[0]["n_files"] == 3
    created = api.post("/api/collections/", {"name": "cs", "title": "Support", "domain": "customer-service"}, format="json")
    assert created.status_code == 201 and created.json()["name"] == "cs"
    cs = Collection.objects.get(name="cs")
    assert cs.created_by == curator
    assert api.post("/api/collections/", {"name": "bad name"}, format="json").status_code == 400
    assert api.patch(f"/api/collections/{cs.pk}/", {"title": "Support desk"}, format="json").json()["title"] == "Support desk"
    assert api.patch(f"/api/collections/{cs.pk}/", {"name": "renamed"}, format="json").status_code == 400
    assert api.delete(f"/api/collections/{cs.pk}/").status_code == 204
    assert not Collection.objects.filter(name="cs").exists()


def test_documents_search_and_filters(filled, curator):
    api = api_client_for(curator)
    base = f"/api/documents/?collection={filled.pk}"
    assert api.get(base).json()["count"] == 2
    hits = api.get(base + "&q=credit card").json()["results"]
    assert [d["language"] for d in hits] == ["en"] and hits[0]["source_file_name"] == "b/en.txt"
    assert api.get(base + "&q=挂失").json()["results"][0]["language"] == "zh"
    assert api.get(base + "&q=立即致电").json()["count"] == 1
    assert api.get(base + "&language=zh").json()["count"] == 1
    assert api.get(base + "&status=excluded").json()["count"] == 0
    assert api.get("/api/documents/?source_file=abc").status_code == 400
    doc = api.get(f"/api/documents/{hits[0]['id']}/").json()
    assert doc["text"] == "Report a lost credit card immediately."
    assert api.post(f"/api/documents/{doc['id']}/status/", {"status": "excluded"}, format="json").json()["status"] == "excluded"
    assert api.get(base + "&status=excluded").json()["count"] == 1
    assert api.post(f"/api/documents/{doc['id']}/status/", {"status": "gone"}, format="json").status_code == 400


def test_samples_and_source_files(filled, curator):
    api = api_client_for(curator)
    samples = api.get(f"/api/samples/?collection={filled.pk}&intent=open_account").json()["results"]
    assert samples[0]["messages"][0] == {"role": "user", "content": "How do I open an account?"}
    assert samples[0]["origin"] == "ingested" and samples[0]["domain"] == "finance"
    files = api.get(f"/api/source-files/?collection={filled.pk}").json()["results"]
    assert sorted(f["name"] for f in files) == ["b/en.txt", "b/qa.csv", "b/zh.txt"]


def test_upload_returns_the_job_with_the_report(filled, curator, django_capture_on_commit_callbacks):
    api = api_client_for(curator)
    with django_capture_on_commit_callbacks(execute=True):
        resp = api.post(f"/api/collections/{filled.pk}/upload/",
                        {"files": [SimpleUploadedFile("new.jsonl", b'{"text": "new doc"}\n{broken\n')]}, format="multipart")
    assert resp.status_code == 202 and resp.json()["kind"] == "curation.ingest"
    job = api.get(f"/api/jobs/{resp.json()['id']}/").json()
    assert job["status"] == "succeeded"
    report = job["result"]["files"][0]
    assert report["status"] == "partial" and report["documents"] == 1 and report["line_errors"][0][0] == 2
    assert api.post(f"/api/collections/{filled.pk}/upload/", {}, format="multipart").status_code == 400
    assert Job.objects.count() == 1


def test_openapi_schema_lists_the_endpoints(curator):
    schema = api_client_for(curator).get("/api/schema/?format=json").json()
    for path in ["/api/collections/", "/api/collections/{id}/upload/", "/api/documents/", "/api/samples/"]:
        assert path in schema["paths"], path
