"""Reads for the sample browser, the augmented-vs-parent diff and the augmentation statistics."""
from __future__ import annotations

import difflib
import json
import re

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Cast

from curation.models import Collection, Sample
from refinery.models import Job

from .quality import SIMILARITY_BAND
from .services import JOB_KIND

TOKEN_RE = re.compile(r"[\u4e00-\u9fff]|\w+|\s+|[^\w\s]", re.UNICODE)


def sample_browse(*, collection: Collection, origin: str = "", method: str = "", split: str = "",
                  q: str = "") -> QuerySet[Sample]:
    qs = Sample.objects.filter(collection=collection).select_related("parent")
    if origin:
        qs = qs.filter(origin=origin)
    if method:
        qs = qs.filter(method=method)
    if split:
        qs = qs.filter(split="" if split == "none" else split)
    if q:
        # JSON may store non-ASCII text \u-escaped (SQLite): match either spelling.
        cond = Q(messages__icontains=q)
        if not q.isascii():
            cond |= Q(messages__icontains=json.dumps(q)[1:-1])
        qs = qs.filter(cond)
    return qs.order_by("-id")


def sample_facets(*, collection: Collection) -> dict[str, list[dict]]:
    base = Sample.objects.filter(collection=collection)
    return {
        "origin": list(base.values("origin").annotate(n=Count("id")).order_by("origin")),
        "method": list(base.exclude(method="").values("method", "origin").annotate(n=Count("id")).order_by("method")),
    }


def text_diff(old: str, new: str) -> list[tuple[str, str]]:
    """[(op, text)] with op equal/del/ins; words for English, characters for Chinese."""
    a, b = TOKEN_RE.findall(old), TOKEN_RE.findall(new)
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("del", "".join(a[i1:i2])))
        if j2 > j1:
            out.append(("ins", "".join(b[j1:j2])))
    return out


def sample_parent_diff(*, sample: Sample) -> list[dict]:
    """Per message of the augmented sample: role and diff against the parent's message at the same place."""
    parent = sample.parent
    if parent is None:
        return []
    old_msgs = parent.messages
    rows = []
    for role_diff in difflib.SequenceMatcher(a=[m.get("role") for m in old_msgs],
                                             b=[m.get("role") for m in sample.messages], autojunk=False).get_opcodes():
        op, i1, i2, j1, j2 = role_diff
        if op == "equal" or op == "replace":
            for k in range(max(i2 - i1, j2 - j1)):
                old = old_msgs[i1 + k]["content"] if i1 + k < i2 else ""
                new = sample.messages[j1 + k]["content"] if j1 + k < j2 else ""
                role = (sample.messages[j1 + k] if j1 + k < j2 else old_msgs[i1 + k]).get("role")
                rows.append({"role": role, "diff": text_diff(old, new), "changed": old != new})
        elif op == "insert":
            for m in sample.messages[j1:j2]:
                rows.append({"role": m.get("role"), "diff": [("ins", m.get("content", ""))], "changed": True})
        else:  # delete
            for m in old_msgs[i1:i2]:
                rows.append({"role": m.get("role"), "diff": [("del", m.get("content", ""))], "changed": True})
    return rows


def augment_runs(*, collection: Collection | None = None, status: str = "") -> QuerySet[Job]:
    """Augmentation jobs (newest first), each annotated with ``collection_name``."""
    qs = Job.objects.filter(kind=JOB_KIND, target_model="curation.collection").select_related("created_by")
    if collection is not None:
        qs = qs.filter(target_id=str(collection.pk))
    if status:
        qs = qs.filter(status=status)
    name = Collection.objects.filter(pk=Cast(OuterRef("target_id"), IntegerField())).values("name")[:1]
    return qs.annotate(collection_name=Subquery(name)).order_by("-id")


def augment_jobs(*, collection: Collection, limit: int = 10) -> QuerySet[Job]:
    return augment_runs(collection=collection)[:limit]


def augment_run_samples(*, job: Job, method: str = "") -> QuerySet[Sample]:
    """The samples an augmentation job created (they carry its id in ``meta["augment"]["job"]``)."""
    qs = Sample.objects.filter(collection_id=int(job.target_id), origin=Sample.Origin.AUGMENTED,
                               meta__augment__job=job.pk).select_related("parent")
    if method:
        qs = qs.filter(method=method)
    return qs.order_by("id")


def augment_figures(*, job: Job) -> dict | None:
    """Plotly figures (plain dicts) for a finished augmentation job: acceptance, rejections, similarity."""
    methods = (job.result or {}).get("methods") or {}
    if not methods:
        return None
    names = list(methods)
    rates = [round(100 * (methods[m]["acceptance_rate"] or 0), 1) for m in names]
    layout = {"margin": {"l": 40, "r": 10, "t": 40, "b": 40}, "height": 280}
    figs = {"acceptance": {"data": [{"type": "bar", "x": names, "y": rates, "text": [f"{r}%" for r in rates],
                                     "textposition": "auto", "name": "accepted %"}],
                           "layout": {**layout, "title": {"text": "Acceptance rate by method (%)"},
                                      "yaxis": {"range": [0, 100]}}}}
    reasons = sorted({r for m in names for r in methods[m]["rejected"]})
    if reasons:
        figs["rejections"] = {"data": [{"type": "bar", "name": r, "x": names,
                                        "y": [methods[m]["rejected"].get(r, 0) for m in names]} for r in reasons],
                              "layout": {**layout, "barmode": "stack", "title": {"text": "Rejections by reason"}}}
    sims = [s for m in names for s in methods[m].get("similarities", [])]
    if sims:
        # the band the run used (back-translation records it), else the default
        low, high = next((methods[m]["band"] for m in names if methods[m].get("band")), SIMILARITY_BAND)
        figs["similarity"] = {
            "data": [{"type": "histogram", "x": sims, "xbins": {"start": 0, "end": 1, "size": 0.05}}],
            "layout": {**layout, "title": {"text": "Back-translation similarity to the original"},
                       "xaxis": {"range": [0, 1]},
                       "shapes": [{"type": "rect", "xref": "x", "yref": "paper", "x0": low, "x1": high, "y0": 0,
                                   "y1": 1, "fillcolor": "rgba(40,160,80,0.12)", "line": {"width": 0}}]}}
    return figs
