"""Background jobs of the annotation app (autodiscovered by refinery.jobs), and the periodic reconcile."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.db import close_old_connections, connection

from refinery.jobs import JobContext, JobError, job_handler, job_run_inline

from . import labelstudio
from .models import LabelingProject


def _sync(ctx: JobContext, delays) -> labelstudio.Sync:
    try:
        return labelstudio.Sync(report=lambda msg: ctx.log(msg, level="warning" if "retry" in msg else "info"),
                                delays=tuple(delays) if delays is not None else labelstudio.RETRY_DELAYS)
    except labelstudio.LabelStudioError as exc:
        raise JobError(str(exc)) from None


def _project(project_id: int) -> LabelingProject:
    try:
        return LabelingProject.objects.get(pk=project_id)
    except LabelingProject.DoesNotExist:
        raise JobError(f"No labelling project {project_id}.") from None


@job_handler("annotation.labelstudio_push")
def labelstudio_push_job(ctx: JobContext, *, project_id: int, webhook_url: str = "", delays=None) -> dict:
    project = _project(project_id)
    sync = _sync(ctx, delays)
    try:
        result = labelstudio.project_push(project=project, sync=sync, webhook_url=webhook_url,
                                          progress=lambda d, t: ctx.progress(d, t, stage="Pushing tasks"))
    except labelstudio.LabelStudioError as exc:
        raise JobError(str(exc)) from None
    ctx.log(f"Pushed: {result['created']} created, {result['updated']} updated, {result['unchanged']} unchanged")
    return result


@job_handler("annotation.labelstudio_pull")
def labelstudio_pull_job(ctx: JobContext, *, project_id: int, delays=None) -> dict:
    project = _project(project_id)
    sync = _sync(ctx, delays)
    ctx.progress(0, 1, stage="Pulling annotations")
    try:
        result = labelstudio.project_pull(project=project, sync=sync)
    except labelstudio.LabelStudioError as exc:
        raise JobError(str(exc)) from None
    ctx.progress(1, 1)
    ctx.log(f"Pulled {result['stored']} annotations from {result['tasks']} tasks; deleted {result['deleted']}")
    return result


@job_handler("annotation.labelstudio_reconcile")
def labelstudio_reconcile_job(ctx: JobContext, *, delays=None) -> dict:
    """Pull every project linked to Label Studio (webhooks are not retried; this catches what they missed)."""
    sync = _sync(ctx, delays)
    out, failed = {}, []
    projects = list(LabelingProject.objects.exclude(ls_project_id=None).order_by("id"))
    for n, project in enumerate(ctx.track(projects, stage="Reconciling projects")):
        try:
            out[str(project.pk)] = labelstudio.project_pull(project=project, sync=sync)
        except labelstudio.LabelStudioDown as exc:
            # the server is down for every project: stop here rather than wait out the back-off per project
            rest = [p.pk for p in projects[n:]]
            ctx.log(f"Project {project.pk}: {exc}", level="error")
            raise JobError(f"Label Studio unreachable; projects {rest} not pulled"
                           + (f", {sorted(int(k) for k in out)} pulled" if out else "")
                           + ". Nothing was lost; the next reconcile catches up.") from None
        except labelstudio.LabelStudioError as exc:
            failed.append(project.pk)
            ctx.log(f"Project {project.pk}: {exc}", level="error")
    if failed:
        raise JobError(f"Reconcile failed for projects {failed}; the others were pulled. Run it again later.")
    return {"projects": out}


log = logging.getLogger("refinery.labelstudio")


def reconcile_periodically(*, every: float, max_runs: int | None = None, delays=None,
                           report: Callable[[str], None] | None = None,
                           sleep: Callable[[float], None] = time.sleep) -> list:
    """Run the reconcile pull (a Job each time) every ``every`` seconds, for ever or ``max_runs`` times.

    Label Studio's webhooks are sent once and never retried, so this loop is what guarantees that
    every annotation made there arrives here. A pass that fails (Label Studio down, a bad project) is
    logged as a failed Job and the loop goes on; the next pass picks up everything (pulls are idempotent).
    Returns the Jobs (useful with ``max_runs``).
    """
    if every <= 0:
        raise ValueError("the reconcile interval must be more than 0 seconds")
    report = report or log.info
    jobs, n = [], 0
    while max_runs is None or n < max_runs:
        n += 1
        params = {} if delays is None else {"delays": list(delays)}
        if not connection.in_atomic_block:  # never inside a caller's transaction (it would end it)
            close_old_connections()  # a long-lived process: drop connections the database closed meanwhile
        try:
            job = job_run_inline(kind="annotation.labelstudio_reconcile", title="Label Studio reconcile (periodic)",
                                 params=params, progress_bar=False)
        except Exception as exc:  # noqa: BLE001 — e.g. the database briefly unavailable: try again next time
            log.exception("reconcile pass %s could not run", n)
            report(f"reconcile pass {n}: could not run ({type(exc).__name__}: {exc}); next in {every:g} s")
            job = None
        else:
            if job.status == "succeeded":
                pulled = job.result.get("projects", {})
                stored = sum(r.get("stored", 0) for r in pulled.values())
                report(f"reconcile pass {n}: {len(pulled)} projects pulled, {stored} annotations stored "
                       f"(job {job.pk}); next in {every:g} s")
            else:
                report(f"reconcile pass {n}: failed — {job.error} (job {job.pk}); next in {every:g} s")
        jobs.append(job)
        if max_runs is None or n < max_runs:
            sleep(every)
    return jobs
