"""Word .docx: paragraphs and table cells in document order (python-docx).

A .docx is a zip archive: the zip-bomb limits of archives (``sources.zip_limits_error``) are checked
on its members before python-docx reads any of them.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from ..errors import IngestError
from ..sources import zip_limits_error
from .base import ParsedDocument, ReadResult


def read_docx(data: bytes, name: str) -> ReadResult:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    if not data.strip():
        raise IngestError("the file is empty")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise IngestError(f"not a valid .docx file (not a zip archive: {exc})") from None
    error = zip_limits_error(infos, what=".docx file")
    if error:
        raise IngestError(error)
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
