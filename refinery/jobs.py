"""Background jobs: one Job row per long operation, run by the task worker, reported live.

Write a handler once, use it from the web (queued to the worker) and from the CLI (inline, with a
progress bar)::

    @job_handler("ingest")
    def ingest_job(ctx: JobContext, *, collection_id: int, paths: list[str]) -> dict:
        for i, path in enumerate(ctx.track(paths, stage="Reading files")):
            ...
            ctx.log(f"{path}: 12 documents")
        return {"documents": 12}          # stored as Job.result

    job = job_start(kind="ingest", title="Ingest 3 files", params={...}, user=request.user)
    job = job_run_inline(kind="ingest", title=..., params={...}, user=None)   # CLI

Handlers call ``ctx.progress()`` / ``ctx.track()``; both raise ``JobCancelled`` once a cancel was
requested, so a handler stops at a clean point (wrap its writes in ``transaction.atomic``).

Dead workers: a running job records its worker (``host:pid:start``) and a heartbeat (every flush of
progress or messages). ``job_reap_stale`` fails running jobs whose heartbeat is older than
JOB_STALE_MINUTES and whose worker process is gone ("worker died"); it runs when a worker starts
(``manage.py reap_jobs`` in scripts/run.sh), whenever a job starts, and when the jobs pages are
read. Cancelling a job whose worker is gone finishes it at once.
"""
from __future__ import annotations

import logging
import os
import socket
import sys
import time
import traceback
from datetime import timedelta
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .audit import acting_as
from .models import Job

log = logging.getLogger("refinery.jobs")
T = TypeVar("T")

HANDLERS: dict[str, Callable[..., dict | None]] = {}
MAX_MESSAGES = 500
FLUSH_SECONDS = 0.5


class JobCancelled(Exception):
    """Raised inside a handler when the user asked to cancel; the job ends as cancelled."""


class JobError(Exception):
    """A failure with a message meant for the user (shown on the job page as it is)."""


def job_handler(kind: str):
    def register(fn):
        if kind in HANDLERS and HANDLERS[kind] is not fn:
            raise RuntimeError(f"Two job handlers for kind {kind!r}")
        HANDLERS[kind] = fn
        return fn

    return register


class JobContext:
    """Handed to a job handler: progress, messages, cancellation. Writes are throttled."""

    def __init__(self, job: Job, *, progress_bar: bool = False):
        self.job = job
        self._last_flush = 0.0
        self._dirty_messages = False
        self._bar = None
        self._want_bar = progress_bar

    # -- reporting ---------------------------------------------------------------------------
    def progress(self, done: int, total: int | None = None, *, stage: str | None = None, force: bool = False) -> None:
        job = self.job
        stage_changed = stage is not None and stage != job.stage
        job.progress_done = done
        if total is not None:
            job.progress_total = total
        if stage is not None:
            job.stage = stage
        self._update_bar(stage_changed)
        now = time.monotonic()
        if force or stage_changed or now - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def advance(self, n: int = 1) -> None:
        self.progress(self.job.progress_done + n)

    def track(self, items: Iterable[T], *, total: int | None = None, stage: str | None = None) -> Iterator[T]:
        """Iterate with progress (and cancellation checks) — the usual way to report."""
        if total is None:
            try:
                total = len(items)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.progress(0, total, stage=stage, force=True)
        done = 0
        for item in items:
            yield item
            done += 1
            self.progress(done)
        self.progress(done, force=True)

    def log(self, message: str, *, level: str = "info") -> None:
        entry = {"at": timezone.now().isoformat(timespec="seconds"), "level": level, "message": str(message)[:2000]}
        self.job.messages = (self.job.messages + [entry])[-MAX_MESSAGES:]
        self._dirty_messages = True
        if self._bar is not None:
            self._bar.write(f"[{level}] {message}")
        elif self._want_bar:
            print(f"[{level}] {message}", file=sys.stderr)
        log.log(logging.WARNING if level in ("warning", "error") else logging.INFO, "job %s: %s", self.job.pk, message)
        self.flush()

    def flush(self) -> None:
        """Persist progress/messages and the heartbeat; pick up a cancel request (raises JobCancelled)."""
        self._last_flush = time.monotonic()
        job = self.job
        now = timezone.now()
        fields = {"progress_done": job.progress_done, "progress_total": job.progress_total, "stage": job.stage,
                  "updated_at": now, "heartbeat_at": now}
        if self._dirty_messages:
            fields["messages"] = job.messages
            self._dirty_messages = False
        Job.objects.filter(pk=job.pk).update(**fields)
        self.check_cancelled()

    def check_cancelled(self) -> None:
        row = Job.objects.filter(pk=self.job.pk).values("cancel_requested", "status").first()
        # A job no longer "running" was finished from outside (cancelled or reaped as stale): stop too.
        if row is None or row["cancel_requested"] or (self.job.status == Job.Status.RUNNING
                                                      and row["status"] != Job.Status.RUNNING):
            self.job.cancel_requested = True
            raise JobCancelled()

    @property
    def cancel_requested(self) -> bool:
        return Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()

    # -- CLI progress bar -----------------------------------------------------------------------
    def _update_bar(self, stage_changed: bool) -> None:
        if not self._want_bar:
            return
        from tqdm import tqdm

        job = self.job
        if self._bar is None or stage_changed:
            if self._bar is not None:
                self._bar.close()
            self._bar = tqdm(total=job.progress_total, desc=job.stage or job.title, unit="it",
                             file=sys.stderr, dynamic_ncols=True)
        if job.progress_total is not None and self._bar.total != job.progress_total:
            self._bar.total = job.progress_total
        self._bar.n = job.progress_done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


