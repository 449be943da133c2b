"""Demo data of the training app (called by `manage.py bootstrap`, idempotent), one section per area."""
from __future__ import annotations


def load(stdout, users) -> None:
    _load_datasets(stdout, users)


# ---- datasets
def _load_datasets(stdout, users) -> None:
    """Version v1 of the demo collection, so the Datasets page and "Train on this version" work at once."""
    from curation.models import Collection

    from .models import DatasetVersion
    from .services.datasets import DatasetError, dataset_version_create

    collection = Collection.objects.filter(name="demo").first()
    if collection is None or DatasetVersion.objects.filter(collection=collection).exists():
        return
    try:
        version = dataset_version_create(collection=collection, spec={}, user=users.get("curator"),
                                         notes="Demo version created by bootstrap.")
    except DatasetError as exc:
        stdout.write(f"- datasets: no demo version ({exc})")
        return
    stdout.write(f"- datasets: demo {version.name}: {version.n_train} train / {version.n_validation} validation / "
                 f"{version.n_test} test")

# ---- training runs
