"""Curation reads, one section per area (functions take the requesting user where row rules apply)."""
from __future__ import annotations

from django.db.models import QuerySet

from .models import Collection, PipelineConfig, PipelineRun, RunOutput, RunRejection


# ---- pipelines, runs, dashboards (engine area) --------------------------------------------------
def pipeline_run_latest(*, collection: Collection) -> PipelineRun | None:
    """The collection's most recent successful pipeline run (None if it has none)."""
    return (PipelineRun.objects.filter(collection=collection, status=PipelineRun.Status.SUCCEEDED)
            .order_by("-finished_at", "-id").first())


def run_document_outputs(*, run: PipelineRun) -> dict[int, str]:
    """{document id: output text} for the documents the run kept."""
    return dict(RunOutput.objects.filter(run=run, document__isnull=False).values_list("document_id", "text").iterator())


def run_sample_outputs(*, run: PipelineRun) -> dict[int, list[dict]]:
    """{sample id: output messages} for the samples the run kept."""
    return dict(RunOutput.objects.filter(run=run, sample__isnull=False).values_list("sample_id", "messages").iterator())


def pipeline_config_list(*, collection: Collection | None = None) -> QuerySet[PipelineConfig]:
    qs = PipelineConfig.objects.select_related("collection")
    return qs.filter(collection=collection) if collection is not None else qs


def pipeline_run_list(*, collection: Collection | None = None) -> QuerySet[PipelineRun]:
    qs = PipelineRun.objects.select_related("collection", "config", "job")
    return qs.filter(collection=collection) if collection is not None else qs


def run_rejections(*, run: PipelineRun, step: str | None = None, reason: str | None = None) -> QuerySet[RunRejection]:
    qs = RunRejection.objects.filter(run=run)
    if step:
        qs = qs.filter(step=step)
    if reason:
        qs = qs.filter(reason=reason)
    return qs


def run_reason_counts(*, run: PipelineRun) -> list[dict]:
    """[{step, reason, n}] by step order then count (for the drop-reasons chart)."""
    from django.db.models import Count

    order = {name: i for i, name in enumerate(run.step_names)}
    rows = list(RunRejection.objects.filter(run=run).values("step", "reason").annotate(n=Count("id")))
    return sorted(rows, key=lambda r: (order.get(r["step"], 99), -r["n"]))


def run_duplicate_clusters(*, run: PipelineRun) -> QuerySet:
    """Rows {duplicate_of, n}: clusters of rejected duplicates, largest first."""
    from django.db.models import Count

    return (RunRejection.objects.filter(run=run).exclude(duplicate_of="").values("duplicate_of")
            .annotate(n=Count("id")).order_by("-n", "duplicate_of"))


def run_duplicate_cluster_count(*, run: PipelineRun) -> int:
    return RunRejection.objects.filter(run=run).exclude(duplicate_of="").values("duplicate_of").distinct().count()


def run_record_text(*, run: PipelineRun, record_id: str) -> tuple[str, str]:
    """(text as the run left it, where it came from) for a record id 'd12'/'s7'.

    Kept records → the run's output; rejected ones → their text when dropped; else the ingested text.
    """
    from .models import Document, Sample
    from .pipeline.services import parse_record_id

    parsed = parse_record_id(record_id)
    if parsed is None:
        return "", "unknown"
    kind, pk = parsed
    out = RunOutput.objects.filter(run=run, **{f"{kind}_id": pk}).first()
    if out is not None:
        return (out.text if kind == "document" else _messages_text(out.messages)), "kept"
    rej = RunRejection.objects.filter(run=run, record_id=record_id).first()
    if rej is not None:
        return rej.text, "rejected"
    if kind == "document":
        doc = Document.objects.filter(pk=pk).first()
        return (doc.text if doc else ""), "ingested"
    sample = Sample.objects.filter(pk=pk).first()
    return (_messages_text(sample.messages) if sample else ""), "ingested"


def _messages_text(messages) -> str:
    from .pipeline.base import record_text

    return record_text({"messages": messages or []})


# ---- glossary, quality classifier (steps area) ---------------------------------------------------
def glossary_terms(*, collection: Collection) -> QuerySet:
    """The collection's glossary terms, by canonical term."""
    from .models import GlossaryTerm

    return GlossaryTerm.objects.filter(collection=collection).order_by("canonical")


def glossary_terms_for_step(*, collection_name: str) -> list[dict]:
    """Terms in the glossary step's format for the named collection (raises StepConfigError if unknown)."""
    from .pipeline.base import StepConfigError

    collection = Collection.objects.filter(name=collection_name).first()
    if collection is None:
        raise StepConfigError(f"glossary: no collection named {collection_name!r}")
    return [t.as_dict() for t in glossary_terms(collection=collection)]


def quality_examples(*, collection: Collection) -> QuerySet:
    from .models import QualityExample

    return QualityExample.objects.filter(collection=collection).select_related("document")


def quality_example_counts(*, collection: Collection) -> dict[str, int]:
    from django.db.models import Count

    counts = dict(quality_examples(collection=collection).values_list("label").annotate(n=Count("id")).values_list("label", "n"))
    return {"accepted": counts.get("accepted", 0), "rejected": counts.get("rejected", 0)}


def quality_documents(*, collection: Collection, label: str = "") -> QuerySet:
    """Active documents with their quality label annotated (``quality_label``; "" when unlabelled).

    ``label``: "" all, "accepted", "rejected" or "unlabelled"."""
    from django.db.models import OuterRef, Subquery

    from .models import Document, QualityExample

    labels = QualityExample.objects.filter(document=OuterRef("pk")).values("label")[:1]
    qs = (Document.objects.filter(collection=collection, status=Document.Status.ACTIVE)
          .annotate(quality_label=Subquery(labels)).order_by("id"))
    if label in ("accepted", "rejected"):
        qs = qs.filter(quality_label=label)
    elif label == "unlabelled":
        qs = qs.filter(quality_label__isnull=True)
    return qs


def quality_classifier_active(*, collection: Collection | None = None, collection_name: str | None = None):
    """The collection's active trained classifier, or None."""
    from .models import QualityClassifier

    qs = QualityClassifier.objects.filter(is_active=True)
    qs = qs.filter(collection=collection) if collection is not None else qs.filter(collection__name=collection_name)
    return qs.order_by("-created_at", "-id").first()


def quality_classifiers(*, collection: Collection) -> QuerySet:
    from .models import QualityClassifier

    return QualityClassifier.objects.filter(collection=collection).order_by("-created_at", "-id")
