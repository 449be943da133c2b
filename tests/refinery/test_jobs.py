"""Job lifecycle: queued → running → succeeded / failed / cancelled, through the real task backends."""
import pytest
from django.core.management import call_command
from django.urls import reverse

from refinery.jobs import JobContext, JobError, job_cancel, job_create, job_execute, job_handler, job_start
from refinery.models import AuditEvent, Job


@job_handler("test.count")
def _count(ctx: JobContext, *, n: int) -> dict:
    total = 0
    for i in ctx.track(range(n), stage="Counting"):
        total += i
    ctx.log(f"counted {n}")
    return {"total": total}


@job_handler("test.fail")
def _fail(ctx: JobContext) -> dict:
    raise JobError("The input file is empty: nothing to do.")


@job_handler("test.crash")
def _crash(ctx: JobContext) -> dict:
    return 1 / 0


@job_handler("test.cancel_self")
def _cancel_self(ctx: JobContext) -> dict:
    for i in ctx.track(range(100), stage="Working"):
        if i == 10:
            Job.objects.filter(pk=ctx.job.pk).update(cancel_requested=True)
            ctx.flush()
    return {"unreachable": True}


@pytest.mark.django_db
def test_job_succeeds_with_progress_messages_and_audit(curator):
    job = job_create(kind="test.count", title="Count", params={"n": 50}, user=curator)
    job = job_execute(job.pk)
    assert job.status == Job.Status.SUCCEEDED
    assert job.result == {"total": sum(range(50))}
    assert (job.progress_done, job.progress_total, job.stage) == (50, 50, "Counting")
    assert job.messages[-1]["message"] == "counted 50"
    assert job.started_at and job.finished_at and job.finished_at >= job.started_at
    assert job.created_by == curator
    assert AuditEvent.objects.filter(model="refinery.job", object_id=str(job.pk), action="create").exists()


@pytest.mark.django_db
def test_user_error_is_stored_verbatim_and_crash_with_traceback(curator):
    failed = job_execute(job_create(kind="test.fail", title="F", user=curator).pk)
    assert failed.status == Job.Status.FAILED
    assert failed.error == "The input file is empty: nothing to do."
    crashed = job_execute(job_create(kind="test.crash", title="C", user=curator).pk)
    assert crashed.status == Job.Status.FAILED
    assert crashed.error.startswith("ZeroDivisionError") and "Traceback" in crashed.error


@pytest.mark.django_db
def test_cancel_running_job_stops_at_next_check(curator):
    job = job_execute(job_create(kind="test.cancel_self", title="X", user=curator).pk)
    assert job.status == Job.Status.CANCELLED
    assert job.progress_done == 10
    assert job.result == {}


@pytest.mark.django_db
def test_cancel_queued_job_never_runs(curator):
    job = job_create(kind="test.count", title="Count", params={"n": 3}, user=curator)
    job_cancel(job=job)
    assert job.status == Job.Status.CANCELLED
    job = job_execute(job.pk)  # a worker picking it up later does nothing
    assert job.status == Job.Status.CANCELLED and job.result == {}


@pytest.mark.django_db
def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="Unknown job kind 'nope'"):
        job_create(kind="nope", title="x")


