"""Adapters with the real bundled SmolLM2: the playground answers (base and adapter side by side), feedback
becomes candidate samples except a bare thumbs-down, download gives a loadable adapter, and the comparison
page scores adapters trained on two dataset versions on one common evaluation set."""
import io
import json
import zipfile

import pytest
import torch
from django.urls import reverse

from curation.models import Sample
from training.basemodels import bundled_model_ensure
from training.models import Adapter, AdapterComparison, PlaygroundFeedback, TrainingRun
from training.services import runs as svc
from training.trainer.config import LoraSettings
from training.trainer.modeling import add_lora, load_model, load_tokenizer

from .conftest import FAST_CONFIG, learnable_records, make_version


@pytest.fixture
def adapter(version, curator):
    """A real (untrained, randomly initialised B≠0) LoRA adapter of the bundled base, registered like a run's."""
    run = svc.run_create(dataset_version=version, user=curator, config={"max_steps": 1})
    torch.manual_seed(0)
    model = add_lora(load_model(bundled_model_ensure()), LoraSettings(r=4, alpha=8))
    with torch.no_grad():  # LoRA starts as a no-op (B = 0); give it weights so it differs from the base
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.02)
    src = run.folder / "adapter"
    model.save_pretrained(src)
    load_tokenizer(bundled_model_ensure())[0].save_pretrained(src)
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.SUCCEEDED)
    run.refresh_from_db()
    return svc.adapter_register(run=run, result={"adapter_path": str(src), "step": 1, "method": "lora"})


PROMPT = [{"role": "user", "content": "Colour of sky?"}]


@pytest.mark.slow
@pytest.mark.django_db
def test_playground_renders_answers_and_feedback(curator_client, adapter, curator):
    url = reverse("training:playground")
    page = curator_client.get(url).content.decode()
    assert 'id="playground-form"' in page and adapter.collection.name in page
    r = curator_client.post(url, {"adapter": adapter.pk, "prompt": "Colour of sky?", "system": ""})
    html = r.content.decode()
    assert r.status_code == 200 and 'id="base-reply"' in html and 'id="adapter-reply"' in html
    base_reply = html.split('id="base-reply">')[1].split("</div>")[0].strip()
    adapter_reply = html.split('id="adapter-reply">')[1].split("</div>")[0].strip()
    assert base_reply and adapter_reply
    assert 'id="feedback-form"' in html and 'name="rating" value="down"' in html
    r = curator_client.post(url, {"adapter": adapter.pk, "prompt": "   "})
    assert "Type a prompt." in r.content.decode()

    fb_url = reverse("training:playground_feedback")
    convo = json.dumps(PROMPT)
    # thumbs down, no correction: kept as a negative example, never a training sample
    r = curator_client.post(fb_url, {"adapter": adapter.pk, "conversation": convo, "reply": "Purple.", "rating": "down"},
                            follow=True)
    assert "negative example" in r.content.decode()
    down = PlaygroundFeedback.objects.get()
    assert down.rating == "down" and down.sample is None and down.is_negative and down.reply == "Purple."
    assert not Sample.objects.exists()
    # thumbs up: the reply becomes a candidate sample (origin feedback)
    curator_client.post(fb_url, {"adapter": adapter.pk, "conversation": convo, "reply": "Blue.", "rating": "up"})
    up = PlaygroundFeedback.objects.get(rating="up")
    assert up.sample.origin == Sample.Origin.FEEDBACK and up.sample.collection == adapter.collection
    assert up.sample.messages == [*PROMPT, {"role": "assistant", "content": "Blue."}]
    assert up.sample.created_by == curator and up.sample.meta["adapter_id"] == adapter.pk
    # thumbs down with a correction: a sample with the corrected answer (the rejected reply only in meta)
    curator_client.post(fb_url, {"adapter": adapter.pk, "conversation": convo, "reply": "Purple.", "rating": "down",
                                 "correction": "Refinery code BLUE."})
    fixed = PlaygroundFeedback.objects.filter(rating="down").exclude(sample=None).get()
    assert fixed.sample.messages[-1] == {"role": "assistant", "content": "Refinery code BLUE."}
    assert fixed.sample.meta["model_reply"] == "Purple." and fixed.sample.meta["corrected"] is True
    assert Sample.objects.count() == 2
    # bad input: a clear message, nothing written
    r = curator_client.post(fb_url, {"adapter": adapter.pk, "conversation": "[]", "reply": "x", "rating": "up"}, follow=True)
    assert "Feedback not saved: The conversation must end with the user" in r.content.decode()
    r = curator_client.post(fb_url, {"adapter": adapter.pk, "conversation": convo, "reply": "x", "rating": "meh"}, follow=True)
    assert "rating must be" in r.content.decode()
    assert PlaygroundFeedback.objects.count() == 3 and Sample.objects.count() == 2

    # what a dataset version of the collection would contain: the two feedback samples, not the negative one
    from training.services.datasets import dataset_samples_select

    selected = dataset_samples_select(collection=adapter.collection, spec={})
    answers = sorted(c.messages[-1]["content"] for c in selected.candidates)
    assert answers == ["Blue.", "Refinery code BLUE."]
    # the adapter page lists the feedback, the negative example marked as such
    page = curator_client.get(reverse("training:adapter_detail", args=[adapter.pk])).content.decode()
    assert page.count('class="negative"') == 1 and "negative example" in page and f"#{up.sample_id}" in page


