import json

import pytest
from django.urls import reverse

from annotation import selectors, services
from annotation.models import Annotation, Assignment
from annotation.schemes import PRESETS

from .helpers import make_collection, sft_label


@pytest.fixture
def project(db, curator, annotator, annotator2):
    col = make_collection(n=4)
    return services.project_create(name="Review", collection=col, scheme=PRESETS["sft_review"], overlap=1,
                                   annotators=[annotator, annotator2], user=curator)


def test_annotator_home_lists_only_own_queue(project, annotator_client, annotator):
    r = annotator_client.get(reverse("annotation:home"))
    assert r.status_code == 200
    assert b"Review" in r.content and b"Start labelling" in r.content
    assert b"All projects" not in r.content


def test_annotator_cannot_open_others_assignment_or_project_pages(project, annotator_client, annotator2):
    other = Assignment.objects.filter(annotator=annotator2).first()
    assert annotator_client.get(reverse("annotation:label", args=[other.pk])).status_code == 404
    assert annotator_client.post(reverse("annotation:label", args=[other.pk]), sft_label()).status_code == 404
    assert annotator_client.get(reverse("annotation:project_detail", args=[project.pk])).status_code == 403
    assert annotator_client.get(reverse("annotation:project_new")).status_code == 403
    assert annotator_client.post(reverse("annotation:project_action", args=[project.pk, "adjudicate"])).status_code == 403
    item = project.items.first()
    assert annotator_client.get(reverse("annotation:adjudicate", args=[item.pk])).status_code == 403


def test_annotator_cannot_see_other_projects(db, project, annotator, annotator_client, curator, django_user_model):
    from tests.conftest import _make_user

    other_ann = _make_user(django_user_model, "annotator9", "annotator")
    other = services.project_create(name="Secret", collection=make_collection(name="other", n=2),
                                    scheme=PRESETS["intent"], overlap=1, annotators=[other_ann], user=curator)
    assert list(selectors.project_list(user=annotator)) == [project]
    assert annotator_client.get(reverse("annotation:label_next", args=[other.pk])).status_code == 404
    assert b"Secret" not in annotator_client.get(reverse("annotation:home")).content


def test_label_flow_with_validation_and_skip(project, annotator_client, annotator):
    queue = list(selectors.annotator_queue(user=annotator, project=project))
    first = queue[0]
    url = reverse("annotation:label", args=[first.pk])
    r = annotator_client.get(url)
    assert r.status_code == 200 and b"What helps with symptom" in r.content
    r = annotator_client.post(url, {"relevance": "7", "accuracy": "3", "fluency": "3", "decision": "edit",
                                    "edited_response": " "})
    assert r.status_code == 400
    assert b"Must be between 1 and 5" in r.content and b"Write the corrected response" in r.content
    assert not Annotation.objects.exists()
    r = annotator_client.post(url, {**sft_label(4, "edit"), "edited_response": "A better answer."})
    assert r.status_code == 302
    ann = Annotation.objects.get()
    assert ann.label["edited_response"] == "A better answer." and ann.lead_time is not None
    r = annotator_client.post(reverse("annotation:label", args=[queue[1].pk]), {"skip": "1"})
    assert r.status_code == 302
    assert Assignment.objects.get(pk=queue[1].pk).status == "skipped"


def test_curator_dashboard_and_adjudication(project, curator_client, curator, annotator, annotator2):
    for item in project.items.all():  # both annotators label every item (the second beyond their queue)
        for u in (annotator, annotator2):
            services.annotation_submit(item=item, annotator=u, label=sft_label(4), require_assignment=False)
    r = curator_client.get(reverse("annotation:project_detail", args=[project.pk]))
    assert r.status_code == 200
    charts = json.loads(r.content.decode().split('type="application/json">')[1].split("</script>")[0])
    assert {c["id"] for c in charts} >= {"progress", "speed", "items", "heat-decision", "label-decision",
                                         "conf-decision", "cons-relevance"}
    assert b"plotly/plotly.min.js" in r.content
    item = project.items.first()
    r = curator_client.post(reverse("annotation:adjudicate", args=[item.pk]),
                            {"method": "curator", **sft_label(2, "reject")})
    assert r.status_code == 302
    assert item.adjudication.decided_by == curator and item.adjudication.final_label["decision"] == "reject"


def test_curator_creates_project_from_form(db, curator_client, annotator, annotator2):
    col = make_collection(name="formcol", n=3)
    r = curator_client.post(reverse("annotation:project_new"), {
        "name": "Intent pass", "collection": col.pk, "target": "sample", "preset": "intent",
        "annotators": [annotator.pk, annotator2.pk], "overlap": 2, "agreement_threshold": 0.8})
    assert r.status_code == 302, r.content[:2000]
    r = curator_client.post(reverse("annotation:project_new"), {
        "name": "Bad", "collection": col.pk, "target": "sample", "preset": "custom", "scheme_json": '{"fields": []}',
        "annotators": [annotator.pk], "overlap": 1, "agreement_threshold": 0.8})
    assert r.status_code == 400 and b"Invalid scheme" in r.content


