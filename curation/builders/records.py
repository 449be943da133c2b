"""Structured records (jsonl / csv) as plain dicts for template builders — any fields, no shape required."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from curation.ingest.encoding import decode_text

CSV_DELIMITERS = ",;\t|"


class RecordsError(ValueError):
    """The file cannot be read as records; the message says where."""


def iter_records(data: bytes, fmt: str) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each jsonl line / csv row; raises RecordsError naming the bad line."""
    text, _ = decode_text(data)
    if fmt == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordsError(f"line {number}: invalid JSON: {exc.msg}") from None
            if not isinstance(record, dict):
                raise RecordsError(f"line {number}: expected a JSON object")
            yield number, record
    elif fmt == "csv":
        try:
            dialect = csv.Sniffer().sniff(text[:8192], delimiters=CSV_DELIMITERS)
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
        reader.fieldnames = [h.strip().lstrip("\ufeff") for h in (reader.fieldnames or [])]
        for row in reader:
            if any((v or "").strip() for v in row.values()):
                yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}
    else:
        raise RecordsError(f"structured records need a .jsonl or .csv file, not {fmt!r}")


def read_records_file(path: str | Path) -> list[tuple[int, dict]]:
    path = Path(path)
    if not path.is_file():
        raise RecordsError(f"{path}: no such file")
    return list(iter_records(path.read_bytes(), path.suffix.lower().lstrip(".")))
