"""Plotly figures for a dataset version page (JSON for Plotly.newPlot; plotly.js is served locally)."""
from __future__ import annotations

import plotly.graph_objects as go

from .models.datasets import SPLITS

LAYOUT = dict(margin=dict(l=40, r=10, t=40, b=40), height=320, legend=dict(orientation="h"))


def _fig(data, title: str, **layout) -> str:
    fig = go.Figure(data=data)
    fig.update_layout(title=title, **LAYOUT, **layout)
    return fig.to_json()


def version_charts(manifest: dict) -> dict[str, str]:
    charts: dict[str, str] = {}
    splits = manifest.get("counts", {}).get("splits", {})
    charts["splits"] = _fig([go.Bar(x=list(splits), y=list(splits.values()), marker_color=["#4263eb", "#f59f00", "#37b24d"])],
                            "Samples per split")
    labels = manifest.get("label_distribution", {})
    keys = sorted({k for s in SPLITS for k in labels.get(s, {})})
    if set(keys) - {"unknown"}:  # only when samples carry labels
        charts["labels"] = _fig([go.Bar(name=s, x=keys, y=[labels.get(s, {}).get(k, 0) for k in keys]) for s in SPLITS],
                                "Labels by split", barmode="group")
    for key, title in (("language_distribution", "Languages"), ("domain_distribution", "Domains"),
                       ("origin_distribution", "Origins")):
        dist = manifest.get(key, {})
        if dist:
            charts[key.split("_")[0]] = _fig([go.Pie(labels=list(dist), values=list(dist.values()), hole=0.45)], title)
    excluded = manifest.get("counts", {}).get("excluded", {})
    if excluded:
        charts["excluded"] = _fig([go.Bar(y=list(excluded), x=list(excluded.values()), orientation="h",
                                          marker_color="#e03131")], "Why samples were left out",
                                  yaxis=dict(automargin=True))
    for key, title in (("agreement", "Annotator agreement"), ("quality", "Quality rating")):
        hist = manifest.get(key, {}).get("values_histogram")
        if hist:
            edges = hist["edges"]
            mids = [(edges[i] + edges[i + 1]) / 2 for i in range(len(hist["counts"]))] if len(edges) > 1 else edges
            charts[key] = _fig([go.Bar(x=mids, y=hist["counts"])], title)
    return charts


def diff_chart(stats: dict, a: str, b: str) -> str:
    keys = [f"{s} samples" for s in SPLITS]
    return _fig([go.Bar(name=a, x=list(SPLITS), y=[stats[k]["a"] for k in keys]),
                 go.Bar(name=b, x=list(SPLITS), y=[stats[k]["b"] for k in keys])], "Split sizes", barmode="group")
