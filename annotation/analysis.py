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


def spans_by_item(rows: Iterable[tuple[int, int, dict]], f: Field) -> dict[int, dict[int, list[tuple]]]:
    """item id → {annotator id → (start, end, label) spans}; an annotation without the field marked nothing."""
    out: dict[int, dict[int, list[tuple]]] = defaultdict(dict)
    for item_id, ann_id, label in rows:
        out[item_id][ann_id] = A.span_keys(label.get(f.name))
    return dict(out)


def item_agreement_map(scheme: Scheme, rows: list[tuple[int, int, dict]]) -> dict[int, float | None]:
    """item id → mean agreement over the scheme's comparable fields (None with < 2 annotators).

    Category fields: share of agreeing pairs (near misses count on ordinal scales); span fields:
    exact span F1 averaged over the item's annotator pairs (1.0 for a pair that both marked nothing).
    """
    per_item: dict[int, list[float]] = defaultdict(list)
    for f in scheme.agreement_fields:
        r = field_matrix(rows, f)
        if r is None:
            continue
        vals = A.item_agreement(r.data, len(f.categories), level=f.level or "nominal")
        for item_id, v in zip(r.items.tolist(), vals.tolist()):
            if not math.isnan(v):
                per_item[item_id].append(v)
    for f in scheme.span_fields:
        for item_id, v in A.span_f1(spans_by_item(rows, f), mode="exact")["per_item"].items():
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
            # span by span: keep what more than half of *all* annotators marked exactly (never a tie)
            consensus = [{k: v for k, v in s.items() if k != "votes"}
                         for s in A.span_consensus([lab.get(f.name) or [] for lab in labels])]
            if consensus:
                out[f.name] = consensus
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


def span_votes(span_lists: list[list[dict]]) -> list[dict]:
    """Every distinct span the annotators marked, with ``votes`` and ``majority`` (more than half marked it)."""
    everything = A.span_consensus(span_lists, n_annotators=0)  # threshold 0: all spans with their votes
    n = len(span_lists)
    return [{**s, "majority": 2 * s["votes"] > n} for s in everything]


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
        "cohen_kappa": {A.pair_key(a, b): A.as_json_number(v) for (a, b), v in pairs.items()},
        "annotators": ann_names,
        "per_label": [{"label": str(f.categories[d["category"]]), "alpha": A.as_json_number(d["alpha"]),
                       "share": A.as_json_number(d["share"])} for d in A.per_label_agreement(r.data, K)],
        "vs_consensus": {k: {kk: A.as_json_number(vv) for kk, vv in v.items()}
                         for k, v in A.annotator_vs_consensus(r.data, K, weights=weights, names=ann_names).items()},
    }
    # confusion matrix of every pair under its pair key (rows: the key's first name, columns: its second)
    report["confusion"] = {
        A.pair_key(ann_names[i], ann_names[j]): A.confusion(r.data[:, i], r.data[:, j], K).astype(int).tolist()
        for i, j in A.sorted_pairs(ann_names)
    }
    if bootstrap and r.data.shape[0] >= 2:
        lo, hi = A.bootstrap_ci(r.data, K, metric="krippendorff_alpha", level=level, n_boot=N_BOOT)
        report["alpha_ci"] = [A.as_json_number(lo), A.as_json_number(hi)]
    return report


def spans_field_report(f: Field, rows: list[tuple[int, int, dict]], names: dict[int, str], *,
                       lengths: dict[int, int] | None = None) -> dict:
    """Agreement on one entity-span field: span F1 (exact / partial) and character-level α and κ.

    ``lengths``: item id → text length (characters); without it an item's characters end at the
    last one anybody marked. ``krippendorff_alpha`` is the character-level α (the review gate reads it).
    """
    data = spans_by_item(rows, f)
    compared = {i: by for i, by in data.items() if len(by) >= 2}
    base = {"field": f.name, "title": f.title, "level": "spans", "n_items": len(data),
            "n_items_compared": len(compared)}
    if not compared:
        return base
    exact, partial = A.span_f1(compared, mode="exact"), A.span_f1(compared, mode="partial")
    runs = A.char_runs(compared, f.labels, lengths)
    ann_names = [names.get(int(a), str(a)) for a in runs.annotators]
    name_of = dict(zip(runs.annotators, ann_names))
    ch = A.char_agreement(runs, ann_names)
    R, w, K = runs.data, runs.weights, len(runs.categories)
    labels = runs.categories[1:]
    J = A.as_json_number
    return {
        **base, "categories": runs.categories, "n_annotators": len(ann_names), "annotators": ann_names,
        "n_spans": sum(len(s) for by in compared.values() for s in by.values()),
        "n_characters": int(w.sum()),
        "span_f1_exact": J(exact["f1"]), "span_f1_partial": J(partial["f1"]),
        "span_f1_pairs": {A.pair_key(name_of[a], name_of[b]): {"exact": J(v), "partial": J(partial["pairs"][(a, b)])}
                          for (a, b), v in exact["pairs"].items()},
        "span_f1_per_label": [{"label": lab, "exact": J(exact["per_label"].get(lab)),
                               "partial": J(partial["per_label"].get(lab))} for lab in labels],
        "krippendorff_alpha": J(ch["alpha"]), "char_alpha_marked": J(ch["alpha_marked"]),
        "cohen_kappa": {A.pair_key(a, b): J(v) for (a, b), v in ch["cohen"].items()},
        "percent_agreement": J(ch["percent_agreement"]),
        "per_label": [{"label": str(runs.categories[d["category"]]), "alpha": J(d["alpha"]), "share": J(d["share"])}
                      for d in A.per_label_agreement(R, K, unit_weights=w)],
        "confusion": {A.pair_key(ann_names[i], ann_names[j]):
                      A.confusion(R[:, i], R[:, j], K, unit_weights=w).astype(int).tolist()
                      for i, j in A.sorted_pairs(ann_names)},
    }
