"""Cancel, the real path: Stop button / API → run_cancel → job_cancel → cancel_requested → SIGTERM to the
trainer's process group → checkpoint → run cancelled; then resume from it completes. Once with the plain
``python -m training.trainer`` launcher, once under ``accelerate launch`` (whose launcher does not forward
signals: the whole group is signalled)."""
import json
import subprocess
import sys
import time

import pytest
from django.urls import reverse

from training.models import Adapter, TrainingRun
from training.services import runs as svc

from .conftest import FAST_CONFIG, in_background, join, trainer_pids, wait_for_log_event

# Enough steps that the stop lands mid-run; checkpoints often enough that one exists before it.
CANCEL_CONFIG = {**FAST_CONFIG, "max_steps": 12, "save_every": 2, "eval_every": 6, "eval_generate_samples": 1,
                 "eval_max_new_tokens": 4}


def _started_job(run):
    """Wait until the worker thread has queued and started the run's job; return the job."""
    deadline = time.time() + 120
    while time.time() < deadline:
        run.refresh_from_db()
        if run.job_id:
            return run.job
        time.sleep(0.2)
    raise AssertionError("the run's job never started")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_stop_button_then_resume_completes(version, curator, curator_client):
    run = svc.run_create(dataset_version=version, user=curator, config=CANCEL_CONFIG)
    worker = in_background(svc.run_start, run=run, user=curator)  # the task worker runs the job
    wait_for_log_event(run.folder, lambda e: e.get("event") == "checkpoint" and e["step"] == 2)
    page = curator_client.get(reverse("training:run_detail", args=[run.pk]))
    assert b'id="cancel-run"' in page.content  # the Stop button is shown while the run is active
    r = curator_client.post(reverse("training:run_cancel", args=[run.pk]))
    assert r.status_code == 302
    job = _started_job(run)
    job.refresh_from_db()
    assert job.cancel_requested
    join(worker)

    run.refresh_from_db()
    job.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED and job.status == "cancelled"
    assert run.exit_code == 0 and not run.error
    result = json.loads((run.folder / "result.json").read_text())
    stopped_at = result["step"]
    assert result["status"] == "stopped" and 2 <= stopped_at < CANCEL_CONFIG["max_steps"]
    assert (run.folder / "checkpoints" / f"step-{stopped_at}" / "state.pt").exists()
    assert not trainer_pids(run.folder / "config.json")
    assert not Adapter.objects.filter(run=run).exists()
    page = curator_client.get(reverse("training:run_detail", args=[run.pk]))
    assert b'id="resume-run"' in page.content and b'id="cancel-run"' not in page.content

    # resume through the button: continues from the checkpoint and completes
    r = curator_client.post(reverse("training:run_resume", args=[run.pk]))
    assert r.status_code == 302
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.SUCCEEDED, (run.error, run.log_tail)
    assert run.resume_count == 1 and run.steps_done == CANCEL_CONFIG["max_steps"]
    events = [json.loads(line) for line in (run.folder / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e["event"] == "resume"] == [stopped_at]
    assert [e["step"] for e in events if e["event"] == "train"][-1] == CANCEL_CONFIG["max_steps"]
    assert Adapter.objects.filter(run=run).exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_cancel_under_accelerate_launch_leaves_no_trainer_running(version, curator, settings):
    from tests.conftest import api_client_for

    settings.TRAIN_LAUNCHER = "accelerate"
    run = svc.run_create(dataset_version=version, user=curator, config=CANCEL_CONFIG)
    worker = in_background(svc.run_start, run=run, user=curator)
    wait_for_log_event(run.folder, lambda e: e.get("event") == "checkpoint" and e["step"] == 2)
    pids = trainer_pids(run.folder / "config.json")
    cmdlines = [open(f"/proc/{p}/cmdline", "rb").read() for p in pids]
    assert any(b"accelerate" in c for c in cmdlines), "the run was not started by accelerate launch"
    assert len(pids) >= 2  # the launcher and the trainer it started
    r = api_client_for(curator).post(f"/api/training-runs/{run.pk}/cancel/")
    assert r.status_code == 200
    join(worker)

    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED, (run.error, run.log_tail)
    result = json.loads((run.folder / "result.json").read_text())
    assert result["status"] == "stopped"
    assert (run.folder / "checkpoints" / f"step-{result['step']}" / "state.pt").exists()
    assert not trainer_pids(run.folder / "config.json"), "a trainer process outlived the cancel"
    events = [json.loads(line) for line in (run.folder / "log.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "done" and events[-1]["status"] == "stopped"


def test_stop_escalates_to_sigkill_for_the_whole_group():
    """A group that ignores SIGTERM (here: a shell whose child ignores it) is killed after the grace period,
    every member — not only the process we started."""
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(120)"
    proc = subprocess.Popen(["sh", "-c", f'"{sys.executable}" -c "{code}"; sleep 120'], stdout=subprocess.PIPE,
                            start_new_session=True)
    assert proc.stdout.readline().strip() == b"ready"
    assert len(svc._group_members(proc.pid)) == 2
    started = time.monotonic()
    killed = svc._stop_trainer(proc, grace=1.0)
    assert killed and time.monotonic() - started >= 1.0
    assert svc._group_members(proc.pid) == []
    assert proc.returncode is not None


def test_stop_without_escalation_when_the_group_exits():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    time.sleep(0.2)
    assert svc._stop_trainer(proc, grace=30.0) is False
    assert proc.returncode == -15 and svc._group_members(proc.pid) == []
