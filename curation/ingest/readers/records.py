"""jsonl and csv: one record per line/row → Document or Sample (mapping in curation.builders.importers).

A bad line is reported with its number; the other lines still ingest.
"""
from __future__ import annotations

import csv
import io
import json

from curation.builders.importers import RecordError, record_map

from ..encoding import decode_text
from ..errors import IngestError
from .base import ParsedDocument, ParsedSample, ReadResult

CSV_DELIMITERS = ",;\t|"


def _add(result: ReadResult, record: dict, line: int, *, index: int | None = None, where: str = "") -> None:
    """Map one record; ``line`` is where errors are reported, ``index`` (default: the line) the
    record's unique position in the file, ``where`` a prefix for error messages."""
    try:
        kind, payload, extra = record_map(record)
    except RecordError as exc:
        result.line_errors.append((line, f"{where}{exc}"))
        return
    index = line if index is None else index
    if kind == "sample":
        result.samples.append(ParsedSample(messages=payload, record_index=index, **extra))
    else:
        result.documents.append(ParsedDocument(text=payload, record_index=index, **extra))


def iter_jsonl(text: str):
    """``(line number, record, None)`` per JSON-object line, or ``(line number, None, error)``.

    The one JSONL line reader of curation (ingest, template builders); blank lines are skipped.
    """
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, f"invalid JSON: {exc.msg} (column {exc.colno})"
            continue
        if not isinstance(record, dict):
            yield number, None, f"expected a JSON object, got {type(record).__name__}"
            continue
        yield number, record, None


def read_jsonl(data: bytes, name: str) -> ReadResult:
    text, encoding = decode_text(data)
    result = ReadResult(encoding=encoding)
    for number, record, error in iter_jsonl(text):
        if error:
            result.line_errors.append((number, error))
        else:
            _add(result, record, number)
    return result


def read_json(data: bytes, name: str) -> ReadResult:
    """A JSON array of records (e.g. Alpaca's ``alpaca_data.json``) or one record.

    Each element's record index is its 1-based position in the array (unique even when the whole
    array is on one line); errors name the element and the line it starts on.
    """
    text, encoding = decode_text(data)
    decoder = json.JSONDecoder()
    try:
        document = decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise IngestError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    result = ReadResult(encoding=encoding)
    if isinstance(document, dict):
        _add(result, document, 1)
        return result
    if not isinstance(document, list):
        raise IngestError(f"expected a JSON array of records or one record object, got {type(document).__name__}")
    if not document:
        raise IngestError("the JSON array is empty")
    # Walk the array again with raw_decode to learn the line each element starts on.
    pos, line, counted = text.index("[") + 1, 1, 0
    for number, element in enumerate(document, start=1):
        while text[pos] in " \t\r\n,\ufeff":
            pos += 1
        line += text.count("\n", counted, pos)
        counted = pos
        _, pos = decoder.raw_decode(text, pos)
        where = f"element {number}: "
        if not isinstance(element, dict):
            result.line_errors.append((line, f"{where}expected a JSON object, got {type(element).__name__}"))
            continue
        _add(result, element, line, index=number, where=where)
    return result


def read_csv(data: bytes, name: str) -> ReadResult:
    text, encoding = decode_text(data)
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=CSV_DELIMITERS)
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise IngestError("the CSV file is empty") from None
    except csv.Error as exc:
        raise IngestError(f"line 1: unreadable CSV header: {exc}") from None
    header = [h.strip().lstrip("\ufeff").lower() for h in header]
    if not any(header) or len(set(header)) != len(header):
        raise IngestError("line 1: the CSV header needs unique, non-empty column names")
    result = ReadResult(encoding=encoding)
    while True:
        line = reader.line_num + 1  # where the row starts (a quoted cell may span several lines)
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.line_errors.append((line, f"unreadable CSV row: {exc}"))
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            result.line_errors.append((line, f"expected {len(header)} columns, got {len(row)}"))
            continue
        _add(result, {k: v for k, v in zip(header, row) if v.strip() != ""}, line)
    if not result.documents and not result.samples and not result.line_errors:
        raise IngestError("the CSV file has a header but no rows")
    return result