# ------------------------------------------------------------------------------------------- services
def job_create(*, kind: str, title: str, params: dict | None = None, user=None, target=None) -> Job:
    if kind not in HANDLERS:
        raise ValueError(f"Unknown job kind {kind!r}; known: {', '.join(sorted(HANDLERS)) or 'none'}")
    job = Job(kind=kind, title=title[:300], params=params or {})
    if user is not None and getattr(user, "is_authenticated", False):
        job.created_by = user
    if target is not None:
        job.target_model = target._meta.label_lower
        job.target_id = str(target.pk)
    job.save()
    return job


def job_start(*, kind: str, title: str, params: dict | None = None, user=None, target=None) -> Job:
    """Create a Job and queue it for the task worker (after the surrounding transaction commits)."""
    job = job_create(kind=kind, title=title, params=params, user=user, target=target)

    def _enqueue() -> None:
        from .tasks import run_job

        result = run_job.enqueue(job.pk)
        Job.objects.filter(pk=job.pk, task_id="").update(task_id=str(result.id)[:64])

    transaction.on_commit(_enqueue)
    return job


def job_run_inline(*, kind: str, title: str, params: dict | None = None, user=None, target=None,
                   progress_bar: bool = True) -> Job:
    """Run a job in this process (CLI). Still recorded as a Job so it shows on the jobs page."""
    job = job_create(kind=kind, title=title, params=params, user=user, target=target)
    return job_execute(job.pk, progress_bar=progress_bar)


