"""Writes for the annotation app: projects, balanced assignment, annotations, adjudication."""
from __future__ import annotations

from collections import Counter
from typing import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from curation.models import Collection, Document, Sample
from refinery.models import audit_log
from refinery.roles import ANNOTATOR, has_role

from . import analysis, selectors
from .models import Adjudication, Annotation, Assignment, Item, LabelingProject
from .schemes import LabelError, Scheme, SchemeError


class AnnotationError(ValueError):
    """A user error in the annotation workflow (shown as it is)."""


# ------------------------------------------------------------------------------------ projects
@transaction.atomic
def project_create(*, name: str, collection: Collection, scheme: dict, user=None, target: str = "sample",
                   overlap: int = 2, annotators: Iterable = (), sample_ids: Iterable[int] | None = None,
                   document_ids: Iterable[int] | None = None, gold: dict[int, dict] | None = None,
                   instructions: str = "", agreement_threshold: float | None = None) -> LabelingProject:
    """Create a project over samples (or documents) of ``collection`` and assign annotators.

    ``gold`` maps sample/document id → its known label (validated against the scheme); gold items
    go to every annotator so each one can be scored.
    """
    parsed = Scheme.from_dict(scheme)  # raises SchemeError with the field at fault
    if target not in LabelingProject.Target.values:
        raise AnnotationError(f"target must be 'sample' or 'document', not {target!r}")
    annotators = list(annotators)
    not_annotators = [u.username for u in annotators if not has_role(u, ANNOTATOR)]
    if not_annotators:
        raise AnnotationError(f"These users have no annotator role: {', '.join(not_annotators)}")
    if overlap < 1:
        raise AnnotationError("overlap must be at least 1")
    if annotators and overlap > len(annotators):
        raise AnnotationError(f"overlap {overlap} needs at least {overlap} annotators, got {len(annotators)}")
    project = LabelingProject(name=name, collection=collection, scheme=parsed.to_dict(), target=target,
                              overlap=overlap, instructions=instructions)
    if agreement_threshold is not None:
        if not 0 <= agreement_threshold <= 1:
            raise AnnotationError("agreement threshold must be between 0 and 1")
        project.agreement_threshold = agreement_threshold
    project.save()
    project.annotators.set(annotators)
    if target == "sample":
        qs = Sample.objects.filter(collection=collection)
        if sample_ids is not None:
            qs = qs.filter(pk__in=list(sample_ids))
        ids = list(qs.order_by("id").values_list("id", flat=True))
        fk = "sample_id"
    else:
        qs = Document.objects.filter(collection=collection, status=Document.Status.ACTIVE)
        if document_ids is not None:
            qs = qs.filter(pk__in=list(document_ids))
        ids = list(qs.order_by("id").values_list("id", flat=True))
        fk = "document_id"
    if not ids:
        raise AnnotationError(f"Collection {collection.name} has no {target}s to label (with that selection).")
    gold = gold or {}
    unknown = set(gold) - set(ids)
    if unknown:
        raise AnnotationError(f"Gold labels for {target}s not in the project: {sorted(unknown)[:5]}")
    items = []
    for pos, obj_id in enumerate(ids):
        g = gold.get(obj_id)
        if g is not None:
            try:
                g = parsed.validate_label(g)
            except LabelError as exc:
                raise AnnotationError(f"Gold label for {target} {obj_id}: {exc}") from None
        items.append(Item(project=project, position=pos, is_gold=g is not None, gold_label=g, **{fk: obj_id}))
    Item.objects.bulk_create(items, batch_size=1000)
    audit_log(obj=project, action="create_items", user=user, summary=f"{len(items)} items in {project.name}")
    if annotators:
        project_assign(project=project, user=user)
    return project


@transaction.atomic
def project_assign(*, project: LabelingProject, user=None) -> int:
    """Give each item ``overlap`` distinct annotators, least-loaded first; gold items go to all.

    Idempotent: existing assignments stay, only missing ones are added. Returns how many were made.
    """
    annotators = list(project.annotators.order_by("id"))
    if not annotators:
        raise AnnotationError("Add annotators to the project first.")
    overlap = min(project.overlap, len(annotators))
    existing = Counter()
    have: dict[int, set[int]] = {}
    for item_id, ann_id in Assignment.objects.filter(item__project=project).values_list("item_id", "annotator_id"):
        existing[ann_id] += 1
        have.setdefault(item_id, set()).add(ann_id)
    load = {u.pk: existing.get(u.pk, 0) for u in annotators}
    new = []
    for item_id, is_gold in project.items.order_by("position", "id").values_list("id", "is_gold"):
        got = have.get(item_id, set())
        want = len(annotators) if is_gold else overlap
        need = want - len(got)
        if need <= 0:
            continue
        # least loaded first; ties by id keep it deterministic
        candidates = sorted((pk for pk in load if pk not in got), key=lambda pk: (load[pk], pk))[:need]
        for pk in candidates:
            new.append(Assignment(item_id=item_id, annotator_id=pk))
            load[pk] += 1
    Assignment.objects.bulk_create(new, batch_size=1000)
    audit_log(obj=project, action="assign", user=user, summary=f"{len(new)} assignments", details={"load": load})
    return len(new)


