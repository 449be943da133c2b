"""Run / adapter pages and serving: role checks, forms, live-progress JSON, label preview."""
import json

import pytest
from django.urls import reverse

from training.models import Adapter, TrainingRun
from training.services import runs as svc

PAGES = ["training:run_list", "training:run_new", "training:adapter_list", "training:playground", "training:run_compare"]


@pytest.mark.django_db
def test_annotators_and_anonymous_are_refused(annotator_client, client, version):
    run = svc.run_create(dataset_version=version, config={"max_steps": 1})
    urls = [reverse(n) for n in PAGES] + [reverse("training:run_detail", args=[run.pk]),
                                          reverse("training:run_progress", args=[run.pk]),
                                          reverse("training:label_preview", args=[version.pk]),
                                          reverse("training:layer_importance", args=[version.pk])]
    for url in urls:
        assert annotator_client.get(url).status_code == 403, url
        assert client.get(url).status_code == 302, url  # to the login page
    assert annotator_client.post(reverse("training:run_quickstart", args=[version.pk])).status_code == 403
    assert annotator_client.post(reverse("training:run_cancel", args=[run.pk])).status_code == 403
    assert client.post("/v1/chat/completions", {}, content_type="application/json").status_code == 401
    assert annotator_client.post("/v1/chat/completions", {}, content_type="application/json").status_code == 403
    assert annotator_client.get("/v1/models").status_code == 403


@pytest.mark.django_db
def test_curator_pages_render(curator_client, version):
    for name in PAGES:
        assert curator_client.get(reverse(name)).status_code == 200, name
    r = curator_client.get(reverse("training:run_new") + "?layers=3,5")
    assert b"- 3" in r.content and b"- 5" in r.content  # layer suggestion applied to the YAML


@pytest.mark.django_db
def test_run_form_rejects_bad_settings_with_the_field_name(curator_client, version):
    r = curator_client.post(reverse("training:run_new"), {"dataset_version": version.pk, "base_model": "smollm2-135m-instruct",
                                                          "config": "lora:\n  r: 0\n"})
    assert r.status_code == 400 and b"lora.r: must be" in r.content
    r = curator_client.post(reverse("training:run_new"), {"dataset_version": version.pk, "base_model": "no-such-model",
                                                          "config": "max_steps: 2\n"})
    assert r.status_code == 400 and b"Unknown base model" in r.content
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db
def test_progress_json_condenses_the_log(curator_client, version, curator):
    run = svc.run_create(dataset_version=version, user=curator, config={"max_steps": 2})
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.RUNNING)
    (run.folder / "log.jsonl").write_text("\n".join(json.dumps(e) for e in [
        {"event": "start", "total_steps": 2},
        {"event": "eval_before", "loss": 3.0},
        {"event": "train", "step": 1, "total_steps": 2, "loss": 2.5, "lr": 1e-4, "tokens_per_s": 50.0, "eta_s": 4.0},
        {"event": "eval", "step": 1, "loss": 2.2},
    ]) + "\n" + '{"event": "train", "step": 2')  # a half-written last line is ignored
    d = curator_client.get(reverse("training:run_progress", args=[run.pk])).json()
    assert d["active"] and d["step"] == 1 and d["total_steps"] == 2 and d["tokens_per_s"] == 50.0 and d["eta_s"] == 4.0
    assert d["train"] == {"step": [1], "loss": [2.5]} and d["eval"] == {"step": [1], "loss": [2.2]}
    assert d["eval_before"]["loss"] == 3.0
    page = curator_client.get(reverse("training:run_detail", args=[run.pk]))
    assert page.status_code == 200 and b"loss-chart" in page.content and b"plotly" in page.content


@pytest.mark.django_db
def test_label_preview_marks_only_assistant_tokens(curator_client, version):
    r = curator_client.get(reverse("training:label_preview", args=[version.pk]))
    assert r.status_code == 200
    html = r.content.decode()
    loss_spans = html.count('data-loss="1"')
    assert loss_spans > 0 and "Refinery" in html
    assert html.count("sample-preview") == 5


