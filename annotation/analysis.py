"""Agreement over a project's stored annotations: ORM rows → rating matrices → annotation.agreement.

Pure reads; the selectors and dashboards call these. The math itself lives in ``agreement.py``.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any, Iterable

import numpy as np

from . import agreement as A
from .schemes import Field, Scheme

N_BOOT = 500


def field_matrix(rows: Iterable[tuple[int, int, dict]], f: Field) -> A.Ratings | None:
    """(item_id, annotator_id, label) rows → Ratings for one scheme field (codes follow the scheme's order)."""
    cats = f.categories
    code = {c: i for i, c in enumerate(cats)}
    items, anns, codes = [], [], []
    for item_id, ann_id, label in rows:
        v = label.get(f.name)
        if v in code:
            items.append(item_id)
            anns.append(ann_id)
            codes.append(code[v])
    if not items:
        return None
    item_ids, ii = np.unique(np.asarray(items), return_inverse=True)
    ann_ids, aa = np.unique(np.asarray(anns), return_inverse=True)
    data = np.full((len(item_ids), len(ann_ids)), A.MISSING, dtype=np.int32)
    data[ii, aa] = codes
    return A.Ratings(data=data, items=item_ids, annotators=ann_ids, categories=np.asarray(cats, dtype=object))


def item_agreement_map(scheme: Scheme, rows: list[tuple[int, int, dict]]) -> dict[int, float | None]:
    """item id → mean agreement over the scheme's comparable fields (None with < 2 annotators)."""
    per_item: dict[int, list[float]] = defaultdict(list)
    for f in scheme.agreement_fields:
        r = field_matrix(rows, f)
        if r is None:
            continue
        vals = A.item_agreement(r.data, len(f.categories), level=f.level or "nominal")
        for item_id, v in zip(r.items.tolist(), vals.tolist()):
            if not math.isnan(v):
                per_item[item_id].append(v)
    ids = {row[0] for row in rows}
    return {i: (sum(per_item[i]) / len(per_item[i]) if per_item.get(i) else None) for i in ids}


def majority_label(scheme: Scheme, labels: list[dict]) -> tuple[dict | None, str]:
    """Field-by-field majority vote. Returns (label, "") or (None, why there is no majority)."""
    if not labels:
        return None, "no annotations"
    out: dict[str, Any] = {}
    for f in scheme.fields:
        votes = [lab.get(f.name) for lab in labels if lab.get(f.name) not in (None, "", [])]
        if not votes:
            continue
        if f.type == "spans":
            keyed = Counter(tuple((s["start"], s["end"], s["label"]) for s in v) for v in votes)
            (best, n), *rest = keyed.most_common()
            if rest and rest[0][1] == n:
                return None, f"tie on {f.name}"
            out[f.name] = next(v for v in votes if tuple((s["start"], s["end"], s["label"]) for s in v) == best)
            continue
        counts = Counter(votes).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            if f.type == "rating":
                # ordinal tie: the (lower) median is a fair compromise on a rating scale
                out[f.name] = int(sorted(votes)[(len(votes) - 1) // 2])
                continue
            return None, f"tie on {f.name}"
        out[f.name] = counts[0][0]
        if f.type == "decision" and out[f.name] == "edit":
            edits = [lab.get(f.edit_field) for lab in labels if lab.get(f.name) == "edit" and lab.get(f.edit_field)]
            if edits:
                out[f.edit_field] = Counter(edits).most_common(1)[0][0]
    return out, ""


def field_report(f: Field, rows: list[tuple[int, int, dict]], names: dict[int, str], *, bootstrap: bool = True) -> dict:
    """Every agreement figure for one field (used by the dashboard and the review gate)."""
    r = field_matrix(rows, f)
    level = f.level or "nominal"
    if r is None:
        return {"field": f.name, "level": level, "n_items": 0}
    K = len(f.categories)
    ann_names = [names.get(int(a), str(a)) for a in r.annotators]
    weights = A.level_kappa_weights(level)
    values = np.arange(1, K + 1, dtype=float) if f.type == "rating" else None
    alpha = A.krippendorff_alpha(r.data, K, level=level, values=values)
    pairs = A.pairwise_cohen(r.data, K, weights=weights, names=ann_names)
    report = {
        "field": f.name, "title": f.title, "level": level, "categories": [str(c) for c in f.categories],
        "n_items": int(r.data.shape[0]), "n_annotators": int(r.data.shape[1]),
        "krippendorff_alpha": A.as_json_number(alpha),
        "fleiss_kappa": A.as_json_number(A.fleiss_kappa(r.data, K)),
        "percent_agreement": A.as_json_number(A.percent_agreement(r.data, K)),
        "cohen_kappa": {f"{a}|{b}": A.as_json_number(v) for (a, b), v in pairs.items()},
        "annotators": ann_names,
        "per_label": [{"label": str(f.categories[d["category"]]), "alpha": A.as_json_number(d["alpha"]),
                       "share": A.as_json_number(d["share"])} for d in A.per_label_agreement(r.data, K)],
        "vs_consensus": {k: {kk: A.as_json_number(vv) for kk, vv in v.items()}
                         for k, v in A.annotator_vs_consensus(r.data, K, weights=weights, names=ann_names).items()},
    }
    # confusion matrix of every pair (rows: first annotator, columns: second)
    report["confusion"] = {
        f"{ann_names[i]}|{ann_names[j]}": A.confusion(r.data[:, i], r.data[:, j], K).astype(int).tolist()
        for i in range(len(ann_names)) for j in range(i + 1, len(ann_names))
    }
    if bootstrap and r.data.shape[0] >= 2:
        lo, hi = A.bootstrap_ci(r.data, K, metric="krippendorff_alpha", level=level, n_boot=N_BOOT)
        report["alpha_ci"] = [A.as_json_number(lo), A.as_json_number(hi)]
    return report
