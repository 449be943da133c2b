"""Protected spans: text an augmenter must never change.

PII placeholders (``[PERSON_1]``, from the PII step), numbers (amounts, dates, codes, doses),
chain-of-thought step labels at a line start (``分析:``, ``Conclusion:`` — the export finds the answer by
them) and glossary terms. Augmenters either leave these spans out of what they edit (synonym, entity swap) or
check afterwards that every one survived verbatim (back-translation, perturbation).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

try:  # the PII step owns the placeholder pattern
    from curation.pipeline.steps.pii import PLACEHOLDER_RE
except ImportError:  # PII step not installed yet: the same documented shape
    PLACEHOLDER_RE = re.compile(r"\[[A-Z_]+_\d+\]")

from curation.builders.cot import STEP_LABEL_RE

NUMBER_RE = re.compile(r"\d+(?:[.,:/-]\d+)*%?")


def protected_spans(text: str, terms: Iterable[str] = ()) -> list[tuple[int, int]]:
    """Sorted, merged (start, end) spans of placeholders, numbers and the given terms in ``text``."""
    spans = [m.span() for m in PLACEHOLDER_RE.finditer(text)]
    spans += [m.span() for m in NUMBER_RE.finditer(text)]
    spans += [m.span(1) for m in STEP_LABEL_RE.finditer(text)]
    for term in terms:
        if term:
            start = text.find(term)
            while start != -1:
                spans.append((start, start + len(term)))
                start = text.find(term, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def protected_tokens(text: str, terms: Iterable[str] = ()) -> Counter:
    """The protected strings in ``text`` with their counts (placeholders, numbers, terms present)."""
    return Counter(text[s:e] for s, e in protected_spans(text, terms))


def spans_preserved(original: str, candidate: str, terms: Iterable[str] = ()) -> bool:
    """True when every protected string of ``original`` occurs in ``candidate`` at least as often."""
    terms = [t for t in terms if t and t in original]
    want = protected_tokens(original, terms)
    for token, n in want.items():
        if candidate.count(token) < n:
            return False
    return True


def overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)