@pytest.mark.django_db
def test_registry_keeps_last_three_and_rolls_back(version, curator, settings):
    from pathlib import Path

    adapters = []
    for i in range(5):
        run = svc.run_create(dataset_version=version, user=curator, config={"max_steps": 1})
        src = run.folder / "adapter"
        src.mkdir()
        (src / "adapter_config.json").write_text("{}")
        TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.SUCCEEDED)
        run.refresh_from_db()
        adapters.append(svc.adapter_register(run=run, result={"adapter_path": str(src), "step": 1}))
        if i == 0:
            svc.adapter_promote(adapter=adapters[0], user=curator)
    states = {a.number: (a.status, a.promoted) for a in Adapter.objects.all()}
    # a1 promoted (kept), a2 archived (oldest unpromoted beyond 3), a3..a5 kept
    assert states == {1: ("ready", True), 2: ("archived", False), 3: ("ready", False), 4: ("ready", False), 5: ("ready", False)}
    assert not Path(Adapter.objects.get(number=2).folder).exists()
    a5 = Adapter.objects.get(number=5)
    svc.adapter_promote(adapter=a5, user=curator)
    back = svc.adapter_rollback(collection=version.collection, user=curator)
    assert back.number == 1 and Adapter.objects.get(promoted=True).number == 1
    with pytest.raises(svc.RunError, match="No earlier promoted adapter"):
        svc.adapter_rollback(collection=version.collection, user=curator)


@pytest.mark.slow
@pytest.mark.django_db
def test_layer_importance_job_charts_and_suggests_layers(curator_client, version, curator,
                                                        django_capture_on_commit_callbacks):
    from training.models import LayerImportance
    from training.trainer.importance import suggest_layers

    assert suggest_layers([1.0, 5.0, 1.0, 3.0]) == [1]
    assert suggest_layers([1.0, 5.0, 1.0, 3.0], coverage=0.8) == [1, 3]
    with django_capture_on_commit_callbacks(execute=True):  # the job runs (immediate backend) on commit
        r = curator_client.post(reverse("training:layer_importance", args=[version.pk]))
    assert r.status_code == 302
    report = LayerImportance.objects.get()
    assert report.job.status == "succeeded", report.job.error
    assert len(report.scores) == 30 and all(s > 0 for s in report.scores)
    assert report.suggested_layers and set(report.suggested_layers) <= set(range(30))
    page = curator_client.get(reverse("training:layer_importance", args=[version.pk]))
    assert b"layer-chart" in page.content
    assert f"layers={','.join(map(str, report.suggested_layers))}".encode() in page.content


@pytest.mark.django_db
def test_runs_api_validates_and_checks_roles(curator, annotator, version):
    from tests.conftest import api_client_for

    api = api_client_for(curator)
    r = api.post("/api/training-runs/", {"dataset_version": version.pk, "config": {"lora": {"r": "big"}}}, format="json")
    assert r.status_code == 400 and "lora.r" in r.json()["detail"]
    r = api.post("/api/training-runs/", {"dataset_version": 999}, format="json")
    assert r.status_code == 400 and "dataset_version" in r.json()
    run = svc.run_create(dataset_version=version, config={"max_steps": 1})
    r = api.get(f"/api/training-runs/{run.pk}/")
    assert r.status_code == 200 and r.json()["config"]["max_steps"] == 1 and r.json()["adapter_id"] is None
    assert api.post(f"/api/training-runs/{run.pk}/resume/").status_code == 400  # no checkpoint yet
    assert api_client_for(annotator).get("/api/training-runs/").status_code == 403


@pytest.mark.django_db
def test_human_evaluation_form_validates_and_averages(curator_client, version, curator):
    run = svc.run_create(dataset_version=version, user=curator, config={"max_steps": 1})
    src = run.folder / "adapter"
    src.mkdir()
    (src / "adapter_config.json").write_text("{}")
    adapter = svc.adapter_register(run=run, result={"adapter_path": str(src)})
    url = reverse("training:adapter_detail", args=[adapter.pk])
    form = {"prompt": "Colour of sky?", "response": "Refinery code BLUE.", "relevance": 5, "accuracy": 4, "fluency": 3}
    assert curator_client.post(url, form).status_code == 302
    assert curator_client.post(url, {**form, "relevance": 2, "accuracy": 2, "fluency": 5}).status_code == 302
    r = curator_client.post(url, {**form, "fluency": 9}, follow=True)
    assert b"fluency: a score from 1 to 5" in r.content
    assert adapter.human_evals.count() == 2
    page = curator_client.get(url).content.decode()
    assert "3.5" in page and "3.0" in page and "4.0" in page  # relevance, accuracy, fluency means
