"""Chain-of-thought responses from structured fields: analysis → candidates → exclusion → conclusion.

The full response shows the steps; the reasoning is also stored apart in ``sample.meta["cot"] =
{"reasoning": str, "answer": str}`` so a dataset export can keep it (the whole response) or strip it
(``answer`` only).
"""
from __future__ import annotations

from typing import Any

COT_STEPS = ("analysis", "candidates", "exclusion", "conclusion")
COT_LABELS = {
    "zh": {"analysis": "分析", "candidates": "候选", "exclusion": "排除", "conclusion": "结论"},
    "en": {"analysis": "Analysis", "candidates": "Candidates", "exclusion": "Exclusion", "conclusion": "Conclusion"},
}


class CotError(ValueError):
    pass


def _value(record: dict, field: str, cjk: bool) -> str:
    from .templates import TemplateError, _lookup, _text

    try:
        return _text(_lookup(record, field), cjk)
    except TemplateError as exc:
        raise CotError(f"chain-of-thought: {exc}") from None


def cot_format(record: dict, mapping: dict[str, str], *, chinese: bool) -> tuple[str, dict[str, Any]]:
    """(full response, {"reasoning", "answer"}) from ``mapping`` {step: record field}; conclusion required."""
    unknown = set(mapping) - set(COT_STEPS)
    if unknown:
        raise CotError(f"unknown chain-of-thought step(s) {', '.join(sorted(unknown))}; valid: {', '.join(COT_STEPS)}")
    if not mapping.get("conclusion"):
        raise CotError("chain-of-thought needs a conclusion field")
    labels = COT_LABELS["zh" if chinese else "en"]
    sep = ":" if chinese else ": "
    lines = []
    for step in COT_STEPS[:-1]:
        if mapping.get(step):
            lines.append(f"{labels[step]}{sep}{_value(record, mapping[step], chinese)}")
    answer = _value(record, mapping["conclusion"], chinese)
    reasoning = "\n".join(lines)
    full = "\n".join([*lines, f"{labels['conclusion']}{sep}{answer}"])
    return full, {"reasoning": reasoning, "answer": answer}


def strip_reasoning(messages: list[dict], meta: dict) -> list[dict]:
    """The messages with the last assistant turn reduced to ``meta["cot"]["answer"]`` (export switch)."""
    cot = (meta or {}).get("cot")
    if not cot:
        return messages
    out = [dict(m) for m in messages]
    for m in reversed(out):
        if m.get("role") == "assistant":
            m["content"] = cot["answer"]
            break
    return out
