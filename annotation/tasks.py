"""Background jobs of the annotation app (autodiscovered by refinery.jobs)."""
from __future__ import annotations

from refinery.jobs import JobContext, JobError, job_handler

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
    for project in ctx.track(projects, stage="Reconciling projects"):
        try:
            out[str(project.pk)] = labelstudio.project_pull(project=project, sync=sync)
        except labelstudio.LabelStudioError as exc:
            failed.append(project.pk)
            ctx.log(f"Project {project.pk}: {exc}", level="error")
    if failed:
        raise JobError(f"Reconcile failed for projects {failed}; the others were pulled. Run it again later.")
    return {"projects": out}