def test_webhook_rejects_bad_secret(client, settings, db):
    settings.LABEL_STUDIO_WEBHOOK_SECRET = "s3cret"
    url = reverse("annotation:labelstudio_webhook")
    assert client.post(url, "{}", content_type="application/json").status_code == 403
    assert client.post(url, "{}", content_type="application/json",
                       headers={"X-Refinery-Webhook-Secret": "wrong"}).status_code == 403
    r = client.post(url, json.dumps({"action": "PROJECT_UPDATED"}), content_type="application/json",
                    headers={"X-Refinery-Webhook-Secret": "s3cret"})
    assert r.status_code == 200 and r.json()["processed"] is True


def test_curator_marks_a_gold_item(project, curator_client, annotator, annotator2):
    item = project.items.order_by("position").last()
    r = curator_client.post(reverse("annotation:adjudicate", args=[item.pk]),
                            {"method": "make_gold", **sft_label(5, "accept")})
    assert r.status_code == 302
    item.refresh_from_db()
    assert item.is_gold and item.gold_label["relevance"] == 5
    assert set(Assignment.objects.filter(item=item).values_list("annotator_id", flat=True)) == {annotator.pk,
                                                                                               annotator2.pk}


def test_curator_overview_counts(project, curator_client, annotator):
    a = Assignment.objects.filter(annotator=annotator).first()
    services.annotation_submit(item=a.item, annotator=annotator, label=sft_label(4))
    r = curator_client.get(reverse("annotation:home"))
    assert r.status_code == 200
    p = r.context["projects"].get(pk=project.pk)
    assert (p.n_items, p.n_assigned, p.n_done, p.n_adjudicated) == (4, 4, 1, 0)
    assert b"1 / 4" in r.content


def test_webhook_keeps_the_event_when_processing_fails(client, settings, project):
    """If an event cannot be applied now it is stored with the error (the reconcile pull applies it)."""
    from annotation.models import WebhookEvent

    settings.LABEL_STUDIO_WEBHOOK_SECRET = "s3cret"
    settings.LABEL_STUDIO_URL = settings.LABEL_STUDIO_API_KEY = ""
    project.ls_project_id = 77
    project.save()
    item = project.items.first()
    item.ls_task_id = 5
    item.save()
    payload = {"action": "ANNOTATION_CREATED", "project": {"id": 77}, "task": {"id": 5},
               "annotation": {"id": 9, "task": 5, "completed_by": 3, "result": []}}
    r = client.post(reverse("annotation:labelstudio_webhook"), json.dumps(payload), content_type="application/json",
                    headers={"X-Refinery-Webhook-Secret": "s3cret"})
    assert r.status_code == 202 and r.json()["processed"] is False
    event = WebhookEvent.objects.get()
    assert event.payload == payload and not event.processed and "LABEL_STUDIO_URL" in event.error


def test_default_webhook_secret_is_an_hmac_that_reveals_nothing_of_secret_key():
    """Label Studio (no roles: every user of it can read a project's webhooks) gets this secret."""
    import hashlib
    import hmac
    import os
    import subprocess
    import sys
    from pathlib import Path

    key = "Refinery-test-SECRET_KEY-" + "x7Qp" * 12
    code = "import django; django.setup(); from django.conf import settings; print(settings.LABEL_STUDIO_WEBHOOK_SECRET)"

    def secret(**extra):
        env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "refinery.settings", "SECRET_KEY": key,
               "LABEL_STUDIO_WEBHOOK_SECRET": "", **extra}
        r = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    derived = secret()
    assert derived == hmac.new(key.encode(), b"refinery:label-studio-webhook-secret:v1", hashlib.sha256).hexdigest()
    assert not any(key[i:i + 6] in derived for i in range(len(key) - 5))  # no piece of SECRET_KEY in it
    assert secret(SECRET_KEY=key + "!") != derived  # still tied to this installation's key
    assert secret(LABEL_STUDIO_WEBHOOK_SECRET="explicit-shared-secret") == "explicit-shared-secret"


def _charts(response) -> dict:
    specs = json.loads(response.content.decode().split('type="application/json">')[1].split("</script>")[0])
    return {c["id"]: c["spec"] for c in specs}


