"""HTML: the main text without navigation/boilerplate (trafilatura), title from the page metadata."""
from __future__ import annotations

from pathlib import PurePosixPath

from ..encoding import decode_text
from ..errors import IngestError
from .base import ParsedDocument, ReadResult


def read_html(data: bytes, name: str) -> ReadResult:
    import trafilatura

    markup, encoding = decode_text(data)
    text = trafilatura.extract(markup, include_comments=False, include_tables=True, favor_recall=True,
                               deduplicate=False, with_metadata=False)
    if not text or not text.strip():
        # Very short pages have no "main content" block for trafilatura; take all visible text.
        text = trafilatura.html2txt(markup)
    if not text or not text.strip():
        raise IngestError("the HTML page has no visible text")
    meta = trafilatura.extract_metadata(markup)
    title = (meta.title if meta is not None and meta.title else "") or PurePosixPath(name).stem
    return ReadResult(encoding=encoding, documents=[ParsedDocument(text=text.strip(), title=title[:500])])
