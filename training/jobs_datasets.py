"""Job handlers of the datasets area (registered from training/tasks.py)."""
from __future__ import annotations

from django.apps import apps
from django.urls import reverse

from refinery.jobs import JobContext, JobError, job_handler

from .dataset_spec import DatasetSpecError
from .export.base import ExportError


@job_handler("training.dataset_create")
def dataset_create_job(ctx: JobContext, *, collection_id: int, spec: dict, notes: str = "") -> dict:
    from .services.datasets import DatasetError, dataset_version_create

    Collection = apps.get_model("curation", "Collection")
    collection = Collection.objects.filter(pk=collection_id).first()
    if collection is None:
        raise JobError(f"Collection {collection_id} no longer exists")
    try:
        version = dataset_version_create(collection=collection, spec=spec, user=ctx.job.created_by, notes=notes, ctx=ctx)
    except (DatasetSpecError, DatasetError, ExportError) as exc:
        raise JobError(str(exc)) from exc
    return {"version_id": version.pk, "name": version.name, "collection": collection.name,
            "n_train": version.n_train, "n_validation": version.n_validation, "n_test": version.n_test,
            "url": reverse("training:dataset_detail", args=[version.pk])}