def job_execute(job_id: int, *, progress_bar: bool = False) -> Job:
    """Run the handler for a queued job; called by the task worker (refinery.tasks.run_job)."""
    job_reap_stale()
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=now, heartbeat_at=now, worker=worker_id()
    )
    job = Job.objects.get(pk=job_id)
    if not claimed:
        log.info("job %s not queued (status %s); skipping", job_id, job.status)
        return job
    ctx = JobContext(job, progress_bar=progress_bar)
    status, result, error, interrupted = Job.Status.SUCCEEDED, None, "", None
    try:
        if job.cancel_requested:
            raise JobCancelled()
        handler = HANDLERS[job.kind]
        with acting_as(job.created_by):
            result = handler(ctx, **job.params)
    except JobCancelled:
        status = Job.Status.CANCELLED
        ctx.job.messages = ctx.job.messages + [
            {"at": timezone.now().isoformat(timespec="seconds"), "level": "warning", "message": "Cancelled by request."}
        ]
    except JobError as exc:
        status, error = Job.Status.FAILED, str(exc)
    except Exception as exc:  # noqa: BLE001 — a job must end in a recorded state, whatever happened
        status = Job.Status.FAILED
        error = f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=20)}"
        log.exception("job %s failed", job_id)
    except BaseException as exc:  # Ctrl-C in the CLI, SystemExit when the worker is stopped: record, re-raise
        status, interrupted = Job.Status.FAILED, exc
        error = f"Interrupted ({type(exc).__name__}): the process running this job was stopped. Start it again."
    finally:
        ctx.close()
    # Only a job still "running" is finished here: one reaped or cancelled from outside keeps that verdict.
    finished = Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(
        status=status,
        result=result if isinstance(result, dict) else ({"value": result} if result is not None else {}),
        error=error,
        messages=ctx.job.messages,
        progress_done=ctx.job.progress_done,
        progress_total=ctx.job.progress_total,
        stage=ctx.job.stage,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    if not finished:
        log.warning("job %s was finished from outside while it ran; its own outcome (%s) is not recorded", job_id, status)
    job.refresh_from_db()
    if interrupted is not None:
        raise interrupted
    return job


# ------------------------------------------------------------------------------------------- dead workers
def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, from /proc) or None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def worker_id() -> str:
    """This process as ``host:pid:start``; the start time tells a reused pid from the original process."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid) or ''}"


def worker_gone(worker: str) -> bool | None:
    """True when the process named by ``worker`` has certainly exited, False when it runs, None when
    that cannot be known here (another host, or no worker recorded)."""
    host, _, rest = (worker or "").partition(":")
    pid_text, _, start = rest.partition(":")
    if not host or not pid_text.isdigit() or host != socket.gethostname():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # exists, owned by someone else
    now_start = _process_start(pid)
    if start and now_start is not None and now_start != start:
        return True  # the pid was reused by another process
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            if fh.read().decode(errors="replace").rsplit(")", 1)[-1].split()[0] == "Z":
                return True  # exited, waiting to be reaped by its parent
    except (OSError, IndexError):
        pass
    return False


def _stale_before():
    return timezone.now() - timedelta(minutes=settings.JOB_STALE_MINUTES)


def _is_stale(job: Job, *, before, any_host: bool) -> bool:
    last = job.heartbeat_at or job.started_at or job.created_at
    if job.status != Job.Status.RUNNING or last is None or last >= before:
        return False
    gone = worker_gone(job.worker)
    return gone is True or (gone is None and any_host)


def _finish_dead(job: Job, *, status: str, message: str) -> bool:
    """Finish a running job whose worker died (only if nothing changed it meanwhile)."""
    entry = {"at": timezone.now().isoformat(timespec="seconds"), "level": "error", "message": message}
    updated = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, heartbeat_at=job.heartbeat_at).update(
        status=status, finished_at=timezone.now(), messages=(job.messages + [entry])[-MAX_MESSAGES:],
        error=message if status == Job.Status.FAILED else job.error,
    )
    if updated:
        log.warning("job %s: %s", job.pk, message)
    return bool(updated)


def _dead_message(job: Job) -> str:
    last = job.heartbeat_at or job.started_at
    since = f" since {last:%Y-%m-%d %H:%M:%S} UTC" if last else ""
    return (f"The worker died: {job.worker or 'an unknown worker'} stopped while running this job (no heartbeat"
            f"{since}). Nothing after its last progress was kept; start the job again.")


def job_reap_stale(*, minutes: float | None = None, any_host: bool = False) -> list[Job]:
    """Fail running jobs whose heartbeat is older than ``minutes`` (default JOB_STALE_MINUTES) and
    whose worker is gone. A worker on another host cannot be checked from here: ``any_host`` treats
    it as gone (for a single machine whose host name changed, e.g. a restarted container)."""
    before = timezone.now() - timedelta(minutes=minutes) if minutes is not None else _stale_before()
    reaped = []
    for job in Job.objects.filter(status=Job.Status.RUNNING):
        if _is_stale(job, before=before, any_host=any_host) and _finish_dead(
                job, status=Job.Status.FAILED, message=_dead_message(job)):
            job.refresh_from_db()
            reaped.append(job)
    return reaped


def job_reap_if_stale(*, job: Job) -> Job:
    """``job_reap_stale`` for one job (the job pages call it when they show a running job)."""
    if job.status == Job.Status.RUNNING and _is_stale(job, before=_stale_before(), any_host=False):
        _finish_dead(job, status=Job.Status.FAILED, message=_dead_message(job))
        job.refresh_from_db()
    return job


def job_cancel(*, job: Job) -> Job:
    """Ask a job to stop. A queued job is cancelled at once; a running one at its next check — or at
    once when its worker is gone (dead on this host, or silent for JOB_STALE_MINUTES)."""
    Job.objects.filter(pk=job.pk, status__in=Job.ACTIVE).update(cancel_requested=True)
    Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
        status=Job.Status.CANCELLED, finished_at=timezone.now()
    )
    job.refresh_from_db()
    if job.status == Job.Status.RUNNING:
        gone = worker_gone(job.worker)
        last = job.heartbeat_at or job.started_at or job.created_at
        if gone is True or (gone is None and last is not None and last < _stale_before()):
            _finish_dead(job, status=Job.Status.CANCELLED, message=(
                f"Cancelled. Its worker ({job.worker or 'unknown'}) is gone, so the job was stopped here."))
            job.refresh_from_db()
    return job


def job_result_or_raise(job: Job) -> dict[str, Any]:
    if job.status != Job.Status.SUCCEEDED:
        raise JobError(job.error or f"Job {job.pk} ended as {job.status}")
    return job.result
