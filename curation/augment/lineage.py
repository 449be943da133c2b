"""A child's metadata that follows its messages: chain-of-thought, entity spans, per-utterance intents.

An augmenter returns new messages; whatever in the parent's ``meta`` points into the parent's messages
must point into the child's. ``message_index_map`` says which parent message became which child message
(edited in place, or moved by dialogue expansion); the rest builds on it.
"""
from __future__ import annotations

import difflib
import re
from typing import Any

from curation.builders.cot import cot_for_child

# Metadata recomputed for a child (everything else in meta is copied from the parent).
RECOMPUTED = ("cot", "entity_spans", "utterance_intents", "augment")


def message_index_map(parent: list[dict], child: list[dict]) -> dict[int, int]:
    """parent message index → child message index, for messages the child still has (edited or not).

    Unchanged messages are matched by (role, content); a run of replaced messages of the same length
    and roles (an in-place edit) maps position by position.
    """
    a = [(m.get("role"), m.get("content")) for m in parent]
    b = [(m.get("role"), m.get("content")) for m in child]
    out: dict[int, int] = {}
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal" or (op == "replace" and i2 - i1 == j2 - j1
                             and [r for r, _ in a[i1:i2]] == [r for r, _ in b[j1:j2]]):
            out.update({i1 + k: j1 + k for k in range(i2 - i1)})
    return out


def value_pattern(value: str) -> re.Pattern:
    """``value`` as a regex; whole words only where it starts/ends with a Latin letter or digit (so
    ``card`` never matches inside ``discard``); CJK and other text matches anywhere."""
    esc = re.escape(value)
    if re.match(r"[A-Za-z0-9]", value):
        esc = r"(?<![A-Za-z0-9_])" + esc
    if re.search(r"[A-Za-z0-9]$", value):
        esc += r"(?![A-Za-z0-9_])"
    return re.compile(esc)


def _nth_match(text: str, value: str, n: int) -> re.Match | None:
    for k, m in enumerate(value_pattern(value).finditer(text)):
        if k == n:
            return m
    return None


def child_entity_spans(spans: list[dict], parent: list[dict], child: list[dict], index: dict[int, int],
                       swapped: dict[str, str]) -> list[dict]:
    """The parent's entity spans located in the child: same occurrence of the (swapped) value in the
    message the annotated one became. Spans whose message or value the child no longer has are dropped.
    A record-level span (no ``utterance``) keeps its offsets only while its value is unchanged."""
    out = []
    child_text = "\n".join(m.get("content", "") for m in child)
    for span in spans:
        if not isinstance(span, dict) or not str(span.get("value", "")):
            continue
        u, value = span.get("utterance"), str(span["value"])
        if u is None:
            new_value = swapped.get(value, value)
            if value_pattern(new_value).search(child_text):
                out.append(span if new_value == value else {k: v for k, v in {**span, "value": new_value}.items()
                                                            if k not in ("start", "end")})
            continue
        if not isinstance(u, int) or u not in index or not 0 <= u < len(parent):
            continue
        old_text, new_text = parent[u].get("content", ""), child[index[u]].get("content", "")
        start = span.get("start")
        nth = sum(1 for m in value_pattern(value).finditer(old_text) if isinstance(start, int) and m.start() < start)
        new_value = swapped.get(value, value)
        m = _nth_match(new_text, new_value, nth) or _nth_match(new_text, new_value, 0)
        if m is None:
            continue
        out.append({**span, "value": new_value, "start": m.start(), "end": m.end(), "utterance": index[u]})
    return out


def child_meta(parent_meta: dict[str, Any], parent: list[dict], child: list[dict], *,
               swapped: dict[str, str] | None = None) -> dict[str, Any]:
    """The child's meta (without ``augment``): copied from the parent, with the message-bound parts
    recomputed. Raises ``curation.builders.cot.CotLost`` when the child's reasoning turn lost its shape."""
    meta = {k: v for k, v in parent_meta.items() if k not in RECOMPUTED}
    cot = cot_for_child(parent, child, parent_meta.get("cot"))
    if cot:
        meta["cot"] = cot
    index = message_index_map(parent, child)
    spans = parent_meta.get("entity_spans")
    if isinstance(spans, list) and spans:
        moved = child_entity_spans(spans, parent, child, index, swapped or {})
        if moved:
            meta["entity_spans"] = moved
    intents = parent_meta.get("utterance_intents")
    if isinstance(intents, list) and len(intents) == len(parent):
        aligned = [""] * len(child)
        for p, c in index.items():
            aligned[c] = intents[p]
        if any(aligned):
            meta["utterance_intents"] = aligned
    return meta
