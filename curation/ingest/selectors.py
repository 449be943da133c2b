"""Reads for collections, source files, documents and samples (pages and API use these).

Collections and their contents are curator data: callers check the curator role (pages with
``@role_required(CURATOR)``, API with ``IsCurator``); the selectors take the requesting user so a
row rule can be added in one place.
"""
from __future__ import annotations

import dataclasses
import json

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from ..models import Collection, Document, Sample, SourceFile
from .search import document_search


def _count_of(model) -> Coalesce:
    """A correlated COUNT subquery per collection (joining three children would multiply rows)."""
    counts = (model.objects.filter(collection=OuterRef("pk")).order_by().values("collection")
              .annotate(c=Count("id")).values("c"))
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def collection_list(*, user) -> QuerySet[Collection]:
    return Collection.objects.annotate(
        n_documents=_count_of(Document), n_samples=_count_of(Sample), n_files=_count_of(SourceFile),
    ).order_by("name")


def collection_get(*, user, pk: int | None = None, name: str | None = None) -> Collection:
    qs = Collection.objects.all()
    return qs.get(pk=pk) if pk is not None else qs.get(name=name)


@dataclasses.dataclass
class CollectionStats:
    documents: int
    active_documents: int
    samples: int
    files: int
    files_by_status: dict[str, int]
    bytes: int
    characters: int
    languages: dict[str, int]       # documents per language
    formats: dict[str, int]         # source files per format
    sample_origins: dict[str, int]


def collection_stats(*, user, collection: Collection) -> CollectionStats:
    docs = Document.objects.filter(collection=collection)
    files = SourceFile.objects.filter(collection=collection)
    agg = docs.aggregate(n=Count("id"), active=Count("id", filter=Q(status=Document.Status.ACTIVE)),
                         chars=Sum("char_count"))
    return CollectionStats(
        documents=agg["n"], active_documents=agg["active"],
        samples=Sample.objects.filter(collection=collection).count(),
        files=files.count(),
        files_by_status=dict(files.values_list("status").annotate(c=Count("id")).order_by()),
        bytes=files.aggregate(b=Sum("size"))["b"] or 0,
        characters=agg["chars"] or 0,
        languages={k or "unknown": v for k, v in docs.values_list("language").annotate(c=Count("id")).order_by("-c")},
        formats=dict(files.values_list("format").annotate(c=Count("id")).order_by("-c")),
        sample_origins=dict(Sample.objects.filter(collection=collection).values_list("origin")
                            .annotate(c=Count("id")).order_by("-c")),
    )


def source_file_list(*, user, collection: Collection, status: str | None = None) -> QuerySet[SourceFile]:
    qs = SourceFile.objects.filter(collection=collection).order_by("name", "id")
    if status:
        qs = qs.filter(status=status)
    return qs


def document_list(*, user, collection: Collection | None = None, q: str = "", language: str = "",
                  source_file: int | str | None = None, status: str = "") -> QuerySet[Document]:
    """Documents, filtered and searched (full-text, see search.py); newest ingest order (by id)."""
    qs = Document.objects.select_related("source_file", "collection").defer("meta")
    if collection is not None:
        qs = qs.filter(collection=collection)
    if language:
        qs = qs.filter(language="" if language == "unknown" else language)
    if source_file not in (None, ""):
        qs = qs.filter(source_file_id=source_file)
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = document_search(qs, q)
    return qs.order_by("id")


def document_get(*, user, pk: int, collection: Collection | None = None) -> Document:
    qs = Document.objects.select_related("source_file", "collection")
    if collection is not None:
        qs = qs.filter(collection=collection)
    return qs.get(pk=pk)


def document_languages(*, user, collection: Collection) -> list[str]:
    return [lang or "unknown" for lang in Document.objects.filter(collection=collection)
            .order_by("language").values_list("language", flat=True).distinct()]


def sample_list(*, user, collection: Collection | None = None, q: str = "", origin: str = "",
                language: str = "", intent: str = "", source_file: int | str | None = None) -> QuerySet[Sample]:
    qs = Sample.objects.select_related("source_file", "collection")
    if collection is not None:
        qs = qs.filter(collection=collection)
    if origin:
        qs = qs.filter(origin=origin)
    if language:
        qs = qs.filter(language=language)
    if intent:
        qs = qs.filter(intent=intent)
    if source_file not in (None, ""):
        qs = qs.filter(source_file_id=source_file)
    for term in q.split():
        # messages is JSON text; a substring search is enough for the basic sample list.
        # SQLite stores JSON with \\u escapes: match the escaped form too.
        escaped = json.dumps(term)[1:-1]
        qs = qs.filter(Q(messages__icontains=term) | Q(messages__icontains=escaped) | Q(intent__icontains=term))
    return qs.order_by("id")


def sample_get(*, user, pk: int, collection: Collection | None = None) -> Sample:
    qs = Sample.objects.select_related("source_file", "collection")
    if collection is not None:
        qs = qs.filter(collection=collection)
    return qs.get(pk=pk)


@dataclasses.dataclass
class DocumentRunResult:
    """What the collection's latest successful pipeline run did with one document."""

    run: object                 # curation.models.PipelineRun
    output: object | None       # RunOutput when the run kept the document
    rejection: object | None    # RunRejection when a step dropped it


def document_latest_run_result(*, user, document: Document) -> DocumentRunResult | None:
    """The latest run's output or rejection for ``document`` (None when the collection has no run)."""
    from ..models import RunOutput, RunRejection
    from ..selectors import pipeline_run_latest

    run = pipeline_run_latest(collection=document.collection)
    if run is None:
        return None
    return DocumentRunResult(
        run=run,
        output=RunOutput.objects.filter(run=run, document=document).first(),
        rejection=RunRejection.objects.filter(run=run, document=document).first(),
    )
