"""Dataset version reads (curator-only; callers check the role, these take the requesting user)."""
from __future__ import annotations

from itertools import islice

from django.db.models import QuerySet

from refinery.roles import CURATOR, require_role

from .export.base import iter_jsonl
from .models.datasets import SPLITS, DatasetVersion, EvaluationSet


def dataset_version_list(*, user, collection=None) -> QuerySet[DatasetVersion]:
    require_role(user, CURATOR)
    qs = DatasetVersion.objects.select_related("collection", "created_by", "parent")
    if collection is not None:
        qs = qs.filter(collection=collection)
    return qs.order_by("collection__name", "-number")


def dataset_version_get(*, user, pk: int) -> DatasetVersion:
    return dataset_version_list(user=user).get(pk=pk)


def dataset_version_records(*, version: DatasetVersion, split: str, offset: int = 0, limit: int = 20) -> list[dict]:
    """A page of canonical records of one split (streamed from the file, not loaded whole)."""
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; valid: {', '.join(SPLITS)}")
    path = version.split_file(split)
    if not path.exists():
        return []
    return list(islice(iter_jsonl(path), offset, offset + limit))


def evaluation_set_list(*, user) -> QuerySet[EvaluationSet]:
    require_role(user, CURATOR)
    return EvaluationSet.objects.all()
