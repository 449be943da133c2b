"""Demo data for `manage.py bootstrap`: collection ``demo`` with the corpus in curation/demo_data/ (idempotent).

The demo pipeline run happens once. When it failed, later runs of `make run` do not retry it (the
failed run is the record): they say so and how to retry (`manage.py bootstrap --retry-demo`).
"""
from __future__ import annotations

from pathlib import Path

from .ingest.services import ingest_paths
from .models import Collection

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
DEMO_FOLDERS = ("medical", "finance", "customer_service")
DEMO_COLLECTION = "demo"
RETRY_HINT = "retry with `.venv/bin/python manage.py bootstrap --retry-demo` or run it from the Pipelines page"


def demo_paths() -> list[Path]:
    return [DEMO_DATA / name for name in DEMO_FOLDERS]


def load(stdout, users, *, retry_failed: bool = False) -> Collection:
    user = users.get("curator") if users else None
    collection = Collection.objects.filter(name=DEMO_COLLECTION).first()
    if collection is None:
        from .ingest.services import collection_create

        collection = collection_create(
            name=DEMO_COLLECTION, title="Demo corpus (medical · finance · customer service)", domain="mixed",
            description="Chinese and English documents and instruction samples with PII, duplicates and noise.",
            user=user)
    report = ingest_paths(collection=collection, paths=demo_paths(), user=user)
    stdout.write(f"- curation: demo collection: {report.count('ingested') + report.count('partial')} files ingested, "
                 f"{report.count('already present')} already present, {report.count('error')} errors "
                 f"({collection.documents.count()} documents, {collection.samples.count()} samples)\n")
    _demo_pipeline_run(stdout, collection, user, retry_failed=retry_failed)
    return collection


def _demo_pipeline_run(stdout, collection: Collection, user, *, retry_failed: bool = False) -> None:
    """One run of the default pipeline, so the dashboards have data and demo v1 is PII-scrubbed."""
    from refinery.jobs import job_run_inline

    from .models import PipelineRun
    from .pipeline.services import JOB_KIND, PipelineError, pipeline_config_default, pipeline_run_create

    runs = PipelineRun.objects.filter(collection=collection)
    if runs.filter(status=PipelineRun.Status.SUCCEEDED).exists():
        return
    failed = runs.filter(status__in=(PipelineRun.Status.FAILED, PipelineRun.Status.CANCELLED)).order_by("-pk").first()
    if failed is not None and not retry_failed:
        reason = (failed.error.strip().splitlines() or [failed.status])[-1][:200]
        stdout.write(f"- curation: demo pipeline run #{failed.pk} {failed.status} earlier ({reason}); not retried "
                     f"automatically — {RETRY_HINT}\n")
        return
    try:
        config = pipeline_config_default(collection=collection)
        run = pipeline_run_create(collection=collection, config=config, executor="local")
    except PipelineError as exc:
        stdout.write(f"- curation: no demo pipeline run ({exc})\n")
        return
    job = job_run_inline(kind=JOB_KIND, title=f"Pipeline {config.name} on {collection.name} (demo)",
                         params={"run_id": run.pk}, user=user, target=run, progress_bar=False)
    PipelineRun.objects.filter(pk=run.pk).update(job=job)
    run.refresh_from_db()
    stdout.write(f"- curation: demo pipeline run #{run.pk}: {run.status}\n")
    if run.status != PipelineRun.Status.SUCCEEDED:
        stdout.write(f"  not retried automatically by later runs of `make run` — {RETRY_HINT}\n")