def test_dashboard_chart_values(project, curator_client, annotator, annotator2):
    """The figures behind the charts, checked against hand counts and scikit-learn / krippendorff."""
    import krippendorff
    import numpy as np
    from sklearn.metrics import cohen_kappa_score

    items = list(project.items.order_by("position"))
    a1 = [(4, "accept", 2), (4, "accept", 4), (4, "reject", 6), (4, "accept", 8)]  # rating, decision, seconds
    a2 = [(4, "accept", 10), (4, "reject", 10), (2, "reject", 30), (5, "accept", 30)]
    for user, rows in ((annotator, a1), (annotator2, a2)):
        for item, (rating, decision, seconds) in zip(items, rows):
            services.annotation_submit(item=item, annotator=user, label=sft_label(rating, decision),
                                       lead_time=seconds, require_assignment=False)
    charts = _charts(curator_client.get(reverse("annotation:project_detail", args=[project.pk])))

    progress = {trace["name"]: trace["y"] for trace in charts["progress"]["data"]}
    assert charts["progress"]["data"][0]["x"] == ["annotator1", "annotator2"]
    assert progress == {"done": [4, 4], "skipped": [0, 0], "pending": [0, 0]}
    assert charts["speed"]["data"][0]["y"] == [6.0, 30.0]  # median seconds per item

    d1, d2 = [r[1] for r in a1], [r[1] for r in a2]
    kappa = cohen_kappa_score(d1, d2)
    z = charts["heat-decision"]["data"][0]["z"]
    assert z[0][0] == z[1][1] == 1.0 and z[0][1] == z[1][0] == pytest.approx(kappa, abs=1e-3)
    r1, r2 = [r[0] for r in a1], [r[0] for r in a2]
    zr = charts["heat-relevance"]["data"][0]["z"]
    assert zr[0][1] == pytest.approx(cohen_kappa_score(r1, r2, weights="quadratic", labels=[1, 2, 3, 4, 5]), abs=1e-3)

    conf = charts["conf-decision"]["data"][0]
    assert conf["x"] == ["accept", "reject", "edit"]
    # pairs (accept, accept) ×2, (accept, reject) ×1, (reject, reject) ×1, counted both ways
    assert conf["z"] == [[4, 1, 0], [1, 2, 0], [0, 0, 0]]

    per_label = dict(zip(charts["label-decision"]["data"][0]["x"], charts["label-decision"]["data"][0]["y"]))
    for lab in ("accept", "reject"):
        ref = krippendorff.alpha(reliability_data=np.array([[d == lab for d in d1], [d == lab for d in d2]], float),
                                 level_of_measurement="nominal")
        assert per_label[lab] == pytest.approx(ref, abs=1e-6)
    assert per_label["edit"] is None  # nobody used it

    # item agreement: mean over the four fields of the pair's agreement (ratings: 1 - d² / 16)
    assert sorted(charts["items"]["data"][0]["x"]) == pytest.approx([0.75, (3 * 0.75 + 1) / 4, (3 * 15 / 16 + 1) / 4, 1.0])
    assert charts["items"]["layout"]["shapes"][0]["x0"] == 0.8
    cons = {trace["name"]: dict(zip(trace["x"], trace["y"])) for trace in charts["cons-relevance"]["data"]}
    assert cons["accuracy vs consensus"] == {"annotator1": 0.5, "annotator2": 0.5}


def test_home_lists_projects_below_the_gate_and_the_curator_accepts_one(project, curator_client, annotator,
                                                                        annotator2):
    items = list(project.items.order_by("position"))
    for item, (r1, r2) in zip(items, ((5, 1), (1, 5), (4, 4), (2, 5))):
        services.annotation_submit(item=item, annotator=annotator, label=sft_label(r1), require_assignment=False)
        services.annotation_submit(item=item, annotator=annotator2, label=sft_label(r2), require_assignment=False)
    r = curator_client.get(reverse("annotation:home"))
    page = r.content.decode()
    [entry] = r.context["review_queue"]
    assert entry["project"] == project and entry["gate"].value < 0.8
    assert f"α <span class=\"gate-value\">{entry['gate'].value:.3f}</span> &lt; gate 0.8" in page
    assert "relevance (ordinal α" in page and "Krippendorff" in page
    assert reverse("annotation:adjudicate", args=[items[0].pk]) in page  # its low-agreement items are linked
    detail = curator_client.get(reverse("annotation:project_detail", args=[project.pk])).content.decode()
    assert "below: in review" in detail and "ordinal" in detail and "nominal" in detail
    # the bulk vote refuses; the curator accepts the project with a reason
    r = curator_client.post(reverse("annotation:project_action", args=[project.pk, "adjudicate"]), follow=True)
    assert b"nothing was decided by majority" in r.content
    r = curator_client.post(reverse("annotation:project_action", args=[project.pk, "accept_gate"]), {"note": ""},
                            follow=True)
    assert b"note is required" in r.content
    r = curator_client.post(reverse("annotation:project_action", args=[project.pk, "accept_gate"]),
                            {"note": "ratings calibrated later"}, follow=True)
    assert b"Accepted below the gate by curator" in r.content and "ratings calibrated later" in r.content.decode()
    assert curator_client.get(reverse("annotation:home")).context["review_queue"] == []


def test_annotators_cannot_accept_a_project_below_the_gate(project, annotator_client):
    url = reverse("annotation:project_action", args=[project.pk, "accept_gate"])
    assert annotator_client.post(url, {"note": "x"}).status_code == 403
    project.refresh_from_db()
    assert project.gate_accepted_at is None
