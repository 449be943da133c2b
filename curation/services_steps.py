"""Writes for the steps area: glossary terms and the trainable quality classifier.

Keyword-only functions named ``<entity>_<action>``; multi-row writes are atomic; files are written to a
temporary name and renamed. Bad input raises ``ValidationError`` saying what and where.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from refinery.models import audit_log

from .models import Collection, Document, GlossaryTerm, QualityClassifier, QualityExample
from .pipeline.base import StepConfigError
from .pipeline.steps.glossary import parse_terms
from .pipeline.steps.quality_model import ClassifierTrainingError, save_classifier, train_classifier

MAX_TERM_LENGTH = 200


# ------------------------------------------------------------------------------------ glossary
def split_terms(value: str | list | None) -> list[str]:
    """"a, b ; c" or a list → ["a", "b", "c"] (commas, semicolons, Chinese commas or new lines separate)."""
    if value is None:
        return []
    if isinstance(value, list):
        items = value
    else:
        for sep in ("；", "，", "、", ";", "\n"):
            value = value.replace(sep, ",")
        items = value.split(",")
    out: list[str] = []
    for item in items:
        item = str(item).strip()
        if item and item not in out:
            out.append(item)
    return out


def _clean_term(canonical: str, variants: list[str], synonyms: list[str]) -> tuple[str, list[str], list[str]]:
    canonical = (canonical or "").strip()
    if not canonical:
        raise ValidationError({"canonical": "The canonical term is required."})
    for field, values in (("canonical", [canonical]), ("variants", variants), ("synonyms", synonyms)):
        for v in values:
            if len(v) > MAX_TERM_LENGTH:
                raise ValidationError({field: f"'{v[:40]}…' is longer than {MAX_TERM_LENGTH} characters."})
    variants = [v for v in variants if v != canonical]
    clash = sorted(set(variants) & set(synonyms))
    if clash:
        raise ValidationError({"synonyms": f"{', '.join(clash)} cannot be both a variant and a synonym."})
    return canonical, variants, synonyms


def _variant_owner(collection: Collection, variants: list[str], exclude_pk: int | None) -> str | None:
    """A variant already mapped to another canonical term in the collection (ambiguous replacement)."""
    wanted = {v.casefold() for v in variants}
    for term in GlossaryTerm.objects.filter(collection=collection).exclude(pk=exclude_pk):
        for v in term.variants:
            if v.casefold() in wanted:
                return f"'{v}' is already a variant of '{term.canonical}'."
    return None


def glossary_term_create(*, collection: Collection, canonical: str, variants: list[str] | str = (),
                         synonyms: list[str] | str = (), note: str = "") -> GlossaryTerm:
    canonical, variants, synonyms = _clean_term(canonical, split_terms(variants), split_terms(synonyms))
    if GlossaryTerm.objects.filter(collection=collection, canonical=canonical).exists():
        raise ValidationError({"canonical": f"'{canonical}' is already in this glossary."})
    problem = _variant_owner(collection, variants, None)
    if problem:
        raise ValidationError({"variants": problem})
    try:
        return GlossaryTerm.objects.create(collection=collection, canonical=canonical, variants=variants,
                                           synonyms=synonyms, note=note.strip()[:500])
    except IntegrityError:
        raise ValidationError({"canonical": f"'{canonical}' is already in this glossary."}) from None


def glossary_term_update(*, term: GlossaryTerm, canonical: str, variants: list[str] | str = (),
                         synonyms: list[str] | str = (), note: str = "") -> GlossaryTerm:
    canonical, variants, synonyms = _clean_term(canonical, split_terms(variants), split_terms(synonyms))
    if GlossaryTerm.objects.filter(collection=term.collection, canonical=canonical).exclude(pk=term.pk).exists():
        raise ValidationError({"canonical": f"'{canonical}' is already in this glossary."})
    problem = _variant_owner(term.collection, variants, term.pk)
    if problem:
        raise ValidationError({"variants": problem})
    term.canonical, term.variants, term.synonyms, term.note = canonical, variants, synonyms, note.strip()[:500]
    term.save()
    return term


def glossary_term_delete(*, term: GlossaryTerm) -> None:
    term.delete()


def glossary_export(*, collection: Collection) -> list[dict]:
    """The glossary in the glossary step's ``terms_file`` format."""
    return [t.as_dict() for t in GlossaryTerm.objects.filter(collection=collection).order_by("canonical")]