# ---------------------------------------------------------------------------------- annotating
def _clean_label(item: Item, label: dict) -> dict:
    scheme = item.project.parsed_scheme
    return scheme.validate_label(label, text=selectors.item_text(item))


@transaction.atomic
def annotation_submit(*, item: Item, annotator, label: dict, source: str = Annotation.Source.BUILTIN,
                      lead_time: float | None = None, ls_annotation_id: int | None = None,
                      require_assignment: bool = True) -> Annotation:
    """Validate and store (or replace) ``annotator``'s label for ``item``; marks the assignment done.

    Raises LabelError (per-field messages) when the label does not fit the scheme.
    """
    clean = _clean_label(item, label)
    assignment = Assignment.objects.select_for_update().filter(item=item, annotator=annotator).first()
    if assignment is None:
        if require_assignment:
            raise AnnotationError("This item is not in your queue.")
        # Label Studio does not enforce assignments; an annotation made there is kept, not lost.
        assignment = Assignment.objects.create(item=item, annotator=annotator)
    ann = Annotation.objects.filter(item=item, annotator=annotator).first() or Annotation(item=item, annotator=annotator)
    ann.label = clean
    ann.source = source
    if lead_time is not None:
        ann.lead_time = max(0.0, float(lead_time))
    if ls_annotation_id is not None:
        # the Label Studio annotation now belongs to another of our users (its email changed): keep the old copy
        Annotation.objects.filter(ls_annotation_id=ls_annotation_id).exclude(pk=ann.pk).update(
            ls_annotation_id=None, stale_since=timezone.now(),
            stale_reason=f"Label Studio annotation {ls_annotation_id} now belongs to {annotator.username}")
        ann.ls_annotation_id = ls_annotation_id
    ann.stale_reason, ann.stale_since = "", None
    ann.save()
    _labels_changed(item.project_id)
    if assignment.status != Assignment.Status.DONE:
        assignment.status = Assignment.Status.DONE
        assignment.save(update_fields=["status"])
    return ann


@transaction.atomic
def annotation_delete(*, annotation: Annotation) -> None:
    """Remove an annotation (e.g. deleted in Label Studio); the assignment goes back to pending."""
    Assignment.objects.filter(item_id=annotation.item_id, annotator_id=annotation.annotator_id).update(
        status=Assignment.Status.PENDING)
    project_id = Item.objects.filter(pk=annotation.item_id).values_list("project_id", flat=True).first()
    annotation.delete()
    _labels_changed(project_id)


def _labels_changed(project_id: int | None) -> None:
    """Note that a project's annotations changed (its cached agreement gate is recomputed on next use)."""
    if project_id is not None:
        LabelingProject.objects.filter(pk=project_id).update(labels_changed_at=timezone.now())


def annotation_mark_stale(*, annotation: Annotation, reason: str) -> Annotation:
    """Keep ``annotation`` but flag it: its source (Label Studio) has a version we could not take over."""
    reason = reason.strip()[:2000]
    if annotation.stale_reason != reason:
        annotation.stale_reason = reason
        annotation.stale_since = annotation.stale_since or timezone.now()
        annotation.save(update_fields=["stale_reason", "stale_since", "updated_at"])
    return annotation


def assignment_open(*, assignment: Assignment) -> Assignment:
    if assignment.opened_at is None:
        assignment.opened_at = timezone.now()
        assignment.save(update_fields=["opened_at"])
    return assignment


def assignment_skip(*, assignment: Assignment) -> Assignment:
    if assignment.status == Assignment.Status.DONE:
        raise AnnotationError("This item is already labelled.")
    assignment.status = Assignment.Status.SKIPPED
    assignment.save(update_fields=["status"])
    return assignment


@transaction.atomic
def item_set_gold(*, item: Item, label: dict | None, user=None) -> Item:
    """Make ``item`` a gold item with a known label (None: no longer gold). Gold items go to every annotator."""
    if label is None:
        item.is_gold, item.gold_label = False, None
    else:
        item.is_gold, item.gold_label = True, _clean_label(item, label)
    item.save(update_fields=["is_gold", "gold_label"])
    if item.is_gold and item.project.annotators.exists():
        project_assign(project=item.project, user=user)
    return item


