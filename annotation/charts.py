"""Plotly figure specs (plain dicts rendered by the locally served plotly.js) for the dashboards."""
from __future__ import annotations

import numpy as np


def _layout(title: str, **kw) -> dict:
    return {"title": {"text": title, "font": {"size": 14}}, "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
            "height": 320, **kw}


def progress_chart(stats: list[dict]) -> dict:
    names = [s["username"] for s in stats]
    return {"data": [
        {"type": "bar", "name": status, "x": names, "y": [s.get(status, 0) for s in stats]}
        for status in ("done", "skipped", "pending")],
        "layout": _layout("Progress per annotator", barmode="stack", yaxis={"title": "items"})}


def speed_chart(stats: list[dict]) -> dict:
    rows = [s for s in stats if s.get("median_seconds") is not None]
    return {"data": [{"type": "bar", "x": [s["username"] for s in rows],
                      "y": [round(s["median_seconds"], 1) for s in rows], "name": "median s / item"}],
            "layout": _layout("Annotator speed (median seconds per item)", yaxis={"title": "seconds"})}


def heatmap_chart(field: dict) -> dict:
    names = field.get("annotators", [])
    n = len(names)
    z = np.full((n, n), np.nan)
    np.fill_diagonal(z, 1.0)
    idx = {a: i for i, a in enumerate(names)}
    for key, v in field.get("cohen_kappa", {}).items():
        a, b = key.split("|", 1)
        if a in idx and b in idx and v is not None:
            z[idx[a], idx[b]] = z[idx[b], idx[a]] = v
    zl = [[None if np.isnan(x) else round(float(x), 3) for x in row] for row in z]
    return {"data": [{"type": "heatmap", "x": names, "y": names, "z": zl, "zmin": -1, "zmax": 1,
                      "colorscale": "RdBu", "text": zl, "texttemplate": "%{text}"}],
            "layout": _layout(f"{field.get('title', field['field'])}: Cohen's κ per annotator pair"
                              + (" (characters)" if field.get("level") == "spans" else ""))}


def per_label_chart(field: dict) -> dict:
    labels = [d["label"] for d in field.get("per_label", [])]
    return {"data": [{"type": "bar", "x": labels, "y": [d["alpha"] for d in field.get("per_label", [])],
                      "name": "α (this label vs rest)"}],
            "layout": _layout(f"{field.get('title', field['field'])}: agreement per label",
                              yaxis={"title": "Krippendorff α", "range": [-1, 1]})}


def confusion_chart(field: dict) -> dict:
    cats = field.get("categories", [])
    K = len(cats)
    total = np.zeros((K, K))
    for m in field.get("confusion", {}).values():
        arr = np.asarray(m, dtype=float)
        total += arr + arr.T  # symmetric: pair order is arbitrary
    return {"data": [{"type": "heatmap", "x": cats, "y": cats, "z": total.astype(int).tolist(),
                      "colorscale": "Blues", "reversescale": True,
                      "texttemplate": "%{z}"}],
            "layout": _layout(f"{field.get('title', field['field'])}: confusion over all annotator pairs",
                              xaxis={"title": "label"}, yaxis={"title": "label"})}


def consensus_chart(field: dict) -> dict:
    rows = field.get("vs_consensus", {})
    names = list(rows)
    return {"data": [{"type": "bar", "name": "κ vs consensus", "x": names, "y": [rows[n]["kappa"] for n in names]},
                     {"type": "bar", "name": "accuracy vs consensus", "x": names,
                      "y": [rows[n]["accuracy"] for n in names]}],
            "layout": _layout(f"{field.get('title', field['field'])}: each annotator vs the others' majority",
                              barmode="group", yaxis={"range": [-1, 1]})}


def span_f1_chart(field: dict) -> dict:
    rows = [{"label": "all", "exact": field.get("span_f1_exact"), "partial": field.get("span_f1_partial")},
            *field.get("span_f1_per_label", [])]
    return {"data": [{"type": "bar", "name": f"{mode} match", "x": [r["label"] for r in rows],
                      "y": [r[mode] for r in rows]} for mode in ("exact", "partial")],
            "layout": _layout(f"{field.get('title', field['field'])}: span F1 between annotators",
                              barmode="group", yaxis={"title": "F1", "range": [0, 1]})}


def item_agreement_chart(values: list[float], threshold: float) -> dict:
    return {"data": [{"type": "histogram", "x": values, "xbins": {"start": 0, "end": 1.0001, "size": 0.05}}],
            "layout": _layout("Item agreement (items left of the line go to review)",
                              xaxis={"title": "agreement", "range": [0, 1.02]},
                              shapes=[{"type": "line", "x0": threshold, "x1": threshold, "y0": 0, "y1": 1,
                                       "yref": "paper", "line": {"color": "#c92a2a", "dash": "dash"}}])}


def project_charts(*, report: dict, stats: list[dict], item_agreement: list[float] | None = None,
                   threshold: float = 0.8) -> list[dict]:
    charts = [{"id": "progress", "spec": progress_chart(stats)}, {"id": "speed", "spec": speed_chart(stats)}]
    if item_agreement:
        charts.append({"id": "items", "spec": item_agreement_chart(item_agreement, threshold)})
    for f in report.get("fields", []):
        if f.get("level") == "spans":
            if f.get("n_items_compared"):
                charts.append({"id": f"spanf1-{f['field']}", "spec": span_f1_chart(f)})
                charts.append({"id": f"heat-{f['field']}", "spec": heatmap_chart(f)})
                charts.append({"id": f"conf-{f['field']}", "spec": confusion_chart(f)})
            continue
        if not f.get("n_items"):
            continue
        charts.append({"id": f"heat-{f['field']}", "spec": heatmap_chart(f)})
        charts.append({"id": f"label-{f['field']}", "spec": per_label_chart(f)})
        charts.append({"id": f"conf-{f['field']}", "spec": confusion_chart(f)})
        charts.append({"id": f"cons-{f['field']}", "spec": consensus_chart(f)})
    return charts
