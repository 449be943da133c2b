"""Word .docx: paragraphs and table cells in document order (python-docx)."""
from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from ..errors import IngestError
from .base import ParsedDocument, ReadResult


def read_docx(data: bytes, name: str) -> ReadResult:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    if not data.strip():
        raise IngestError("the file is empty")
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise IngestError(f"not a valid .docx file: {exc}") from None
    parts: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            if block.text.strip():
                parts.append(block.text.strip())
        elif isinstance(block, Table):
            for row in block.rows:
                cells = [c.text.strip() for c in row.cells]
                if any(cells):
                    parts.append("\t".join(cells))
    text = "\n".join(parts)
    if not text:
        raise IngestError("the .docx has no text")
    title = document.core_properties.title or PurePosixPath(name).stem
    return ReadResult(documents=[ParsedDocument(text=text, title=title[:500])])
