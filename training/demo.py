"""Demo data of the training app (called by `manage.py bootstrap`, idempotent), one section per area."""
from __future__ import annotations


def load(stdout, users, *, retry_failed: bool = False) -> None:
    _load_datasets(stdout, users)
    _load_runs(stdout, users, retry_failed=retry_failed)


# ---- datasets
def _load_datasets(stdout, users) -> None:
    """Version v1 of the demo collection, so the Datasets page and "Train on this version" work at once."""
    from curation.models import Collection

    from .models import DatasetVersion
    from .services.datasets import DatasetError, dataset_version_create

    collection = Collection.objects.filter(name="demo").first()
    if collection is None or DatasetVersion.objects.filter(collection=collection).exists():
        return
    from curation.selectors import pipeline_run_latest

    # Built from the demo pipeline run's output when there is one (PII scrubbed, duplicates dropped).
    spec = {"pipeline_run": "latest"} if pipeline_run_latest(collection=collection) else {}
    try:
        version = dataset_version_create(collection=collection, spec=spec, user=users.get("curator"),
                                         notes="Demo version created by bootstrap.")
    except DatasetError as exc:
        stdout.write(f"- datasets: no demo version ({exc})")
        return
    stdout.write(f"- datasets: demo {version.name}: {version.n_train} train / {version.n_validation} validation / "
                 f"{version.n_test} test")

# ---- training runs
# Few, short steps: `make run` should end quickly with one trained (and promoted, so served) adapter.
DEMO_RUN_CONFIG = {"max_steps": 8, "max_seq_len": 256, "batch_size": 2, "learning_rate": 5e-4,
                   "eval_max_samples": 16, "eval_generate_samples": 2, "eval_max_new_tokens": 32}


def _load_runs(stdout, users, *, retry_failed: bool = False) -> None:
    """Train a tiny demo adapter on the demo collection's latest version (skip if none, or if done).

    A failed run is not retried by later runs of `make run` (they say how to retry), only with
    `manage.py bootstrap --retry-demo`."""
    from .models import Adapter, DatasetVersion, TrainingRun
    from .services.runs import RunError, adapter_promote, run_create, run_execute_inline

    version = (DatasetVersion.objects.filter(collection__name="demo", status=DatasetVersion.Status.READY)
               .order_by("-number").first())
    if version is None or Adapter.objects.filter(collection=version.collection).exists():
        return
    failed = (TrainingRun.objects.filter(dataset_version__collection=version.collection,
                                         status__in=(TrainingRun.Status.FAILED, TrainingRun.Status.CANCELLED))
              .order_by("-pk").first())
    if failed is not None and not retry_failed:
        stdout.write(f"- training: demo run #{failed.pk} {failed.status} earlier; not retried automatically — retry "
                     f"with `.venv/bin/python manage.py bootstrap --retry-demo` or from the Training page\n")
        return
    stdout.write(f"- training: demo adapter on {version} ({DEMO_RUN_CONFIG['max_steps']} steps, CPU)")
    try:
        run = run_create(dataset_version=version, user=users.get("curator"), config=dict(DEMO_RUN_CONFIG))
    except RunError as exc:
        stdout.write(f"- training: no demo run ({exc})")
        return
    job = run_execute_inline(run=run, progress_bar=True)
    adapter = Adapter.objects.filter(run=run).first()
    if adapter is None:
        stdout.write(f"- training: demo run #{run.pk} {job.status}: {job.error[:500]}")
        return
    adapter_promote(adapter=adapter, user=users.get("curator"))
    stdout.write(f"- training: demo adapter {adapter.serve_name} ({run.eval_after.get('split', 'held-out')} loss "
                 f"{run.eval_before.get('loss', float('nan')):.3f} → {run.eval_after.get('loss', float('nan')):.3f}), promoted")

