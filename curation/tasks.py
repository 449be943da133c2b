"""Job handlers of the curation app (autodiscovered by refinery.jobs)."""
from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings

from refinery.jobs import JobContext, JobError, job_handler

from .ingest.services import JOB_KIND, ingest_paths
from .models import Collection


@job_handler(JOB_KIND)
def ingest_job(ctx: JobContext, *, collection_id: int, paths: list[str], names: dict | None = None,
               cleanup_dir: str | None = None) -> dict:
    """Ingest files into a collection; the result is the per-file report."""
    try:
        collection = Collection.objects.filter(pk=collection_id).first()
        if collection is None:
            raise JobError(f"Collection {collection_id} no longer exists.")
        report = ingest_paths(collection=collection, paths=paths, ctx=ctx, names=names)
        ctx.log(f"{report.count('ingested')} ingested, {report.count('partial')} partial, "
                f"{report.count('already present')} already present, {report.count('error')} errors; "
                f"{report.documents} documents, {report.samples} samples")
        return report.as_dict()
    finally:
        # Staged uploads are removed once ingested (raw files are kept under UPLOADS_DIR).
        if cleanup_dir:
            staged = Path(cleanup_dir).resolve()
            if staged.parent == (Path(settings.DATA_DIR) / "incoming").resolve():
                shutil.rmtree(staged, ignore_errors=True)


# ---- pipeline runs (engine area)
from .pipeline.services import JOB_KIND as PIPELINE_JOB_KIND  # noqa: E402


@job_handler(PIPELINE_JOB_KIND)
def pipeline_run_job(ctx: JobContext, *, run_id: int) -> dict:
    """Execute a queued pipeline run; the result is its engine report (per-step counts and timings)."""
    from .models import PipelineRun
    from .pipeline.services import pipeline_run_execute

    run = PipelineRun.objects.filter(pk=run_id).select_related("collection").first()
    if run is None:
        raise JobError(f"Pipeline run {run_id} no longer exists.")
    run = pipeline_run_execute(run=run, ctx=ctx)
    ctx.log(f"{run.n_input} records in, {run.n_output} kept, {run.n_rejected} rejected in {run.seconds:.1f}s")
    return {"run_id": run.pk, "input": run.n_input, "output": run.n_output, "rejected": run.n_rejected}


# ---- samples, builders, augmentation (augment area)
from .augment.services import JOB_KIND as AUGMENT_JOB_KIND, augment_job  # noqa: E402

job_handler(AUGMENT_JOB_KIND)(augment_job)
from .builders.services import (  # noqa: E402
    QA_JOB_KIND, TEMPLATE_JOB_KIND, qa_build_job, template_build_job,
)

job_handler(TEMPLATE_JOB_KIND)(template_build_job)
job_handler(QA_JOB_KIND)(qa_build_job)
