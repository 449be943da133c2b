"""HTML: the main text without navigation/boilerplate (trafilatura), title from the page metadata.

Metadata that trafilatura cannot parse (an impossible date in a <meta> tag raised ValueError in
htmldate) only costs the title, which then falls back to the file name; the text still ingests.
"""
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
    try:
        meta = trafilatura.extract_metadata(markup)
    except Exception:  # noqa: BLE001 — broken metadata (e.g. htmldate on an impossible date) costs only the title
        meta = None
    title = (meta.title if meta is not None and meta.title else "") or PurePosixPath(name).stem
    return ReadResult(encoding=encoding, documents=[ParsedDocument(text=text.strip(), title=title[:500])])
