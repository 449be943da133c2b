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


def _form(version, **over) -> dict:
    """The run form as the page pre-fills it, for ``version``, with some fields changed."""
    from training.forms_runs import RunForm

    data = {**RunForm.initial_for(svc.run_user_config({})), "dataset_version": version.pk}
    data.update(over)
    if data.get("packing") is True:
        data["packing"] = "on"
    elif data.get("packing") is False:
        data.pop("packing")
    return data


@pytest.mark.django_db
def test_run_form_fields_override_yaml_and_errors_name_the_field(curator_client, version):
    url = reverse("training:run_new")
    page = curator_client.get(url + f"?version={version.pk}").content.decode()
    for name in ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "learning_rate", "epochs",
                 "max_steps", "batch_size", "grad_accum", "max_seq_len", "packing", "seed", "method"):
        assert f'name="{name}"' in page, name
    assert 'value="16"' in page and 'value="q_proj, v_proj"' in page  # the defaults, as field values
    assert "lora_r" not in page.split('name="config"')[1].split("</textarea>")[0]  # YAML holds only the rest
    assert "label_smoothing: 0.0" in page

    # a field's own range check, shown on that field
    r = curator_client.post(url, _form(version, lora_r=0))
    assert r.status_code == 400
    html = r.content.decode()
    assert "LoRA r: Ensure this value is greater than or equal to 1." in html
    # cross-field rules from the trainer's config check land on the field they are about
    r = curator_client.post(url, _form(version, method="qlora"))
    assert r.status_code == 400 and "Method: method qlora needs" in r.content.decode()
    r = curator_client.post(url, _form(version, max_steps=0, epochs=0))
    assert r.status_code == 400 and "Max steps: epochs or max_steps must be &gt; 0" in r.content.decode()
    # YAML errors land on the YAML box
    r = curator_client.post(url, _form(version, config="lora_rank: 4\n"))
    assert r.status_code == 400 and "Other settings (YAML): Unknown setting(s): lora_rank" in r.content.decode()
    r = curator_client.post(url, _form(version, config="lora: [1, 2\n"))
    assert r.status_code == 400 and "Other settings (YAML): YAML:" in r.content.decode()
    r = curator_client.post(url, _form(version, base_model="no-such-model"))
    assert r.status_code == 400 and b"Unknown base model" in r.content
    r = curator_client.post(url, _form(version, dataset_version=""))
    assert r.status_code == 400 and b"Pick a ready dataset version." in r.content
    assert not TrainingRun.objects.exists()

    # valid: fields win over the same keys in the YAML, the YAML supplies the rest
    r = curator_client.post(url, _form(version, lora_r=8, lora_target_modules="all-linear", learning_rate=3e-4,
                                       max_steps=7, packing=False, seed=5,
                                       config="label_smoothing: 0.1\nlora:\n  r: 64\n  layers: [0, 2]\n"))
    run = TrainingRun.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("training:run_detail", args=[run.pk])
    c = run.config
    assert (c["lora"]["r"], c["lora"]["target_modules"], c["lora"]["layers"]) == (8, "all-linear", [0, 2])
    assert (c["learning_rate"], c["max_steps"], c["packing"], c["seed"], c["label_smoothing"]) == (3e-4, 7, False, 5, 0.1)
    written = json.loads((run.folder / "config.json").read_text())
    assert written["lora"]["r"] == 8 and written["label_smoothing"] == 0.1


@pytest.mark.django_db
def test_run_form_live_preview_shows_the_effective_settings(curator_client, version):
    url = reverse("training:run_new_preview")
    html = curator_client.get(url, _form(version, lora_r=4, config="lora:\n  r: 64\nweight_decay: 0.2\n")).content.decode()
    assert 'id="config-effective"' in html and "r: 4" in html and "weight_decay: 0.2" in html and "r: 64" not in html
    html = curator_client.get(url, _form(version, dataset_version="", lora_dropout=1.5)).content.decode()
    assert 'id="config-errors"' in html and "LoRA dropout: Ensure this value is less than or equal to 0.99." in html
    html = curator_client.get(url, _form(version, config="scheduler: wavy\n")).content.decode()
    assert "scheduler: one of cosine, linear, constant" in html


@pytest.mark.django_db
def test_progress_json_condenses_the_log(curator_client, version, curator):
    run = svc.run_create(dataset_version=version, user=curator, config={"max_steps": 2})
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.RUNNING)
    (run.folder / "log.jsonl").write_text("\n".join(json.dumps(e) for e in [
        {"event": "start", "total_steps": 2},
        {"event": "eval_before", "loss": 3.0},
        {"event": "train", "step": 1, "total_steps": 2, "loss": 2.5, "lr": 1e-4, "tokens_per_s": 50.0, "eta_s": 4.0},
        {"event": "eval", "step": 1, "loss": 2.2},
        {"event": "warning", "message": "The tokenizer has no chat template; using ChatML."},
    ]) + "\n" + '{"event": "train", "step": 2')  # a half-written last line is ignored
    d = curator_client.get(reverse("training:run_progress", args=[run.pk])).json()
    assert d["active"] and d["step"] == 1 and d["total_steps"] == 2 and d["tokens_per_s"] == 50.0 and d["eta_s"] == 4.0
    assert d["train"] == {"step": [1], "loss": [2.5]} and d["eval"] == {"step": [1], "loss": [2.2]}
    assert d["eval_before"]["loss"] == 3.0
    assert d["warnings"] == ["The tokenizer has no chat template; using ChatML."]
    # killed after step 2 and resumed from the step-1 checkpoint: steps 2 and 3 were logged, then replayed —
    # the chart shows each step once, with its last value
    with (run.folder / "log.jsonl").open("a") as fh:
        fh.write(', "total_steps": 3, "loss": 2.0}\n' + "\n".join(json.dumps(e) for e in [
            {"event": "train", "step": 3, "total_steps": 3, "loss": 1.9},
            {"event": "resume", "step": 1},
            {"event": "start", "total_steps": 3},
            {"event": "warning", "message": "The tokenizer has no chat template; using ChatML."},
            {"event": "train", "step": 2, "total_steps": 3, "loss": 2.1},
            {"event": "eval", "step": 2, "loss": 2.05},
            {"event": "train", "step": 3, "total_steps": 3, "loss": 1.8},
        ]) + "\n")
    d = curator_client.get(reverse("training:run_progress", args=[run.pk])).json()
    assert d["train"] == {"step": [1, 2, 3], "loss": [2.5, 2.1, 1.8]}
    assert d["eval"] == {"step": [1, 2], "loss": [2.2, 2.05]} and d["step"] == 3
    assert d["warnings"] == ["The tokenizer has no chat template; using ChatML."]
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
