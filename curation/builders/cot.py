"""Chain-of-thought responses: the one place that knows how reasoning sits inside an assistant turn.

Built from structured fields (``cot_format``): one labelled line per step — analysis → candidates →
exclusion → conclusion (``分析:…`` / ``Analysis: …``); the reasoning is also stored apart in
``sample.meta["cot"] = {"reasoning": str, "answer": str}``. A ``<think>…</think>`` block before the
answer is recognised too (imported reasoning data).

``strip_reasoning`` is the export switch (``training.export`` calls it): it leaves only the answer, and
always takes the answer text from the message itself — never from meta — so what later steps changed in
the message (PII placeholders, augmentation) survives. ``cot_for_child`` keeps ``meta["cot"]`` true for an
augmented copy whose messages were edited.
"""
from __future__ import annotations

import re
from typing import Any

COT_STEPS = ("analysis", "candidates", "exclusion", "conclusion")
COT_LABELS = {
    "zh": {"analysis": "分析", "candidates": "候选", "exclusion": "排除", "conclusion": "结论"},
    "en": {"analysis": "Analysis", "candidates": "Candidates", "exclusion": "Exclusion", "conclusion": "Conclusion"},
}


THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
THINK_BLOCK_RE = re.compile(re.escape(THINK_OPEN) + r"(.*?)" + re.escape(THINK_CLOSE) + r"\s*", re.S)
LABEL_SEPARATORS = ":\uff1a"  # ASCII and fullwidth colon
# A step label at the start of a line, e.g. "分析:" or "Conclusion: " (group 1: the label).
STEP_LABEL_RE = re.compile(
    r"(?m)^(" + "|".join(re.escape(lab) for labels in COT_LABELS.values() for lab in labels.values())
    + r")\s*[" + LABEL_SEPARATORS + r"]\s*")


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


def _labelled_parts(content: str) -> tuple[str, str] | None:
    """(reasoning, answer) of a response in the labelled step format, or None when it is not one.

    The response must start with a step label, and a conclusion label of the same language must begin a
    later (or the same) line; the answer is everything after the last conclusion label.
    """
    first = STEP_LABEL_RE.match(content.lstrip())
    if first is None:
        return None
    lang = next(code for code, labels in COT_LABELS.items() if first.group(1) in labels.values())
    conclusion = COT_LABELS[lang]["conclusion"]
    last = None
    for m in STEP_LABEL_RE.finditer(content):
        if m.group(1) == conclusion:
            last = m
    if last is None:
        return None
    return content[:last.start()].strip(), content[last.end():].strip()


def reasoning_parts(content: str, cot: dict | None = None) -> tuple[str, str] | None:
    """(reasoning, answer) found in one assistant message, or None when it holds no recognised reasoning.

    Recognised, in order: a ``<think>…</think>`` block; the labelled step format; for a sample whose
    ``meta["cot"]`` is given, the stored reasoning written before the answer, or the stored answer
    ending the message. The answer is always the message's own text.
    """
    if not isinstance(content, str) or not content.strip():
        return None
    block = THINK_BLOCK_RE.search(content)
    if block is not None:
        return block.group(1).strip(), THINK_BLOCK_RE.sub("", content).strip()
    parts = _labelled_parts(content)
    if parts is not None:
        return parts
    if not isinstance(cot, dict):
        return None
    reasoning, answer = str(cot.get("reasoning") or "").strip(), str(cot.get("answer") or "").strip()
    text = content.strip()
    if reasoning and text.startswith(reasoning) and text != reasoning:
        return reasoning, text[len(reasoning):].strip()
    if answer and text.endswith(answer) and text != answer:
        return text[:-len(answer)].strip(), answer
    return None


def strip_reasoning(messages: list[dict], cot: dict | None = None) -> tuple[list[dict], bool]:
    """The messages with every assistant turn reduced to its answer; returns (messages, changed).

    ``cot`` is the sample's ``meta["cot"]`` (optional). Turns without recognised reasoning are unchanged.
    """
    changed = False
    out = []
    for m in messages:
        if m.get("role") == "assistant":
            parts = reasoning_parts(m.get("content", ""), cot)
            if parts is not None and parts[1] and parts[1] != m.get("content"):
                m = {**m, "content": parts[1]}
                changed = True
        out.append(m)
    return out, changed


class CotLost(Exception):
    """An augmented copy edited a chain-of-thought turn so that its reasoning is no longer recognisable."""


def cot_for_child(parent_messages: list[dict], child_messages: list[dict], cot: dict | None) -> dict | None:
    """``meta["cot"]`` for an augmented copy of a sample whose ``meta["cot"]`` is ``cot``.

    The parent's reasoning turn found unchanged in the child: the same ``cot``. Edited in place (same
    turn structure): re-read from the edited turn (e.g. an entity swapped in the conclusion). The turn
    left out (a dialogue prefix): None. Raises CotLost when the edited turn no longer has its reasoning
    recognisable — keeping it would leave reasoning in an export that strips it.
    """
    if not isinstance(cot, dict) or not cot:
        return None
    turns = [k for k, m in enumerate(parent_messages)
             if m.get("role") == "assistant" and reasoning_parts(m.get("content", ""), cot) is not None]
    if not turns:
        return dict(cot)
    k = turns[-1]
    original = parent_messages[k].get("content", "")
    if any(m.get("role") == "assistant" and m.get("content") == original for m in child_messages):
        return dict(cot)
    same_shape = [m.get("role") for m in parent_messages] == [m.get("role") for m in child_messages]
    if not same_shape:
        return None
    parts = reasoning_parts(child_messages[k].get("content", ""))
    if parts is None:
        raise CotLost("the chain-of-thought turn lost its step labels")
    return {"reasoning": parts[0], "answer": parts[1]}
