"""REST API for pipeline configs and runs: validation, run through the job, rejections, roles."""
from __future__ import annotations

import pytest

from curation.models import Collection, Document, PipelineRun
from tests.conftest import api_client_for

from .corpus import corpus


@pytest.fixture
def collection(db):
    coll = Collection.objects.create(name="cs")
    for i, rec in enumerate(corpus(30)):
        Document.objects.create(collection=coll, record_index=i, text=rec["text"], content_hash=str(i))
    return coll


@pytest.mark.django_db
def test_config_create_validate_run_and_read_rejections(curator, collection, django_capture_on_commit_callbacks):
    api = api_client_for(curator)
    bad = api.post("/api/pipeline-configs/", {"collection": "cs", "name": "x", "steps": [{"step": "nope"}]}, format="json")
    assert bad.status_code == 400 and "Valid steps:" in bad.json()["steps"][0]
    resp = api.post("/api/pipeline-configs/", {"collection": "cs", "name": "basic",
                                               "yaml": "steps:\n  - normalize\n  - length: {min_words: 4}\n  - exact_dedup\n"},
                    format="json")
    assert resp.status_code == 201, resp.content
    cfg = resp.json()
    assert [s["step"] for s in cfg["steps"]] == ["normalize", "length", "exact_dedup"]
    bad_exec = api.post(f"/api/pipeline-configs/{cfg['id']}/run/", {"executor": "spark"}, format="json")
    assert bad_exec.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"/api/pipeline-configs/{cfg['id']}/run/", {"executor": "local"}, format="json")
    assert started.status_code == 202 and started.json()["status"] == "queued"
    run = api.get(f"/api/pipeline-runs/{started.json()['id']}/").json()
    assert run["status"] == "succeeded" and run["n_input"] == 30 and run["report"]["steps"][1]["step"] == "length"
    rej = api.get(f"/api/pipeline-runs/{run['id']}/rejections/", {"reason": "too_short"}).json()
    assert rej["count"] == run["report"]["steps"][1]["dropped"] > 0
    assert all(r["step"] == "length" and r["record_id"].startswith("d") for r in rej["results"])
    patched = api.patch(f"/api/pipeline-configs/{cfg['id']}/", {"steps": ["normalize", {"length": {"max_wordz": 1}}]}, format="json")
    assert patched.status_code == 400 and "Valid options:" in patched.json()["steps"][0]
    assert api.get("/api/pipeline-runs/", {"collection": "cs"}).json()["count"] == 1


@pytest.mark.django_db
def test_annotators_get_403(annotator, collection):
    api = api_client_for(annotator)
    assert api.get("/api/pipeline-configs/").status_code == 403
    assert api.get("/api/pipeline-runs/").status_code == 403
    assert api.post("/api/pipeline-configs/", {"collection": "cs", "name": "x", "steps": ["normalize"]},
                    format="json").status_code == 403
    assert PipelineRun.objects.count() == 0
