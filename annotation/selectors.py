"""Reads for the annotation app. Row rules live here: annotators see only their own queue."""
from __future__ import annotations

import functools
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
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
    their character-level α takes part in the gate like every other field's α. ``gate`` is the
    project's ``GateState`` as a dict (status, value, metric, per-field α and level).
    """
    require_project_manager(user)
    report = _agreement_report(project, bootstrap=bootstrap)
    return {**report, "gate": _gate_from_report(project, report).as_dict()}


def _agreement_report(project: LabelingProject, *, bootstrap: bool) -> dict:
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


# ---------------------------------------------------------------------------------- review gate
# The gate (one definition, used by the page, the bulk majority vote and the exporter's summaries):
#
# - project level: the LOWEST Krippendorff's α over the scheme's compared fields must reach the
#   project's threshold (default 0.8). α per field type: ``rating`` (1–N) → ordinal α; ``choice``,
#   ``decision`` and ``taxonomy`` (full path) → nominal α; ``spans`` → nominal α over characters
#   (each character = its entity label or O). α, not Cohen's κ, because it is one number for any
#   number of annotators with missing data; for two annotators on the same items nominal α is
#   Scott's π with a small-sample correction, and close to Cohen's κ unless the two annotators use
#   the labels at very different rates. Cohen's κ per pair is reported beside it.
# - item level (the low-agreement queue): the mean over the same fields of the share of agreeing
#   annotator pairs (ordinal: 1 − squared distance / (K−1)², so near misses count) and, for spans,
#   exact span F1; an item below the threshold waits for a curator.
#
# A project below the gate is "in review": the bulk majority vote decides nothing in it, and its
# automatic (bulk) majority decisions and undecided accept / edit outcomes do not reach the exporter
# as adjudicated or accepted until a curator decides the item, or accepts the project below the gate.
GATE_METRIC = ("lowest Krippendorff's α over the compared fields (ratings: ordinal α; choices, decisions, "
               "taxonomy: nominal α; entity spans: character-level α)")
ITEM_METRIC = ("mean over the fields of the share of agreeing annotator pairs (ratings: 1 − squared distance "
               "/ (K−1)²; spans: exact span F1)")


@dataclass(frozen=True)
class GateState:
    """Where a project stands against its agreement gate.

    ``status``: "passes" (value ≥ threshold), "below", "accepted" (below, but a curator accepted the
    project) or "unmeasured" (no item has two annotators yet). ``fields``: (name, level, α) of each
    compared field; the value is the lowest α.
    """
    project_id: int
    status: str
    value: float | None
    threshold: float
    fields: tuple = ()
    accepted_by: str = ""
    accepted_at: Any = None
    accepted_value: float | None = None
    note: str = ""

    @property
    def in_review(self) -> bool:
        return self.status == "below"

    @property
    def passes(self) -> bool:
        return self.status == "passes"

    def as_dict(self) -> dict:
        return {"status": self.status, "value": self.value, "threshold": self.threshold, "passes": self.passes,
                "in_review": self.in_review, "metric": GATE_METRIC, "item_metric": ITEM_METRIC,
                "fields": [{"field": f, "level": lv, "alpha": a} for f, lv, a in self.fields],
                "accepted_by": self.accepted_by, "accepted_at": self.accepted_at.isoformat() if self.accepted_at else None,
                "accepted_value": self.accepted_value, "note": self.note}


def _gate_from_report(project: LabelingProject, report: dict) -> GateState:
    fields = tuple((f["field"], f["level"], f.get("krippendorff_alpha")) for f in report["fields"])
    value = report["overall_alpha"]
    if value is None:
        status = "unmeasured"
    elif value >= project.agreement_threshold:
        status = "passes"
    else:
        status = "accepted" if project.gate_accepted_at else "below"
    return GateState(project_id=project.pk, status=status, value=value, threshold=project.agreement_threshold,
                     fields=fields, accepted_by=getattr(project.gate_accepted_by, "username", "") or "",
                     accepted_at=project.gate_accepted_at, accepted_value=project.gate_accepted_value,
                     note=project.gate_note)


_GATE_CACHE: dict[tuple, GateState] = {}
_GATE_CACHE_SIZE = 512


def _gate_key(project: LabelingProject) -> tuple:
    return (project.pk, project.labels_changed_at, project.updated_at, project.agreement_threshold,
            project.gate_accepted_at)


def project_gates(project_ids) -> dict[int, GateState]:
    """project id → GateState. Memoised per process on what the value depends on (the project's last
    annotation write — ``labels_changed_at``, bumped by the services — and its scheme, threshold and
    acceptance), so the exporter, which asks chunk by chunk, computes each project's agreement once."""
    ids = set(project_ids)
    if not ids:
        return {}
    out = {}
    for project in LabelingProject.objects.filter(pk__in=ids).select_related("gate_accepted_by"):
        key = _gate_key(project)
        gate = _GATE_CACHE.get(key)
        if gate is None:
            gate = _gate_from_report(project, _agreement_report(project, bootstrap=False))
            if len(_GATE_CACHE) >= _GATE_CACHE_SIZE:
                _GATE_CACHE.clear()
            _GATE_CACHE[key] = gate
        out[project.pk] = gate
    return out


