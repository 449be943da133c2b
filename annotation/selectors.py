"""Reads for the annotation app. Row rules live here: annotators see only their own queue."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet

from curation.models import Sample
from refinery.roles import is_curator

from . import analysis
from .models import Adjudication, Annotation, Assignment, Item, LabelingProject
from .schemes import Scheme
from .summary import SampleLabelSummary


# ------------------------------------------------------------------------------------ projects
def project_list(*, user) -> QuerySet[LabelingProject]:
    qs = LabelingProject.objects.select_related("collection").order_by("-created_at")
    if is_curator(user):
        return qs
    return qs.filter(assignments_visible_q(user)).distinct()


def project_overview(*, user) -> QuerySet[LabelingProject]:
    """Every project with its item / assignment counts (curators' overview)."""
    require_project_manager(user)
    return project_list(user=user).annotate(
        n_items=Count("items", distinct=True),
        n_assigned=Count("items__assignments", distinct=True),
        n_done=Count("items__assignments", filter=Q(items__assignments__status=Assignment.Status.DONE), distinct=True),
        n_adjudicated=Count("items__adjudication", distinct=True),
    )


def assignments_visible_q(user) -> Q:
    return Q(items__assignments__annotator=user)


def project_get(*, user, pk: int) -> LabelingProject:
    """A project the user may see (curators: all; annotators: those with their assignments)."""
    project = project_list(user=user).filter(pk=pk).first()
    if project is None:
        raise LabelingProject.DoesNotExist(f"No labelling project {pk} for you.")
    return project


def require_project_manager(user) -> None:
    if not is_curator(user):
        raise PermissionDenied("Only curators manage projects and see agreement reports.")


# --------------------------------------------------------------------------------------- queue
def annotator_queue(*, user, project: LabelingProject | None = None, status: str | None = Assignment.Status.PENDING
                    ) -> QuerySet[Assignment]:
    """The user's own assignments (never anyone else's), in item order."""
    qs = Assignment.objects.filter(annotator=user).select_related("item", "item__sample", "item__document",
                                                                   "item__project")
    if project is not None:
        qs = qs.filter(item__project=project)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("item__project_id", "item__position", "item_id")


def assignment_get(*, user, pk: int) -> Assignment:
    return annotator_queue(user=user, status=None).get(pk=pk)


def next_assignment(*, user, project: LabelingProject, after_item_id: int | None = None) -> Assignment | None:
    """Next pending assignment; skipped ones come back once nothing pending is left."""
    pending = annotator_queue(user=user, project=project)
    after = Item.objects.filter(pk=after_item_id).values_list("position", flat=True).first() if after_item_id else None
    if after is not None:
        later = pending.filter(item__position__gt=after).first()
        if later:
            return later
    return pending.first() or annotator_queue(user=user, project=project, status=Assignment.Status.SKIPPED).first()


def queue_progress(*, user, project: LabelingProject) -> dict:
    counts = dict(annotator_queue(user=user, project=project, status=None).order_by().values_list("status")
                  .annotate(n=Count("id")).values_list("status", "n"))
    total = sum(counts.values())
    done = counts.get(Assignment.Status.DONE, 0)
    return {"total": total, "done": done, "skipped": counts.get(Assignment.Status.SKIPPED, 0),
            "pending": counts.get(Assignment.Status.PENDING, 0),
            "percent": round(100.0 * done / total, 1) if total else 0.0}


def annotator_projects(*, user) -> list[dict]:
    """The projects with work for this user, each with the user's own progress."""
    out = []
    for p in project_list(user=user).filter(items__assignments__annotator=user).distinct():
        out.append({"project": p, "progress": queue_progress(user=user, project=p)})
    return out


# ----------------------------------------------------------------------------------- item view
def _text_of(messages: list | None, document_text: str | None) -> str:
    if messages is not None:
        return "\n\n".join(f"{m.get('role', '')}: {m.get('content', '')}" for m in messages)
    return document_text or ""


def item_text(item: Item) -> str:
    """The text annotators see (and that span offsets refer to) — one definition for UI and Label Studio."""
    if item.sample_id:
        return _text_of(item.sample.messages, None)
    return item.document.text if item.document_id else ""


def item_text_lengths(item_ids) -> dict[int, int]:
    """item id → length of ``item_text`` in characters (code points), read as plain rows."""
    return {pk: len(_text_of(msgs if sid else None, doc))
            for pk, sid, msgs, doc in Item.objects.filter(pk__in=list(item_ids)).values_list(
                "id", "sample_id", "sample__messages", "document__text")}


def item_response(item: Item) -> str:
    if item.sample_id:
        return next((m.get("content", "") for m in reversed(item.sample.messages) if m.get("role") == "assistant"), "")
    return ""


def edited_messages(messages: list[dict], edited: str) -> list[dict]:
    """The sample's messages with the last assistant turn replaced by ``edited``."""
    out = [dict(m) for m in messages]
    for m in reversed(out):
        if m.get("role") == "assistant":
            m["content"] = edited
            return out
    return out + [{"role": "assistant", "content": edited}]


# ------------------------------------------------------------------------------- project stats
def project_rows(project: LabelingProject) -> list[tuple[int, int, dict]]:
    return list(Annotation.objects.filter(item__project=project).values_list("item_id", "annotator_id", "label"))


def project_item_agreement(project: LabelingProject) -> dict[int, float | None]:
    return analysis.item_agreement_map(project.parsed_scheme, project_rows(project))


def usernames(ids) -> dict[int, str]:
    return dict(get_user_model().objects.filter(pk__in=set(ids)).values_list("pk", "username"))


def project_agreement_report(*, user, project: LabelingProject, bootstrap: bool = True) -> dict:
    """Agreement per scheme field (in scheme order) plus the review gate. Curators only.

    Span fields report span F1 and character-level agreement (``analysis.spans_field_report``);
    their character-level α takes part in the gate like every other field's α.
    """
    require_project_manager(user)
    rows = project_rows(project)
    names = usernames(r[1] for r in rows)
    scheme = project.parsed_scheme
    lengths: dict[int, int] = {}
    if scheme.span_fields:
        n_ann = Counter(r[0] for r in rows)
        lengths = item_text_lengths(i for i, n in n_ann.items() if n >= 2)
    fields = []
    for f in scheme.fields:
        if f.level is not None:
            fields.append(analysis.field_report(f, rows, names, bootstrap=bootstrap))
        elif f.type == "spans":
            fields.append(analysis.spans_field_report(f, rows, names, lengths=lengths))
    headline = [f["krippendorff_alpha"] for f in fields if f.get("krippendorff_alpha") is not None]
    overall = min(headline) if headline else None
    return {"fields": fields, "overall_alpha": overall, "threshold": project.agreement_threshold,
            "passes_gate": overall is not None and overall >= project.agreement_threshold}


def low_agreement_queue(*, user, project: LabelingProject) -> list[dict]:
    """Items below the project's threshold (or with a tie) that nobody adjudicated yet."""
    require_project_manager(user)
    agreement = project_item_agreement(project)
    done = set(Adjudication.objects.filter(item__project=project).values_list("item_id", flat=True))
    out = [{"item_id": i, "agreement": a} for i, a in agreement.items()
           if i not in done and a is not None and a < project.agreement_threshold]
    return sorted(out, key=lambda d: (d["agreement"], d["item_id"]))


def annotator_stats(*, user, project: LabelingProject) -> list[dict]:
    """Per annotator: assigned / done / skipped, median seconds per item, gold accuracy."""
    require_project_manager(user)
    stats: dict[int, dict] = {}
    for ann_id, status, n in (Assignment.objects.filter(item__project=project).order_by()
                              .values_list("annotator_id", "status").annotate(n=Count("id"))):
        s = stats.setdefault(ann_id, {"annotator_id": ann_id, "assigned": 0, "done": 0, "skipped": 0, "pending": 0})
        s["assigned"] += n
        s[status] = s.get(status, 0) + n
    times: dict[int, list[float]] = defaultdict(list)
    gold_hits: dict[int, list[int]] = defaultdict(list)
    scheme = project.parsed_scheme
    for ann_id, lead, label, gold, is_gold in (Annotation.objects.filter(item__project=project)
                                                .values_list("annotator_id", "lead_time", "label",
                                                             "item__gold_label", "item__is_gold")):
        if lead:
            times[ann_id].append(lead)
        if is_gold and gold:
            fields = [f.name for f in scheme.agreement_fields if f.name in gold]
            gold_hits[ann_id] += [int(label.get(n) == gold[n]) for n in fields]
    names = usernames(stats)
    for ann_id, s in stats.items():
        t = sorted(times.get(ann_id, []))
        s["username"] = names.get(ann_id, str(ann_id))
        s["median_seconds"] = t[len(t) // 2] if t else None
        hits = gold_hits.get(ann_id)
        s["gold_accuracy"] = (sum(hits) / len(hits)) if hits else None
    return sorted(stats.values(), key=lambda s: s["username"])


# ----------------------------------------------------------------- interface for the exporter
def _quality(scheme: Scheme, labels: list[dict]) -> float | None:
    vals = [lab[f.name] for f in scheme.rubric_fields for lab in labels if isinstance(lab.get(f.name), int)]
    return round(sum(vals) / len(vals), 4) if vals else None


def sample_label_summaries(*, sample_ids) -> dict[int, SampleLabelSummary]:
    """For each labelled sample id: the outcome of labelling (see annotation.summary).

    Samples in no project are absent from the result. When a sample is in several projects the
    adjudicated item wins (the most recent decision), else the item with the most annotations.
    Reads plain rows (no model instances): the exporter calls this for every sample of a dataset.
    """
    sample_ids = list(sample_ids)
    items = list(Item.objects.filter(sample_id__in=sample_ids).order_by("id").values_list(
        "id", "project_id", "sample_id", "adjudication__final_label", "adjudication__updated_at"))
    if not items:
        return {}
    ann_rows: dict[int, list[tuple[int, int, dict]]] = defaultdict(list)
    for item_id, ann_id, label in (Annotation.objects.filter(item_id__in=[i[0] for i in items]).order_by()
                                   .values_list("item_id", "annotator_id", "label")):
        ann_rows[item_id].append((item_id, ann_id, label))
    schemes = {pid: Scheme.from_dict(raw) for pid, raw in
               LabelingProject.objects.filter(pk__in={i[1] for i in items}).values_list("id", "scheme")}
    agreement: dict[int, float | None] = {}
    by_project: dict[int, list[int]] = defaultdict(list)
    for item_id, pid, *_ in items:
        by_project[pid].append(item_id)
    for pid, item_ids in by_project.items():
        agreement.update(analysis.item_agreement_map(schemes[pid], [r for i in item_ids for r in ann_rows.get(i, [])]))

    per_sample: dict[int, list[tuple]] = defaultdict(list)
    for row in items:
        per_sample[row[2]].append(row)
    chosen: dict[int, tuple] = {}
    for sid, rows in per_sample.items():
        adjudicated = [r for r in rows if r[4] is not None]
        chosen[sid] = (max(adjudicated, key=lambda r: r[4]) if adjudicated
                       else max(rows, key=lambda r: (len(ann_rows.get(r[0], [])), r[0])))
    out: dict[int, SampleLabelSummary] = {}
    edits: dict[int, str] = {}
    for sid, (item_id, pid, _sid, adj_label, adj_at) in chosen.items():
        scheme = schemes[pid]
        labels = [r[2] for r in ann_rows.get(item_id, [])]
        adjudicated = adj_at is not None
        final: Any = adj_label if adjudicated else (analysis.majority_label(scheme, labels)[0] if labels else None)
        dec_field = scheme.decision_field
        decision = str((final or {}).get(dec_field.name, "")) if dec_field and final else ""
        if decision == "edit" and (final or {}).get(dec_field.edit_field):
            edits[sid] = final[dec_field.edit_field]
        out[sid] = SampleLabelSummary(
            adjudicated=adjudicated, final_label=final, decision=decision, edited_messages=None,
            quality_rating=_quality(scheme, [final] if adjudicated else labels),
            agreement=agreement.get(item_id), project_ids=sorted({r[1] for r in per_sample[sid]}),
        )
    if edits:
        for sid, msgs in Sample.objects.filter(pk__in=list(edits)).values_list("id", "messages"):
            out[sid] = replace(out[sid], edited_messages=edited_messages(msgs, edits[sid]))
    return out
