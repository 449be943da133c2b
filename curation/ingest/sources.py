"""Expand what the user gave (files, folders, zip archives) into ``SourceItem``s.

Folders are walked recursively (hidden files skipped); zip archives are opened in memory, never
extracted to disk, recursively (zips in zips), with limits from settings: ZIP_MAX_FILES members,
ZIP_MAX_TOTAL_BYTES uncompressed in all, ZIP_MAX_RATIO uncompressed/compressed per member — an
archive over a limit is refused as a whole before anything in it is read (``zip_limits_error``, also
applied to zip-based formats such as .docx before they are parsed). Member names that are
absolute or climb out of the archive (``..``) are refused one by one. Every file must be at most
MAX_FILE_BYTES.
"""
from __future__ import annotations

import dataclasses
import io
import os
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from django.conf import settings

from .errors import IngestError

MAX_ZIP_DEPTH = 3  # zips inside zips inside zips


@dataclasses.dataclass
class SourceItem:
    """One file to ingest. ``load()`` returns its bytes (or raises IngestError); ``error`` is set when
    the item was refused while expanding (then ``load`` is None)."""

    name: str
    size: int
    load: Callable[[], bytes] | None = None
    error: str = ""


def _size_error(name: str, size: int) -> str:
    limit = settings.MAX_FILE_BYTES
    return (f"file is too large: {size / 1048576:.1f} MiB, the limit is {limit / 1048576:.1f} MiB "
            f"(setting REFINERY_MAX_FILE_MB)")


