"""PDF: the text of every page (pypdf); scanned PDFs without a text layer are refused clearly."""
from __future__ import annotations

import io
import logging
from pathlib import PurePosixPath

from ..errors import IngestError
from .base import ParsedDocument, ReadResult


def read_pdf(data: bytes, name: str) -> ReadResult:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not data.strip():
        raise IngestError("the file is empty")
    if not data.lstrip().startswith(b"%PDF-"):
        raise IngestError("not a PDF file (no %PDF- header)")
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise IngestError("the PDF is encrypted")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        title = (reader.metadata.title if reader.metadata and reader.metadata.title else "") or ""
    except IngestError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise IngestError(f"corrupt or unreadable PDF: {exc}") from None
    text = "\n\n".join(p for p in pages if p)
    if not text:
        raise IngestError(f"the PDF has no extractable text ({len(pages)} pages; scanned images need OCR)")
    return ReadResult(encoding="", documents=[ParsedDocument(
        text=text, title=(str(title) or PurePosixPath(name).stem)[:500], meta={"pages": len(pages)})])
