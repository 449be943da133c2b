"""Dataset pages and API: curators create, browse, download and diff versions; annotators are refused."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.urls import reverse

from tests.conftest import api_client_for
from training.export.base import iter_jsonl
from training.models import DatasetVersion, EvaluationSet
from training.services.datasets import dataset_version_create


def _form(collection, **extra):
    data = {"collection": collection.pk, "seed": 13, "validation_ratio": 0.1, "test_ratio": 0.1, "cot": "keep",
            "ngram": 8, "max_overlap": 0.5}
    data.update(extra)
    return data


def test_create_form_preview_and_job(curator_client, collection, django_capture_on_commit_callbacks):
    r = curator_client.get(reverse("training:dataset_create"))
    assert r.status_code == 200 and b"Create version" in r.content
    r = curator_client.get(reverse("training:dataset_preview"), _form(collection, languages="zh"), HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and b'id="preview-count">33<' in r.content
    r = curator_client.get(reverse("training:dataset_preview"), _form(collection, origins=["scraped"]))
    assert b"preview-error" in r.content and b"origins" in r.content
    r = curator_client.get(reverse("training:dataset_preview"), _form(collection, validation_ratio=0.6, test_ratio=0.5))
    assert b"validation_ratio + test_ratio" in r.content
    with django_capture_on_commit_callbacks(execute=True):
        r = curator_client.post(reverse("training:dataset_create"), _form(collection, origins=["ingested"], notes="first"))
    assert r.status_code == 302 and "/jobs/" in r.url
    version = DatasetVersion.objects.get()
    assert version.name == "v1" and version.notes == "first" and version.created_by.username == "curator"
    assert version.spec["origins"] == ["ingested"]
    from refinery.models import Job
    job = Job.objects.get(kind="training.dataset_create")
    assert job.status == "succeeded" and job.result["version_id"] == version.pk


def test_detail_samples_download_diff(curator_client, collection, curator):
    v1 = dataset_version_create(collection=collection, spec={}, user=curator)
    v2 = dataset_version_create(collection=collection, spec={"languages": "en"}, user=curator)
    r = curator_client.get(reverse("training:dataset_detail", args=[v2.pk]))
    body = r.content.decode()
    assert r.status_code == 200 and "clinic v2" in body
    assert 'id="chart-splits"' in body and "plotly/plotly.min.js" in body and 'id="chart-language"' in body
    assert body.count('class="card sample"') == 10
    # "Train on this version": a POST form to the training area's quickstart URL
    quickstart = reverse("training:run_quickstart", args=[v2.pk])
    assert f'action="{quickstart}"' in body and 'id="train-form"' in body
    r = curator_client.get(reverse("training:dataset_samples", args=[v2.pk]), {"split": "test", "page": 1})
    assert r.content.decode().count('class="card sample"') == v2.n_test
    r = curator_client.get(reverse("training:dataset_download", args=[v1.pk]))
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    names = zf.namelist()
    assert "clinic-v1/data/train.jsonl" in names and "clinic-v1/manifest.json" in names
    assert json.loads(zf.read("clinic-v1/manifest.json"))["name"] == "v1"
    r = curator_client.get(reverse("training:dataset_diff", args=[v2.pk]), {"other": v1.pk})
    body = r.content.decode()
    assert r.status_code == 200 and "v1 → v2" in body and 'id="diff-stats"' in body
    # the language distribution side by side: zh disappears in v2
    assert "<td>zh</td><td>" in body and "<td>0 <span class=\"badge\">changed</span></td>" in body
    # v2 keeps only English samples: the Chinese ones are "removed"
    n_zh = sum(1 for s in ("train", "validation", "test") for r in iter_jsonl(v1.split_file(s))
               if r["meta"]["language"] == "zh")
    assert f'<div class="stat">{n_zh}</div><div class="stat-label">removed</div>' in body
    r = curator_client.get(reverse("training:dataset_diff", args=[v2.pk]), {"other": "x"})
    assert r.status_code == 302


def test_user_text_is_escaped(curator_client, collection, curator):
    from .conftest import make_sample, qa

    make_sample(collection, qa("<script>alert(1)</script> what?", "<b>bold</b> answer"), origin="built",
                language="en", domain="medical")
    v = dataset_version_create(collection=collection, spec={"origins": "built"}, user=curator)
    body = "".join(curator_client.get(reverse("training:dataset_samples", args=[v.pk]), {"split": s}).content.decode()
                   for s in ("train", "validation", "test"))
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body


def test_eval_set_upload(curator_client, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    f = SimpleUploadedFile("bench.jsonl", b'{"question": "q1", "answer": "a1"}\n{"prompt": "q2"}\n')
    r = curator_client.post(reverse("training:evalset_list"), {"name": "bench", "file": f})
    assert r.status_code == 302
    assert EvaluationSet.objects.get().n_items == 2
    bad = SimpleUploadedFile("bad.jsonl", b'{"question": "q1"}\nnot json\n')
    r = curator_client.post(reverse("training:evalset_list"), {"name": "bad", "file": bad})
    assert r.status_code == 200 and b"bad.jsonl line 2: not valid JSON" in r.content
    assert EvaluationSet.objects.count() == 1


def test_annotator_cannot_create_or_download(annotator_client, annotator, collection, curator):
    v = dataset_version_create(collection=collection, spec={}, user=curator)
    for name, args in (("dataset_list", []), ("dataset_create", []), ("dataset_detail", [v.pk]),
                       ("dataset_download", [v.pk]), ("dataset_samples", [v.pk]), ("evalset_list", [])):
        assert annotator_client.get(reverse(f"training:{name}", args=args)).status_code == 403, name
    r = annotator_client.post(reverse("training:dataset_create"), _form(collection))
    assert r.status_code == 403
    r = annotator_client.post(reverse("training:dataset_create_default", args=[collection.pk]))
    assert r.status_code == 403
    v2 = dataset_version_create(collection=collection, spec={"seed": 2}, user=curator)
    assert annotator_client.get(reverse("training:dataset_diff", args=[v2.pk]), {"other": v.pk}).status_code == 403
    api = api_client_for(annotator)
    assert api.get(f"/api/datasets/{v2.pk}/diff/", {"other": v.pk}).status_code == 403
    assert api.get("/api/datasets/").status_code == 403
    assert api.post("/api/datasets/", {"collection": "clinic"}, format="json").status_code == 403
    assert api.get(f"/api/datasets/{v.pk}/download/").status_code == 403
    assert DatasetVersion.objects.count() == 2
    assert not v.zip_file.exists()


def test_api_create_list_diff_download(curator, collection, django_capture_on_commit_callbacks):
    api = api_client_for(curator)
    r = api.post("/api/datasets/", {"collection": "clinic", "spec": {"origins": "scraped"}}, format="json")
    assert r.status_code == 400 and "origins" in r.json()["spec"]
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post("/api/datasets/", {"collection": "clinic", "spec": {"seed": 5}}, format="json")
    assert r.status_code == 202
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/datasets/", {"collection": "clinic", "spec": {"seed": 6}}, format="json")
    r = api.get("/api/datasets/", {"collection": "clinic"})
    rows = r.json()
    rows = rows.get("results", rows) if isinstance(rows, dict) else rows
    assert [row["name"] for row in rows] == ["v2", "v1"]
    v1, v2 = rows[1]["id"], rows[0]["id"]
    d = api.get(f"/api/datasets/{v2}/diff/", {"other": v1}).json()
    # the same samples, other splits: only samples one seed leaves out (augmented from a sample it holds out,
    # contaminated) are added or removed
    left_out = [{e["id"] for e in m["excluded_samples"] + m["decontamination"]["excluded"]}
                for m in (DatasetVersion.objects.get(pk=pk).manifest for pk in (v1, v2))]
    assert d["a"] == "v1" and d["counts"]["moved"] > 0
    assert d["counts"]["added"] == len(left_out[0] - left_out[1]) and d["counts"]["removed"] == len(left_out[1] - left_out[0])
    r = api.get(f"/api/datasets/{v1}/download/")
    assert r.status_code == 200 and zipfile.is_zipfile(io.BytesIO(b"".join(r.streaming_content)))


@pytest.mark.parametrize("url", ["/datasets/", "/datasets/new/"])
def test_login_required(client, db, url):
    r = client.get(url)
    assert r.status_code == 302 and "/login/" in r.url