@pytest.mark.slow
@pytest.mark.django_db
def test_adapter_download_is_a_loadable_adapter(curator_client, adapter, tmp_path):
    from peft import PeftModel

    r = curator_client.get(reverse("training:adapter_download", args=[adapter.pk]))
    assert r.status_code == 200 and r["Content-Disposition"].startswith("attachment")
    assert f'{adapter.serve_name}.zip' in r["Content-Disposition"]
    data = b"".join(r.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"} <= names
        zf.extractall(tmp_path / "dl")
    tok, _ = load_tokenizer(tmp_path / "dl")
    ids = tok.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"]
    with torch.no_grad():
        downloaded = PeftModel.from_pretrained(load_model(bundled_model_ensure()), str(tmp_path / "dl")).eval()(input_ids=ids).logits
        original = PeftModel.from_pretrained(load_model(bundled_model_ensure()), str(adapter.folder)).eval()(input_ids=ids).logits
        base = load_model(bundled_model_ensure()).eval()(input_ids=ids).logits
    assert torch.equal(downloaded, original) and not torch.allclose(downloaded, base, atol=1e-4)
    # the merged model is offered only once merged
    assert curator_client.get(reverse("training:adapter_download", args=[adapter.pk]) + "?merged=1").status_code == 404
    page = curator_client.get(reverse("training:adapter_list")).content.decode()
    assert reverse("training:adapter_download", args=[adapter.pk]) in page


@pytest.mark.slow
@pytest.mark.django_db
def test_compare_two_runs_on_two_versions_and_on_one_common_set(curator_client, collection, curator,
                                                                django_capture_on_commit_callbacks):
    v1 = make_version(collection, train=learnable_records(12), validation=learnable_records(2, start=12),
                      test=learnable_records(3, start=14))
    v2 = make_version(collection, train=learnable_records(6, start=20), validation=learnable_records(2, start=26),
                      test=learnable_records(2, start=28))
    config = {**FAST_CONFIG, "max_steps": 3, "eval_every": 3, "eval_generate_samples": 1, "eval_max_new_tokens": 4}
    runs = []
    for v in (v1, v2):
        run = svc.run_create(dataset_version=v, user=curator, config=config)
        job = svc.run_execute_inline(run=run, progress_bar=False)
        assert job.status == "succeeded", job.error
        run.refresh_from_db()
        # scored on its own version's test split; the validation split picked the checkpoint
        assert run.eval_before["split"] == run.eval_after["split"] == "test"
        assert run.eval_after["samples"] == v.n_test
        runs.append(run)
    a1, a2 = (Adapter.objects.get(run=r) for r in runs)

    url = reverse("training:run_compare") + f"?collection={collection.name}"
    html = curator_client.get(url).content.decode()
    for r in runs:
        assert reverse("training:run_detail", args=[r.pk]) in html
    assert 'id="own-split-note"' in html  # different versions' splits: not comparable as they are
    assert html.count('name="adapters"') == 2 and f'value="{v1.pk}:test"' in html and f'value="{v2.pk}:test"' in html

    # score both adapters on v1's test split — one job, the same samples for every model
    with django_capture_on_commit_callbacks(execute=True):
        r = curator_client.post(reverse("training:comparison_create"), {
            "collection": collection.name, "adapters": [a1.pk, a2.pk], "source": f"{v1.pk}:test",
            "generate_samples": 1, "max_new_tokens": 4})
    assert r.status_code == 302
    comparison = AdapterComparison.objects.get()
    assert comparison.job.status == "succeeded", comparison.job.error
    assert comparison.source == f"{v1} test split" and comparison.n_samples == 3
    res = comparison.results
    assert set(res) == {f"base:{a1.base_model}", str(a1.pk), str(a2.pk)}
    assert {m["samples"] for m in res.values()} == {3}  # every model on the very same 3 samples
    assert {m["tokens"] for m in res.values()} == {res[str(a1.pk)]["tokens"]}
    for m in res.values():
        assert {"loss", "perplexity", "bleu", "rouge_l", "exact_match", "token_f1"} <= set(m)
    # the base row equals the runs' "before" score on that same split (same model, same samples)
    assert res[f"base:{a1.base_model}"]["loss"] == pytest.approx(runs[0].eval_before["loss"], rel=1e-4)
    # a1 on its own test split = what its run reported
    assert res[str(a1.pk)]["loss"] == pytest.approx(runs[0].eval_after["loss"], rel=1e-4)
    html = curator_client.get(url).content.decode()
    assert f'id="comparison-{comparison.pk}"' in html and html.count('<tr data-key=') == 3
    assert f"cmp-data-{comparison.pk}" in html

    # an uploaded evaluation set is validated line by line before anything is stored or queued
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("eval.jsonl", b'{"messages": [{"role": "user", "content": "no answer"}]}\n')
    r = curator_client.post(reverse("training:comparison_create"), {
        "collection": collection.name, "adapters": [a1.pk], "source": "upload", "file": bad,
        "generate_samples": 0, "max_new_tokens": 4}, follow=True)
    assert "Not scored:" in r.content.decode() and "line 1" in r.content.decode()
    assert AdapterComparison.objects.count() == 1
    good = SimpleUploadedFile("eval.jsonl", "".join(json.dumps(x) + "\n" for x in learnable_records(2, start=40)).encode())
    with django_capture_on_commit_callbacks(execute=True):
        curator_client.post(reverse("training:comparison_create"), {
            "collection": collection.name, "adapters": [a2.pk], "source": "upload", "file": good,
            "generate_samples": 0, "max_new_tokens": 4})
    up = AdapterComparison.objects.order_by("-id").first()
    assert up.source == "uploaded eval.jsonl" and up.job.status == "succeeded"
    assert set(up.results) == {f"base:{a2.base_model}", str(a2.pk)} and up.results[str(a2.pk)]["samples"] == 2
    r = curator_client.post(reverse("training:comparison_create"), {
        "collection": collection.name, "adapters": [], "source": f"{v1.pk}:test", "generate_samples": 0,
        "max_new_tokens": 4}, follow=True)
    assert "Pick at least one adapter" in r.content.decode()
