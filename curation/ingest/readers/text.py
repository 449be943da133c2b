"""Plain text (.txt) and Markdown (.md): the decoded file is one document."""
from __future__ import annotations

import re
from pathlib import PurePosixPath

from ..encoding import decode_text
from ..errors import IngestError
from .base import ParsedDocument, ReadResult

_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise IngestError("the file is empty")
    return text


def read_txt(data: bytes, name: str) -> ReadResult:
    text, encoding = decode_text(data)
    return ReadResult(encoding=encoding, documents=[ParsedDocument(text=_clean(text), title=PurePosixPath(name).stem)])


def read_md(data: bytes, name: str) -> ReadResult:
    text, encoding = decode_text(data)
    text = _clean(text)
    heading = _MD_HEADING.search(text)
    title = heading.group(1) if heading else PurePosixPath(name).stem
    return ReadResult(encoding=encoding, documents=[ParsedDocument(text=text, title=title[:500])])