def _is_zip_name(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() == ".zip"


def _safe_member_name(name: str) -> str | None:
    """The member's path if it stays inside the archive, else None (absolute, drive letter, or '..')."""
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
        return None
    parts = [p for p in normalized.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


class _Budget:
    """Limits shared by an archive and the archives inside it."""

    def __init__(self):
        self.files = 0
        self.bytes = 0


def zip_limits_error(infos: list[zipfile.ZipInfo], *, what: str, budget: _Budget | None = None) -> str | None:
    """Why a zip container (an archive, or a zip-based file such as .docx) is refused, or None.

    The one place for the zip-bomb limits: member count (ZIP_MAX_FILES), total uncompressed size
    (ZIP_MAX_TOTAL_BYTES) and per-member expansion ratio (ZIP_MAX_RATIO), all from the declared
    sizes (readers never read past them). ``budget`` adds what enclosing archives already used.
    """
    used_files, used_bytes = (budget.files, budget.bytes) if budget is not None else (0, 0)
    total = sum(i.file_size for i in infos)
    if used_files + len(infos) > settings.ZIP_MAX_FILES:
        return (f"{what} refused: {len(infos)} files, more than the limit of {settings.ZIP_MAX_FILES} "
                f"(setting REFINERY_ZIP_MAX_FILES)")
    if used_bytes + total > settings.ZIP_MAX_TOTAL_BYTES:
        return (f"{what} refused: {total / 1048576:.1f} MiB uncompressed, more than the limit of "
                f"{settings.ZIP_MAX_TOTAL_BYTES / 1048576:.0f} MiB (setting REFINERY_ZIP_MAX_TOTAL_MB) — possible zip bomb")
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 and ratio > settings.ZIP_MAX_RATIO:
            return (f"{what} refused: member {info.filename!r} expands {ratio:.0f}× (limit "
                    f"{settings.ZIP_MAX_RATIO}×, setting REFINERY_ZIP_MAX_RATIO) — possible zip bomb")
    return None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Read a member, never more than its declared size (a lying header cannot inflate past it)."""
    out = bytearray()
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            out += chunk
            if len(out) > info.file_size:
                raise IngestError(f"{info.filename}: more data than the archive declares (zip bomb?)")
    return bytes(out)


def _expand_zip(source: bytes | Path, label: str, budget: _Budget, depth: int) -> Iterator[SourceItem]:
    """Members of a zip given as bytes (nested archives) or as a path (read lazily, never all in memory)."""
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    if depth > MAX_ZIP_DEPTH:
        yield SourceItem(name=label, size=size, error=f"archives nested more than {MAX_ZIP_DEPTH} deep")
        return
    try:
        zf = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
        infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        yield SourceItem(name=label, size=size, error=f"not a valid zip archive: {exc}")
        return
    # Check the whole archive before reading anything from it.
    error = zip_limits_error(infos, what="zip archive", budget=budget)
    if error:
        yield SourceItem(name=label, size=size, error=error)
        return
    budget.files += len(infos)
    budget.bytes += sum(i.file_size for i in infos)
    for info in infos:
        member = _safe_member_name(info.filename)
        shown = f"{label}/{info.filename}"
        if member is None:
            yield SourceItem(name=shown, size=info.file_size,
                             error="unsafe path in archive (absolute or climbing out with '..'); member skipped")
            continue
        name = f"{label}/{member}"
        if PurePosixPath(member).name.startswith(".") or member.startswith("__MACOSX/"):
            continue
        if info.file_size > settings.MAX_FILE_BYTES:
            yield SourceItem(name=name, size=info.file_size, error=_size_error(name, info.file_size))
            continue
        if _is_zip_name(member):
            try:
                inner = _read_member(zf, info)
            except (IngestError, zipfile.BadZipFile, OSError, RuntimeError, EOFError, zlib.error) as exc:
                yield SourceItem(name=name, size=info.file_size, error=f"cannot read from archive: {exc}")
                continue
            yield from _expand_zip(inner, name, budget, depth + 1)
            continue

        def load(info=info) -> bytes:
            try:
                return _read_member(zf, info)
            except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, zlib.error) as exc:
                raise IngestError(f"cannot read from archive: {exc}") from None

        yield SourceItem(name=name, size=info.file_size, load=load)


def _file_item(path: Path, name: str) -> Iterator[SourceItem]:
    try:
        size = path.stat().st_size
    except OSError as exc:
        yield SourceItem(name=name, size=0, error=f"cannot read: {exc.strerror or exc}")
        return
    if _is_zip_name(name):
        # An archive is bounded by the archive limit (its members by MAX_FILE_BYTES each).
        if size > settings.ZIP_MAX_TOTAL_BYTES:
            yield SourceItem(name=name, size=size, error=(
                f"zip archive is too large: {size / 1048576:.1f} MiB, the limit is "
                f"{settings.ZIP_MAX_TOTAL_BYTES / 1048576:.0f} MiB (setting REFINERY_ZIP_MAX_TOTAL_MB)"))
            return
        yield from _expand_zip(path, name, _Budget(), 1)
        return
    if size > settings.MAX_FILE_BYTES:
        yield SourceItem(name=name, size=size, error=_size_error(name, size))
        return

    def load() -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise IngestError(f"cannot read: {exc.strerror or exc}") from None

    yield SourceItem(name=name, size=size, load=load)


def expand_paths(paths: list[str | os.PathLike], *, names: dict[str, str] | None = None) -> Iterator[SourceItem]:
    """Files, folders (recursively, sorted, hidden entries skipped) and zip archives → items.

    ``names`` optionally maps a given path to the name to show for it (uploads keep their original
    file name); files found inside a folder are named by their path relative to the folder.
    """
    names = names or {}
    for raw in paths:
        path = Path(raw)
        shown = names.get(str(raw), path.name)
        if not path.exists():
            yield SourceItem(name=shown or str(raw), size=0, error=f"no such file or folder: {raw}")
            continue
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for fname in sorted(files):
                    if fname.startswith("."):
                        continue
                    full = Path(root) / fname
                    if not stat.S_ISREG(full.stat().st_mode):
                        continue
                    rel = full.relative_to(path).as_posix()
                    yield from _file_item(full, f"{shown}/{rel}" if shown else rel)
            continue
        yield from _file_item(path, shown)
