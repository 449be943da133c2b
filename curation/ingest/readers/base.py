"""What a reader returns: documents and samples parsed from one file, plus per-record errors."""
from __future__ import annotations

import dataclasses
from typing import Any

NUL = "\x00"


@dataclasses.dataclass
class ParsedDocument:
    text: str
    title: str = ""
    record_index: int = 0          # 1-based line/row for jsonl/csv, element for .json arrays; 0 for whole files
    external_id: str = ""
    language: str = ""
    domain: str = ""
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ParsedSample:
    messages: list[dict]
    record_index: int = 0
    external_id: str = ""
    intent: str = ""
    entities: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    domain: str = ""
    language: str = ""
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ReadResult:
    encoding: str = ""
    documents: list[ParsedDocument] = dataclasses.field(default_factory=list)
    samples: list[ParsedSample] = dataclasses.field(default_factory=list)
    line_errors: list[tuple[int, str]] = dataclasses.field(default_factory=list)  # (line, reason)
    nul_removed: int = 0           # NUL characters stripped by strip_nul


def _without_nul(value: Any) -> tuple[Any, int]:
    """``value`` with every NUL character removed from its strings (dict keys too), and how many."""
    if isinstance(value, str):
        n = value.count(NUL)
        return (value.replace(NUL, ""), n) if n else (value, 0)
    if isinstance(value, list):
        total, out = 0, []
        for item in value:
            clean, n = _without_nul(item)
            out.append(clean)
            total += n
        return out, total
    if isinstance(value, dict):
        total, out = 0, {}
        for key, item in value.items():
            clean_key, n_key = _without_nul(key)
            clean, n = _without_nul(item)
            out[clean_key] = clean
            total += n_key + n
        return out, total
    return value, 0


def strip_nul(result: ReadResult) -> ReadResult:
    """Remove NUL characters (U+0000) from everything a reader produced.

    PostgreSQL cannot store NUL in text or JSONB columns, and a NUL carries no meaning in text (it
    comes from "\\u0000" escapes in JSON or from stray bytes in UTF-16 files), so it is dropped
    everywhere and counted in ``nul_removed``. A record that had text only of NULs becomes a line error.
    """
    result.line_errors = [(line, reason.replace(NUL, "")) for line, reason in result.line_errors]
    kept_docs, kept_samples, emptied = [], [], []
    for doc in result.documents:
        if _strip_record(result, doc) and not doc.text.strip():
            emptied.append((doc.record_index, "the text is empty once NUL characters are removed"))
        else:
            kept_docs.append(doc)
    for sample in result.samples:
        before = [bool(str(m.get("content", "")).strip()) for m in sample.messages]
        if _strip_record(result, sample) and any(
                had and not str(m.get("content", "")).strip() for had, m in zip(before, sample.messages)):
            emptied.append((sample.record_index, "a message is empty once NUL characters are removed"))
        else:
            kept_samples.append(sample)
    if emptied:
        result.documents, result.samples = kept_docs, kept_samples
        result.line_errors = sorted(result.line_errors + emptied)
    return result


def _strip_record(result: ReadResult, record) -> int:
    removed = 0
    for field in dataclasses.fields(record):
        clean, n = _without_nul(getattr(record, field.name))
        if n:
            setattr(record, field.name, clean)
            removed += n
    result.nul_removed += removed
    return removed
