"""Real trainer subprocess: kill → resume, stop (SIGTERM, as a job cancel sends) → resume, then the
adapter: registry, merge gives the same logits, serving endpoint answers, playground feedback."""
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import torch

from curation.models import Sample
from training.models import Adapter, TrainingRun
from training.services import runs as svc

from ..trainer.conftest import FAST_CONFIG


def _signal_after_checkpoint(run_dir: Path, step: int, sig: int) -> threading.Thread:
    """Watch the run's log; once checkpoint ``step`` is written, send ``sig`` to the trainer process."""
    config = str(run_dir / "config.json")

    def trainer_pid():
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    cmd = Path(f"/proc/{d}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if b"training.trainer" in cmd and config.encode() in cmd:
                    return int(d)
        return None

    def watch():
        deadline = time.time() + 600
        while time.time() < deadline:
            log = run_dir / "log.jsonl"
            if log.exists() and any(json.loads(line).get("event") == "checkpoint" and json.loads(line)["step"] == step
                                    for line in log.read_text().splitlines() if line.strip()):
                pid = trainer_pid()
                if pid:
                    os.kill(pid, sig)
                return
            time.sleep(0.2)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


@pytest.mark.slow
@pytest.mark.django_db
def test_kill_resume_stop_resume_then_registry_merge_and_serving(version, curator, client):
    run = svc.run_create(dataset_version=version, user=curator,
                         config={**FAST_CONFIG, "max_steps": 6, "save_every": 2, "eval_every": 3})
    # 1) SIGKILL after the step-2 checkpoint: a crash, recorded with its exit code and log tail
    watcher = _signal_after_checkpoint(run.folder, 2, signal.SIGKILL)
    job = svc.run_execute_inline(run=run, progress_bar=False)
    watcher.join()
    assert job.status == "failed" and run.status == TrainingRun.Status.FAILED
    assert run.exit_code == -signal.SIGKILL and "exited with code -9" in run.error
    # 2) resume from step 2; SIGTERM after the step-4 checkpoint = clean stop (what a job cancel forwards)
    watcher = _signal_after_checkpoint(run.folder, 4, signal.SIGTERM)
    job = svc.run_execute_inline(run=run, progress_bar=False, resume=True)
    watcher.join()
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED and run.exit_code == 0
    stopped_at = json.loads((run.folder / "result.json").read_text())["step"]
    assert stopped_at >= 4 and (run.folder / "checkpoints" / f"step-{stopped_at}" / "state.pt").exists()
    # 3) resume again: finishes at step 6 and registers an adapter
    job = svc.run_execute_inline(run=run, progress_bar=False, resume=True)
    run.refresh_from_db()
    assert job.status == "succeeded", job.error
    events = [json.loads(line) for line in (run.folder / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e["event"] == "resume"] == [2, stopped_at]
    steps = [e["step"] for e in events if e["event"] == "train"]
    assert steps[-1] == 6 and sorted(set(steps)) == [1, 2, 3, 4, 5, 6]
    # after the kill and the resumes the log may hold replayed steps twice; the page shows each step once,
    # with the value of the last (replayed) one
    from django.urls import reverse

    client.force_login(curator)
    progress = client.get(reverse("training:run_progress", args=[run.pk])).json()
    assert progress["train"]["step"] == [1, 2, 3, 4, 5, 6]
    last_loss = {e["step"]: e["loss"] for e in events if e["event"] == "train"}
    assert progress["train"]["loss"] == [last_loss[k] for k in range(1, 7)]
    assert progress["eval"]["step"] == sorted(set(progress["eval"]["step"]))
    adapter = Adapter.objects.get(run=run)
    assert adapter.number == 1 and adapter.lineage["dataset_version_id"] == version.pk

    # adapter save → load → merge gives the same logits
    from peft import PeftModel

    from training.basemodels import bundled_model_ensure
    from training.trainer.modeling import load_model, load_tokenizer

    tok, _ = load_tokenizer(adapter.folder)
    ids = tok.apply_chat_template([{"role": "user", "content": "Colour of sky?"}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)["input_ids"]
    peft_model = PeftModel.from_pretrained(load_model(bundled_model_ensure()), str(adapter.folder)).eval()
    with torch.no_grad():
        with_adapter = peft_model(input_ids=ids).logits
        base_logits = load_model(bundled_model_ensure())(input_ids=ids).logits
    merged_dir = svc.adapter_merge(adapter=adapter)
    with torch.no_grad():
        merged = load_model(merged_dir)(input_ids=ids).logits
    assert torch.allclose(with_adapter, merged, atol=1e-3)
    assert not torch.allclose(with_adapter, base_logits, atol=1e-3)  # the adapter changed something

    # registry: promote, serving endpoint with token auth, roll back
    svc.adapter_promote(adapter=adapter, user=curator)
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    token = Token.objects.create(user=curator)
    api = APIClient()
    r = api.post("/v1/chat/completions", {"model": "default", "max_tokens": 8,
                                          "messages": [{"role": "user", "content": "Colour of sky?"}]}, format="json")
    assert r.status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    r = api.post("/v1/chat/completions", {"model": "default", "max_tokens": 8,
                                          "messages": [{"role": "user", "content": "Colour of sky?"}]}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == adapter.serve_name
    assert body["choices"][0]["message"]["role"] == "assistant" and body["choices"][0]["message"]["content"]
    assert body["usage"]["completion_tokens"] >= 1
    r = api.post("/v1/chat/completions", {"model": "nope", "messages": [{"role": "user", "content": "x"}]}, format="json")
    assert r.status_code == 400 and "Unknown model" in r.json()["error"]["message"]

    # playground feedback becomes a candidate sample (origin feedback) in the collection
    feedback = svc.feedback_record(adapter=adapter, messages=[{"role": "user", "content": "Colour of sky?"}],
                                   reply="blue", rating="down", correction="Refinery code BLUE.", user=curator)
    sample = feedback.sample
    assert sample.origin == Sample.Origin.FEEDBACK and sample.collection == version.collection
    assert sample.messages[-1] == {"role": "assistant", "content": "Refinery code BLUE."}
    assert sample.meta["rating"] == "down" and sample.meta["adapter_id"] == adapter.pk


@pytest.mark.slow
@pytest.mark.django_db
def test_stop_while_loading_is_a_clean_stop(version):
    """A cancel that arrives before the first step (the model is still loading) still ends cleanly."""
    run = svc.run_create(dataset_version=version, config={**FAST_CONFIG, "max_steps": 3})
    config = str(run.folder / "config.json").encode()

    def stop_as_soon_as_started():
        deadline = time.time() + 120
        while time.time() < deadline:
            for d in os.listdir("/proc"):
                if d.isdigit():
                    try:
                        cmd = Path(f"/proc/{d}/cmdline").read_bytes().split(b"\0")
                    except OSError:
                        continue
                    if b"training.trainer" in cmd and config in cmd:
                        time.sleep(0.5)  # past interpreter start-up, inside the imports
                        os.kill(int(d), signal.SIGTERM)
                        return
            time.sleep(0.05)

    t = threading.Thread(target=stop_as_soon_as_started, daemon=True)
    t.start()
    svc.run_execute_inline(run=run, progress_bar=False)
    t.join()
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED and run.exit_code == 0
    result = json.loads((run.folder / "result.json").read_text())
    assert result["status"] == "stopped" and result["step"] == 0
    assert not Adapter.objects.filter(run=run).exists()