@pytest.mark.django_db(transaction=True)
def test_real_database_worker_runs_a_queued_job(settings, curator):
    """django-tasks-db: job_start enqueues a row, `manage.py db_worker --batch` executes it."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # setting_changed resets backends
    job = job_start(kind="test.count", title="Count", params={"n": 7}, user=curator)
    assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUED
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.result == {"total": 21}
    assert job.task_id


@pytest.mark.django_db
def test_jobs_pages_and_htmx_cancel(curator_client, curator):
    job = job_create(kind="test.count", title="Visible job", params={"n": 1}, user=curator)
    r = curator_client.get(reverse("job_list"))
    assert r.status_code == 200 and b"Visible job" in r.content
    r = curator_client.get(reverse("job_detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and b'hx-trigger="every 1s"' in r.content  # live polling while active
    r = curator_client.post(reverse("job_cancel", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and b"Cancelled" in r.content
    r = curator_client.get(reverse("job_detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert b"every 1s" not in r.content  # polling stops once finished


@pytest.mark.django_db
def test_annotator_sees_only_own_jobs(annotator_client, annotator, curator):
    mine = job_create(kind="test.count", title="Mine", params={"n": 1}, user=annotator)
    other = job_create(kind="test.count", title="Curator's", params={"n": 1}, user=curator)
    r = annotator_client.get(reverse("job_list"))
    assert b"Mine" in r.content and b"Curator&#x27;s" not in r.content and b"Curator's" not in r.content
    assert annotator_client.get(reverse("job_detail", args=[other.pk])).status_code == 404
    assert annotator_client.get(f"/api/jobs/{other.pk}/").status_code == 404
    assert annotator_client.get(f"/api/jobs/{mine.pk}/").status_code == 200


# ------------------------------------------------------------------------------------ dead workers
def _dead_worker() -> str:
    """The worker id of a real process that has exited (and been waited for) on this host."""
    import socket
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return f"{socket.gethostname()}:{proc.pid}:"


def _running_job(user, *, worker: str, minutes_ago: float) -> Job:
    from datetime import timedelta

    from django.utils import timezone

    job = job_create(kind="test.count", title="Long job", params={"n": 1}, user=user)
    beat = timezone.now() - timedelta(minutes=minutes_ago)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started_at=beat, heartbeat_at=beat, worker=worker)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_stale_job_of_a_dead_worker_is_failed_as_worker_died(curator, settings):
    from refinery.jobs import job_reap_stale, worker_gone, worker_id

    settings.JOB_STALE_MINUTES = 5
    dead = _dead_worker()
    assert worker_gone(dead) is True and worker_gone(worker_id()) is False
    stale = _running_job(curator, worker=dead, minutes_ago=10)
    fresh_dead = _running_job(curator, worker=dead, minutes_ago=1)        # heartbeat recent: not yet
    alive = _running_job(curator, worker=worker_id(), minutes_ago=60)     # silent but its process runs
    elsewhere = _running_job(curator, worker="some-other-host:123:456", minutes_ago=60)  # cannot be checked
    reaped = job_reap_stale()
    assert [j.pk for j in reaped] == [stale.pk]
    stale.refresh_from_db()
    assert stale.status == Job.Status.FAILED and stale.finished_at is not None
    assert stale.error.startswith(f"The worker died: {dead} stopped while running this job")
    assert stale.messages[-1]["level"] == "error" and "worker died" in stale.messages[-1]["message"].lower()
    for job in (fresh_dead, alive, elsewhere):
        job.refresh_from_db()
        assert job.status == Job.Status.RUNNING, job.title
    assert {j.pk for j in job_reap_stale(any_host=True)} == {elsewhere.pk}
    assert {j.pk for j in job_reap_stale(minutes=0)} == {fresh_dead.pk}
    alive.refresh_from_db()
    assert alive.status == Job.Status.RUNNING


@pytest.mark.django_db
def test_a_reused_pid_counts_as_gone(curator):
    import os
    import socket

    from refinery.jobs import worker_gone

    assert worker_gone(f"{socket.gethostname()}:{os.getpid()}:1") is True  # our pid, another start time
    assert worker_gone("") is None and worker_gone("cli") is None


@pytest.mark.django_db
def test_cancel_of_a_job_whose_worker_died_finishes_at_once(curator, curator_client):
    from refinery.jobs import worker_id

    dead = _running_job(curator, worker=_dead_worker(), minutes_ago=0)
    r = curator_client.post(f"/api/jobs/{dead.pk}/cancel/")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    dead.refresh_from_db()
    assert dead.finished_at and "is gone, so the job was stopped here" in dead.messages[-1]["message"]
    # A live worker is only asked to stop (it does so at its next progress report).
    alive = _running_job(curator, worker=worker_id(), minutes_ago=60)
    job = job_cancel(job=alive)
    assert job.status == Job.Status.RUNNING and job.cancel_requested


@pytest.mark.django_db
def test_job_pages_show_a_dead_workers_job_as_failed(curator, curator_client, settings):
    settings.JOB_STALE_MINUTES = 5
    job = _running_job(curator, worker=_dead_worker(), minutes_ago=30)
    r = curator_client.get(reverse("job_detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and b"every 1s" not in r.content and b"worker died" in r.content.lower()
    other = _running_job(curator, worker=_dead_worker(), minutes_ago=30)
    assert curator_client.get("/api/jobs/").status_code == 200
    other.refresh_from_db()
    assert other.status == Job.Status.FAILED


@pytest.mark.django_db
def test_running_job_records_its_worker_and_heartbeat(curator):
    from refinery.jobs import worker_id

    job = job_execute(job_create(kind="test.count", title="Count", params={"n": 3}, user=curator).pk)
    assert job.worker == worker_id() and job.heartbeat_at >= job.started_at


@job_handler("test.interrupted")
def _interrupted(ctx: JobContext) -> dict:
    raise KeyboardInterrupt


@pytest.mark.django_db
def test_interrupted_job_is_recorded_as_failed_and_the_interrupt_propagates(curator):
    job = job_create(kind="test.interrupted", title="Ctrl-C", user=curator)
    with pytest.raises(KeyboardInterrupt):
        job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.error.startswith("Interrupted (KeyboardInterrupt)")


DIE_SCRIPT = """
import os, signal, sys
import django
django.setup()
from django.core.management import call_command
from refinery.jobs import job_create, job_execute, job_handler
call_command("migrate", verbosity=0)

@job_handler("test.die")
def die(ctx):
    ctx.progress(1, 10, stage="Working", force=True)
    os.kill(os.getpid(), signal.SIGKILL)   # the worker dies mid-job: nothing else is recorded

job = job_create(kind="test.die", title="Dies")
print(job.pk, flush=True)
job_execute(job.pk)
"""

CHECK_SCRIPT = """
import django
django.setup()
from django.core.management import call_command
from refinery.models import Job
job = Job.objects.get()
print(job.status, job.progress_done, flush=True)
call_command("reap_jobs", "--minutes", "0")
job.refresh_from_db()
print(job.status, job.error.splitlines()[0], flush=True)
"""


@pytest.mark.slow
def test_a_worker_killed_mid_job_is_reaped_by_reap_jobs(tmp_path):
    """End to end with real processes: a job's process is SIGKILLed; `manage.py reap_jobs` fails the job."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="refinery.settings", DATABASE_URL=f"sqlite:///{tmp_path / 'die.sqlite3'}",
               REFINERY_DATA_DIR=str(tmp_path), PYTHONPATH=str(root))
    died = subprocess.run([sys.executable, "-c", DIE_SCRIPT], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)
    assert died.returncode == -9, died.stdout + died.stderr
    checked = subprocess.run([sys.executable, "-c", CHECK_SCRIPT], cwd=root, env=env, capture_output=True,
                             text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert lines[0] == "running 1"  # left "running" by the dead process, with its last progress
    assert "1 stale job reaped" in lines and lines[-1].startswith("failed The worker died:"), checked.stdout
