"""Structured records (jsonl / csv) as plain dicts for template builders — any fields, no shape required."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from curation.ingest.encoding import decode_text
from curation.ingest.readers.records import CSV_DELIMITERS, iter_jsonl


class RecordsError(ValueError):
    """The file cannot be read as records; the message says where."""


def iter_records(data: bytes, fmt: str) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each jsonl line / csv row; raises RecordsError naming the bad line."""
    text, _ = decode_text(data)
    if fmt == "jsonl":
        for number, record, error in iter_jsonl(text):
            if error:
                raise RecordsError(f"line {number}: {error}")
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
