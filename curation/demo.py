"""Demo data for `manage.py bootstrap`: collection ``demo`` with the corpus in curation/demo_data/ (idempotent)."""
from __future__ import annotations

from pathlib import Path

from .ingest.services import ingest_paths
from .models import Collection

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
DEMO_FOLDERS = ("medical", "finance", "customer_service")
DEMO_COLLECTION = "demo"


def demo_paths() -> list[Path]:
    return [DEMO_DATA / name for name in DEMO_FOLDERS]


def load(stdout, users) -> Collection:
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
    _demo_pipeline_run(stdout, collection, user)
    return collection


def _demo_pipeline_run(stdout, collection: Collection, user) -> None:
    """One run of the default pipeline, so the dashboards have data and demo v1 is PII-scrubbed."""
    from refinery.jobs import job_run_inline

    from .models import PipelineRun
    from .pipeline.services import JOB_KIND, pipeline_config_default, pipeline_run_create

    if PipelineRun.objects.filter(collection=collection, status=PipelineRun.Status.SUCCEEDED).exists():
        return
    config = pipeline_config_default(collection=collection)
    run = pipeline_run_create(collection=collection, config=config, executor="local")
    job = job_run_inline(kind=JOB_KIND, title=f"Pipeline {config.name} on {collection.name} (demo)",
                         params={"run_id": run.pk}, user=user, target=run, progress_bar=False)
    PipelineRun.objects.filter(pk=run.pk).update(job=job)
    run.refresh_from_db()
    stdout.write(f"- curation: demo pipeline run #{run.pk}: {run.status}\n")
