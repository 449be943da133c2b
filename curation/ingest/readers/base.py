"""What a reader returns: documents and samples parsed from one file, plus per-record errors."""
from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class ParsedDocument:
    text: str
    title: str = ""
    record_index: int = 0          # 1-based line/row for jsonl/csv; 0 for whole-file formats
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