# -------------------------------------------------------------------------------- adjudication
@transaction.atomic
def item_adjudicate(*, item: Item, method: str, user=None, final_label: dict | None = None,
                    note: str = "", automatic: bool = False) -> Adjudication:
    """Store the final label of an item, who decided and how (majority / curator / gold).

    ``automatic``: made by the bulk majority vote (``project_adjudicate_majority``), not by a curator
    on the item itself — such decisions stop counting while the project is below the agreement gate.
    """
    scheme = item.project.parsed_scheme
    labels = list(item.annotations.values_list("label", flat=True))
    if method == Adjudication.Method.MAJORITY:
        final, why = analysis.majority_label(scheme, labels)
        if final is None:
            raise AnnotationError(f"Item {item.pk}: no majority ({why}); a curator has to decide.")
    elif method == Adjudication.Method.CURATOR:
        if final_label is None:
            raise AnnotationError("A curator decision needs the final label.")
        final = _clean_label(item, final_label)
    elif method == Adjudication.Method.GOLD:
        if not item.is_gold or not item.gold_label:
            raise AnnotationError(f"Item {item.pk} has no gold label.")
        final = item.gold_label
    else:
        raise AnnotationError(f"Unknown adjudication method {method!r}")
    agreement = analysis.item_agreement_map(scheme, [(item.pk, a, lab) for a, lab in
                                                     item.annotations.values_list("annotator_id", "label")])
    adj = Adjudication.objects.filter(item=item).first() or Adjudication(item=item)
    adj.final_label = final
    adj.method = method
    adj.decided_by = user
    adj.agreement = agreement.get(item.pk)
    adj.note = note
    adj.automatic = automatic
    adj.save()
    return adj


def project_adjudicate_majority(*, project: LabelingProject, user=None) -> dict:
    """Majority-vote every item at or above the agreement threshold; gold items take their gold label.

    Items below the threshold or without a majority stay in the review queue for a curator. A
    project below the gate (``selectors.project_gate``) gets no majority decisions at all — every
    item waits for a curator, or the curator accepts the project first (``project_gate_accept``).
    """
    gate = selectors.project_gate(project)
    agreement = selectors.project_item_agreement(project)
    decided = set(Adjudication.objects.filter(item__project=project).values_list("item_id", flat=True))
    counts = Counter()
    with transaction.atomic():
        for item in project.items.exclude(pk__in=decided).select_related("project"):
            if item.is_gold:
                item_adjudicate(item=item, method=Adjudication.Method.GOLD, user=user)
                counts["gold"] += 1
                continue
            a = agreement.get(item.pk)
            if gate.in_review or a is None or a < project.agreement_threshold:
                counts["review"] += 1
                continue
            try:
                item_adjudicate(item=item, method=Adjudication.Method.MAJORITY, user=user, automatic=True)
                counts["majority"] += 1
            except AnnotationError:
                counts["review"] += 1
    audit_log(obj=project, action="adjudicate", user=user, summary=f"majority vote: {dict(counts)}",
              details={"gate": gate.status, "gate_value": gate.value})
    return {**counts, "gate": gate.status}


@transaction.atomic
def project_gate_accept(*, project: LabelingProject, user, note: str) -> LabelingProject:
    """A curator's decision to use a project whose agreement is below the gate (recorded with the value)."""
    note = (note or "").strip()
    if not note:
        raise AnnotationError("Say why the project is accepted below the agreement gate (the note is required).")
    gate = selectors.project_gate(project)
    if gate.value is None:
        raise AnnotationError("No agreement measured yet (no item has two annotators): nothing to accept.")
    if gate.value >= project.agreement_threshold:
        raise AnnotationError(f"The project passes the gate (α {gate.value:.3f} ≥ {project.agreement_threshold}); "
                              "there is nothing to accept.")
    project.gate_accepted_by, project.gate_accepted_at = user, timezone.now()
    project.gate_accepted_value, project.gate_note = gate.value, note
    project.save(update_fields=["gate_accepted_by", "gate_accepted_at", "gate_accepted_value", "gate_note",
                                "updated_at"])
    audit_log(obj=project, action="gate_accept", user=user, summary=f"accepted below the gate at α {gate.value:.3f}",
              details={"note": note, "threshold": project.agreement_threshold})
    return project


@transaction.atomic
def project_gate_revoke(*, project: LabelingProject, user) -> LabelingProject:
    """Withdraw a curator's acceptance: the project goes back to the review queue if it is below the gate."""
    project.gate_accepted_by = project.gate_accepted_at = project.gate_accepted_value = None
    project.gate_note = ""
    project.save(update_fields=["gate_accepted_by", "gate_accepted_at", "gate_accepted_value", "gate_note",
                                "updated_at"])
    audit_log(obj=project, action="gate_revoke", user=user, summary="acceptance below the gate withdrawn")
    return project


def users_by_email(emails: Iterable[str]) -> dict[str, object]:
    wanted = {e.strip().lower() for e in emails if e}
    return {u.email.lower(): u for u in get_user_model().objects.exclude(email="") if u.email.lower() in wanted}


__all__ = ["AnnotationError", "LabelError", "SchemeError", "annotation_delete", "annotation_mark_stale",
           "annotation_submit", "assignment_open", "assignment_skip", "item_adjudicate", "item_set_gold",
           "project_adjudicate_majority", "project_assign", "project_create", "project_gate_accept",
           "project_gate_revoke", "users_by_email"]