def glossary_import(*, collection: Collection, data: bytes | str | list | dict, replace: bool = False) -> int:
    """Import terms (the export format or ``{canonical: [variants]}``); all or nothing. Returns the count.

    Existing canonical terms are updated (variants/synonyms merged); ``replace`` deletes the old glossary first.
    """
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data.decode("utf-8-sig") if isinstance(data, bytes) else data)
        except UnicodeDecodeError:
            raise ValidationError("The glossary file is not UTF-8 text.") from None
        except json.JSONDecodeError as exc:
            raise ValidationError(f"The glossary file is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}.") from None
    try:
        terms = parse_terms(data, where="the file")
    except StepConfigError as exc:
        raise ValidationError(str(exc).removeprefix("glossary: ")) from None
    with transaction.atomic():
        if replace:
            GlossaryTerm.objects.filter(collection=collection).delete()
        existing = {t.canonical: t for t in GlossaryTerm.objects.filter(collection=collection)}
        for i, item in enumerate(terms, 1):
            try:
                canonical, variants, synonyms = _clean_term(item["canonical"], item["variants"], item["synonyms"])
            except ValidationError as exc:
                raise ValidationError(f"Term {i} ({item['canonical'][:40]}): {'; '.join(exc.messages)}") from None
            term = existing.get(canonical)
            if term is None:
                existing[canonical] = GlossaryTerm.objects.create(collection=collection, canonical=canonical,
                                                                  variants=variants, synonyms=synonyms)
            else:
                term.variants = list(dict.fromkeys(list(term.variants) + variants))
                term.synonyms = list(dict.fromkeys(list(term.synonyms) + synonyms))
                term.save()
        audit_log(obj=collection, action="glossary_import", details={"terms": len(terms), "replace": replace})
    return len(terms)


# ------------------------------------------------------------------------------------ quality classifier
def quality_example_set(*, document: Document, label: str) -> QualityExample | None:
    """Mark a document accepted / rejected for the quality classifier; "" removes the mark."""
    if label not in ("", QualityExample.Label.ACCEPTED, QualityExample.Label.REJECTED):
        raise ValidationError({"label": f"Label must be accepted, rejected or empty, not {label!r}."})
    existing = QualityExample.objects.filter(document=document).first()
    if not label:
        if existing:
            existing.delete()
        return None
    if existing:
        if existing.label != label:
            existing.label = label
            existing.save()
        return existing
    return QualityExample.objects.create(collection=document.collection, document=document, label=label)


def quality_classifier_dir() -> Path:
    return Path(settings.DATA_DIR) / "quality"


def quality_classifier_train(*, collection: Collection) -> QualityClassifier:
    """Train on the collection's accepted/rejected documents; the new classifier becomes the active one.

    Raises ValidationError when there are too few examples of either class.
    """
    rows = list(QualityExample.objects.filter(collection=collection).values_list("document__text", "label"))
    texts = [t for t, _ in rows]
    labels = [1 if lab == QualityExample.Label.ACCEPTED else 0 for _, lab in rows]
    try:
        result = train_classifier(texts, labels)
    except ClassifierTrainingError as exc:
        raise ValidationError(str(exc)) from None
    folder = quality_classifier_dir()
    with transaction.atomic():
        clf = QualityClassifier.objects.create(collection=collection, path="", n_accepted=result.n_accepted,
                                               n_rejected=result.n_rejected, cv_scores=result.cv_scores,
                                               cv_accuracy=result.cv_accuracy, is_active=True)
        path = save_classifier(result.model, folder / f"{collection.name}-{clf.pk}.joblib")
        clf.path = str(path)
        clf.save(update_fields=["path"])
        QualityClassifier.objects.filter(collection=collection).exclude(pk=clf.pk).update(is_active=False)
    return clf


def quality_classifier_step_options(*, classifier: QualityClassifier) -> dict[str, Any]:
    """Options that make the quality step use this classifier (for a pipeline config)."""
    return {"classifier_collection": classifier.collection.name}

