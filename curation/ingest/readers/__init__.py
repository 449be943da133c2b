"""One reader per format: ``read(data: bytes, name: str) -> ReadResult``; ``READERS`` maps extensions.

``read_file`` is the one entry point: whatever a parser library raises on a broken file (lxml's
XMLSyntaxError, pypdf's NotImplementedError, RecursionError, ...) becomes an ``IngestError`` naming
the format, and NUL characters are stripped from the result (``base.strip_nul``).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from ..errors import IngestError
from .base import ParsedDocument, ParsedSample, ReadResult, strip_nul
from .docx import read_docx
from .html import read_html
from .pdf import read_pdf
from .records import read_csv, read_json, read_jsonl
from .text import read_md, read_txt

# extension → (format name stored on SourceFile, reader)
READERS: dict[str, tuple[str, Callable[[bytes, str], ReadResult]]] = {
    ".txt": ("txt", read_txt),
    ".text": ("txt", read_txt),
    ".md": ("md", read_md),
    ".markdown": ("md", read_md),
    ".html": ("html", read_html),
    ".htm": ("html", read_html),
    ".pdf": ("pdf", read_pdf),
    ".docx": ("docx", read_docx),
    ".jsonl": ("jsonl", read_jsonl),
    ".ndjson": ("jsonl", read_jsonl),
    ".json": ("json", read_json),
    ".csv": ("csv", read_csv),
    ".tsv": ("csv", read_csv),
}
SUPPORTED = ", ".join(sorted({ext for ext in READERS}))


def format_for(name: str) -> str:
    """The format of ``name`` by extension; IngestError for unsupported extensions."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in READERS:
        what = f"file type {suffix!r}" if suffix else "file without an extension"
        raise IngestError(f"unsupported {what}; supported: {SUPPORTED}, .zip")
    return READERS[suffix][0]


def read_file(data: bytes, name: str) -> ReadResult:
    """Parse ``data`` by the extension of ``name``; any failure of the parser is an IngestError."""
    suffix = PurePosixPath(name).suffix.lower()
    fmt = format_for(name)
    try:
        result = READERS[suffix][1](data, name)
    except IngestError:
        raise
    except RecursionError:
        raise IngestError(f"corrupt {fmt} file: its structure is nested too deeply to read") from None
    except Exception as exc:  # noqa: BLE001 — a parser library failing on a broken file
        detail = str(exc).strip().replace("\x00", "")[:300]
        raise IngestError(f"corrupt {fmt} file: {type(exc).__name__}" + (f": {detail}" if detail else "")) from None
    return strip_nul(result)


__all__ = ["READERS", "SUPPORTED", "ParsedDocument", "ParsedSample", "ReadResult", "format_for", "read_file"]