def project_gate(project: LabelingProject) -> GateState:
    return project_gates([project.pk])[project.pk]


def review_queue(*, user, items_per_project: int = 5) -> list[dict]:
    """The project-level review queue (curators): every project below its gate, with its value, the
    fields that fail and its lowest-agreement items. Projects a curator accepted are not in it."""
    require_project_manager(user)
    projects = {p.pk: p for p in project_list(user=user).filter(items__annotations__isnull=False).distinct()}
    out = []
    for pid, gate in sorted(project_gates(projects).items()):
        if not gate.in_review:
            continue
        low = low_agreement_queue(user=user, project=projects[pid])
        out.append({"project": projects[pid], "gate": gate, "n_low": len(low), "low_items": low[:items_per_project],
                    "failing_fields": [(f, lv, a) for f, lv, a in gate.fields if a is not None and a < gate.threshold]})
    return out


def stale_annotations(*, user, project: LabelingProject) -> QuerySet[Annotation]:
    """Annotations kept although Label Studio's current version could not be taken over (with why)."""
    require_project_manager(user)
    return (Annotation.objects.filter(item__project=project).exclude(stale_reason="")
            .select_related("annotator").order_by("-stale_since", "id"))


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


def _summary_items(sample_ids) -> dict[int, tuple]:
    """sample id → (project id, adjudicated automatically?, adjudicated at all?) of the item its summary
    comes from — the documented choice of ``sample_label_summaries``: the most recent adjudication,
    else the item with the most annotations (ties: the higher item id)."""
    rows = (Item.objects.filter(sample_id__in=list(sample_ids)).order_by("id").annotate(n=Count("annotations"))
            .values_list("id", "project_id", "sample_id", "adjudication__updated_at", "adjudication__automatic", "n"))
    by_sample: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        by_sample[row[2]].append(row)
    out = {}
    for sid, items in by_sample.items():
        decided = [r for r in items if r[3] is not None]
        r = max(decided, key=lambda r: r[3]) if decided else max(items, key=lambda r: (r[5], r[0]))
        out[sid] = (r[1], bool(r[4]), r[3] is not None)
    return out


def apply_review_gate(summaries: dict[int, SampleLabelSummary]) -> dict[int, SampleLabelSummary]:
    """Withhold what a project below its agreement gate has not had a curator decide (see GateState).

    Bulk majority decisions there are not ``adjudicated``; undecided "accept" / "edit" outcomes become
    "" (no ``edited_messages``): such items cannot enter a dataset as adjudicated or accepted without a
    curator. Curator and gold decisions, and a majority chosen on the item's review page, count.
    """
    gates = project_gates({pid for s in summaries.values() for pid in s.project_ids})
    held = {pid: g for pid, g in gates.items() if g.in_review}
    if not held:
        return summaries
    affected = [sid for sid, s in summaries.items() if held.keys() & set(s.project_ids)]
    out = dict(summaries)
    for sid, (pid, automatic, adjudicated) in _summary_items(affected).items():
        gate = held.get(pid)
        if gate is None or (adjudicated and not automatic):
            continue  # a curator decided this item (or its project passes / was accepted)
        s = summaries[sid]
        why = (f"project {pid} is below its agreement gate (α {gate.value:.3f} < {gate.threshold}); "
               f"{'the bulk majority vote' if adjudicated else 'nothing'} decided this item, a curator has to")
        keep = s.decision if s.decision == "reject" else ""
        out[sid] = replace(s, adjudicated=False, decision=keep, edited_messages=None, in_review=True,
                           review_reason=why)
    return out


def _review_gated(build):
    """``sample_label_summaries`` with the review gate applied on top (``apply_review_gate``)."""
    @functools.wraps(build)
    def gated(*, sample_ids) -> dict[int, SampleLabelSummary]:
        summaries = build(sample_ids=sample_ids)
        return apply_review_gate(summaries) if summaries else summaries
    return gated


@_review_gated
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
