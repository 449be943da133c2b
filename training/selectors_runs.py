"""Training run / adapter reads (curator-only; these take the requesting user)."""
from __future__ import annotations

from pathlib import Path

from django.db.models import QuerySet

from refinery.roles import CURATOR, require_role

from .basemodels import BUNDLED_NAME, base_model_registry, base_model_resolve
from .models.runs import Adapter, LayerImportance, TrainingRun


def base_model_path(name: str = BUNDLED_NAME) -> Path:
    """Local folder of a base model (the bundled one is converted on first use)."""
    p = base_model_resolve(name)
    return p if isinstance(p, Path) else Path(p)


def base_model_list():
    return base_model_registry()


def run_list(*, user, collection=None) -> QuerySet[TrainingRun]:
    require_role(user, CURATOR)
    qs = TrainingRun.objects.select_related("dataset_version__collection", "created_by", "job")
    if collection is not None:
        qs = qs.filter(dataset_version__collection=collection)
    return qs


def run_get(*, user, pk: int) -> TrainingRun:
    return run_list(user=user).get(pk=pk)


def adapter_list(*, user, collection=None) -> QuerySet[Adapter]:
    require_role(user, CURATOR)
    qs = Adapter.objects.select_related("collection", "run__dataset_version")
    if collection is not None:
        qs = qs.filter(collection=collection)
    return qs


def adapter_get(*, user, pk: int) -> Adapter:
    return adapter_list(user=user).get(pk=pk)


def layer_report_list(*, user, dataset_version=None) -> QuerySet[LayerImportance]:
    require_role(user, CURATOR)
    qs = LayerImportance.objects.select_related("dataset_version__collection", "job")
    if dataset_version is not None:
        qs = qs.filter(dataset_version=dataset_version)
    return qs
