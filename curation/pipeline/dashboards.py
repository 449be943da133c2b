"""Curator dashboards of pipeline runs: plotly figure specs (plain dicts, rendered by plotly.js) and diffs.

Views pass these dicts through ``json_script``; no numbers tables — charts. Every figure is built from
the run's stored report/charts/rejections, so dashboards of old runs stay as they were.
"""
from __future__ import annotations

import difflib
import re
from typing import Any

from ..models import PipelineRun, RunOutput
from ..selectors import run_reason_counts
from .services import LENGTH_BINS

_LAYOUT = {"margin": {"l": 60, "r": 20, "t": 40, "b": 60}, "height": 340, "font": {"size": 12}}
_CJK_OR_WORD_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|\w+|\s+|[^\w\s]")


def _layout(title: str, **extra: Any) -> dict:
    return {**_LAYOUT, "title": {"text": title}, **extra}


def funnel_figure(run: PipelineRun) -> dict:
    steps = run.report.get("steps", [])
    labels = ["input"] + [f"{i + 1}. {s['step']}" for i, s in enumerate(steps)]
    values = [run.report.get("input", run.n_input)] + [s["out"] for s in steps]
    return {"data": [{"type": "funnel", "y": labels, "x": values, "textinfo": "value+percent initial"}],
            "layout": _layout("Records kept after each step", margin={"l": 130, "r": 20, "t": 40, "b": 30})}


def reasons_figure(run: PipelineRun) -> tuple[dict, list[dict]]:
    """Horizontal bars, one per (step, reason); ``customdata`` carries the drill-down query."""
    rows = run_reason_counts(run=run)
    labels = [f"{r['step']}: {r['reason']}" for r in rows]
    fig = {"data": [{"type": "bar", "orientation": "h", "y": labels[::-1], "x": [r["n"] for r in rows][::-1],
                     "customdata": [[r["step"], r["reason"]] for r in rows][::-1],
                     "hovertemplate": "%{y}: %{x} records — click to see them<extra></extra>"}],
           "layout": _layout("Why records were dropped (click a bar)", height=max(260, 40 + 28 * len(rows)),
                             margin={"l": 220, "r": 20, "t": 40, "b": 40})}
    return fig, rows


def language_figure(run: PipelineRun) -> dict:
    langs = run.charts.get("languages", {})
    names = sorted(set(langs.get("kept", {})) | set(langs.get("rejected", {})),
                   key=lambda k: -(langs.get("kept", {}).get(k, 0) + langs.get("rejected", {}).get(k, 0)))
    data = [{"type": "bar", "name": kind, "x": names, "y": [langs.get(kind, {}).get(n, 0) for n in names]}
            for kind in ("kept", "rejected")]
    return {"data": data, "layout": _layout("Languages", barmode="stack")}


def length_figure(run: PipelineRun) -> dict:
    lengths = run.charts.get("lengths", {})
    bins = run.charts.get("length_bins", LENGTH_BINS)
    labels = [f"{_short(lo)}–{_short(bins[i + 1])}" if i + 1 < len(bins) else f"{_short(lo)}+" for i, lo in enumerate(bins)]
    last = max([i for kind in lengths.values() for i, v in enumerate(kind) if v] or [0])
    data = [{"type": "bar", "name": kind, "x": labels[:last + 1], "y": lengths.get(kind, [])[:last + 1]}
            for kind in ("kept", "rejected")]
    return {"data": data, "layout": _layout("Length (characters)", barmode="stack",
                                            xaxis={"title": {"text": "characters"}})}


PII_COUNTER_PREFIX = "pii."  # the pii step counts entities as "pii.<TYPE>" (plus "records_with_pii")


def pii_counts(run: PipelineRun) -> dict[str, int]:
    """{TYPE: entities found} from the run report."""
    counts = run.report.get("pii") or {}
    return {k.removeprefix(PII_COUNTER_PREFIX): v for k, v in counts.items() if k.startswith(PII_COUNTER_PREFIX)}


def pii_figure(run: PipelineRun) -> dict | None:
    counts = pii_counts(run)
    if not counts:
        return None
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    return {"data": [{"type": "bar", "x": [k for k, _ in items], "y": [v for _, v in items]}],
            "layout": _layout("PII found, by type")}


def timing_figure(run: PipelineRun) -> dict:
    steps = run.report.get("steps", [])
    return {"data": [{"type": "bar", "x": [s["step"] for s in steps], "y": [s["seconds"] for s in steps]}],
            "layout": _layout("Seconds per step")}


def compare_figure(a: PipelineRun, b: PipelineRun) -> dict:
    def kept(run):
        return {s["step"]: s["dropped"] for s in run.report.get("steps", [])}

    ka, kb = kept(a), kept(b)
    names = list(dict.fromkeys([*ka, *kb]))
    data = [{"type": "bar", "name": f"run #{run.pk}", "x": names, "y": [k.get(n, 0) for n in names]}
            for run, k in ((a, ka), (b, kb))]
    return {"data": data, "layout": _layout("Records dropped per step", barmode="group")}


def kept_record_ids(run: PipelineRun) -> set[str]:
    ids = set()
    for doc_id, sample_id in RunOutput.objects.filter(run=run).values_list("document_id", "sample_id").iterator():
        ids.add(f"d{doc_id}" if doc_id is not None else f"s{sample_id}")
    return ids


def _short(n: int) -> str:
    return f"{n // 1024}K" if n >= 1024 else str(n)


# ------------------------------------------------------------------------------------ diff
def diff_segments(a: str, b: str, *, max_chars: int = 20_000) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Side-by-side diff: (left, right) lists of (op, text) with op in equal/del/ins.

    Tokens are single CJK characters, words, spaces and punctuation, so Chinese and English both diff
    at a readable grain.
    """
    ta = _CJK_OR_WORD_RE.findall(a[:max_chars])
    tb = _CJK_OR_WORD_RE.findall(b[:max_chars])
    left: list[tuple[str, str]] = []
    right: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes():
        if op == "equal":
            left.append(("equal", "".join(ta[i1:i2])))
            right.append(("equal", "".join(tb[j1:j2])))
            continue
        if i2 > i1:
            left.append(("del", "".join(ta[i1:i2])))
        if j2 > j1:
            right.append(("ins", "".join(tb[j1:j2])))
    return left, right


def highlight(text: str, needle: str) -> list[tuple[bool, str]]:
    """Split ``text`` into (is_match, part) around case-insensitive occurrences of ``needle``."""
    if not needle:
        return [(False, text)]
    parts: list[tuple[bool, str]] = []
    pos = 0
    for m in re.finditer(re.escape(needle), text, re.I):
        if m.start() > pos:
            parts.append((False, text[pos:m.start()]))
        parts.append((True, m.group(0)))
        pos = m.end()
    parts.append((False, text[pos:]))
    return parts
