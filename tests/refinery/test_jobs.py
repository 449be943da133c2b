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
