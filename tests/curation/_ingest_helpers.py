"""Helpers shared by the ingest tests (files written into tmp_path, a collection)."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

from curation.demo_data.make_binary import pdf_from_objects
from curation.ingest.services import collection_create, ingest_paths


def make_collection(name: str = "docs", **kw):
    return collection_create(name=name, **kw)


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def ingest_one(collection, path: Path):
    report = ingest_paths(collection=collection, paths=[path])
    assert len(report.files) == 1, report.files
    return report.files[0]


def zip_bytes(members: dict[str, bytes | str], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def pdf_one_page(content: bytes, stream_dict: bytes = b"") -> bytes:
    """One Helvetica page whose content stream is ``content`` (``stream_dict``: extra entries, e.g. a filter)."""
    return pdf_from_objects([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
        b"<< /Length " + str(len(content)).encode() + b" " + stream_dict + b" >>\nstream\n" + content + b"\nendstream",
    ])
