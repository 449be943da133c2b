import pytest

from annotation import services
from annotation.models import Annotation, Assignment
from annotation.schemes import PRESETS
from tests.conftest import api_client_for

from .helpers import make_collection, sft_label


@pytest.fixture
def project(db, curator, annotator, annotator2):
    return services.project_create(name="API review", collection=make_collection(n=4), scheme=PRESETS["sft_review"],
                                   overlap=1, annotators=[annotator, annotator2], user=curator)


def test_annotator_api_sees_only_own_queue_and_submits(project, annotator, annotator2):
    api = api_client_for(annotator)
    rows = api.get("/api/assignments/").json()
    rows = rows.get("results", rows)
    mine = set(Assignment.objects.filter(annotator=annotator).values_list("id", flat=True))
    assert {r["id"] for r in rows} == mine and rows[0]["text"].startswith("user:")
    other = Assignment.objects.filter(annotator=annotator2).first()
    assert api.get(f"/api/assignments/{other.pk}/").status_code == 404
    assert api.post(f"/api/assignments/{other.pk}/annotate/", {"label": sft_label()}, format="json").status_code == 404
    r = api.post(f"/api/assignments/{rows[0]['id']}/annotate/", {"label": {"relevance": 0}}, format="json")
    assert r.status_code == 400 and set(r.json()["errors"]) >= {"relevance", "accuracy", "decision"}
    r = api.post(f"/api/assignments/{rows[0]['id']}/annotate/", {"label": sft_label(3), "lead_time": 4},
                 format="json")
    assert r.status_code == 201 and Annotation.objects.get().source == "api"


def test_agreement_report_and_project_writes_are_curator_only(project, annotator, curator):
    api = api_client_for(annotator)
    assert api.get(f"/api/labeling-projects/{project.pk}/agreement/").status_code == 403
    assert api.post(f"/api/labeling-projects/{project.pk}/adjudicate/").status_code == 403
    assert api.post("/api/labeling-projects/", {}, format="json").status_code == 403
    listed = api.get("/api/labeling-projects/").json()
    assert [p["id"] for p in listed.get("results", listed)] == [project.pk]
    for a in Assignment.objects.all():
        services.annotation_submit(item=a.item, annotator=a.annotator, label=sft_label(4))
    cur = api_client_for(curator)
    report = cur.get(f"/api/labeling-projects/{project.pk}/agreement/").json()
    assert [f["field"] for f in report["fields"]] == ["relevance", "accuracy", "fluency", "decision"]


def test_curator_creates_project_via_api(db, curator, annotator, annotator2):
    col = make_collection(name="apicol", n=3)
    cur = api_client_for(curator)
    first = col.samples.order_by("id").first()
    r = cur.post("/api/labeling-projects/", {"name": "Intent", "collection": col.name, "scheme": PRESETS["intent"],
                                              "overlap": 1, "annotators": ["annotator1", "annotator2"],
                                              "gold": {str(first.pk): {"intent": "question"}}}, format="json")
    assert r.status_code == 201, r.content
    # 2 ordinary items × 1 annotator + the gold item for both
    assert Assignment.objects.filter(item__project_id=r.json()["id"]).count() == 4
    r = cur.post("/api/labeling-projects/", {"name": "Bad", "collection": col.name,
                                              "scheme": {"fields": [{"name": "x", "type": "nope"}]},
                                              "annotators": ["annotator1"], "overlap": 1}, format="json")
    assert r.status_code == 400 and "type must be one of" in r.json()["detail"]
