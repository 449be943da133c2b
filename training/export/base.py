"""Shared pieces of the export writers: canonical record reading, atomic JSONL writing, CoT handling."""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import ujson

Record = dict[str, Any]

# Formats a version can be exported to (CLI --format, API). "hf" = save_to_disk + parquet + card.
JSONL_FORMATS = ("messages", "alpaca", "sharegpt")
FORMATS = (*JSONL_FORMATS, "hf")

# Chain-of-thought: how reasoning sits inside an assistant turn is said once, in curation.builders.cot.
from curation.builders.cot import THINK_BLOCK_RE as COT_BLOCK_RE, THINK_CLOSE as COT_CLOSE, THINK_OPEN as COT_OPEN  # noqa: E402,F401
from curation.builders.cot import strip_reasoning  # noqa: E402

COT_MODES = ("keep", "strip")


class ExportError(ValueError):
    """A record cannot be written in the requested format; the message says which and why."""


def iter_jsonl(path: Path) -> Iterator[Record]:
    """Stream the records of a JSONL file (one JSON object per line)."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = ujson.loads(line)  # ~2x json.loads; the error message comes from json below
            except ValueError:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ExportError(f"{path.name} line {lineno}: not valid JSON ({exc.msg})") from exc
            yield rec


def _dumps(obj: Any) -> str:
    """Compact JSON, UTF-8 kept — the same text as ``json.dumps(obj, ensure_ascii=False, separators=(",", ":"))``,
    about 3x faster."""
    return ujson.dumps(obj, ensure_ascii=False, escape_forward_slashes=False)


class FileStats:
    """Rows, bytes and sha256 of a file as it is written."""

    def __init__(self) -> None:
        self.rows = 0
        self.bytes = 0
        self._sha = hashlib.sha256()
        self._digest: str | None = None

    def set_digest(self, digest: str) -> None:
        """For files hashed after writing (binary formats)."""
        self._digest = digest

    def feed(self, data: bytes) -> None:
        self.bytes += len(data)
        self._sha.update(data)

    @property
    def sha256(self) -> str:
        return self._digest or self._sha.hexdigest()

    def as_dict(self) -> dict:
        return {"rows": self.rows, "bytes": self.bytes, "sha256": self.sha256}


class BackgroundIO:
    """One thread that writes (and hashes) buffers for any number of files, in submission order. File writes and
    sha256 release the GIL, so the caller keeps computing while the disk catches up; at most ``depth``
    buffers wait, so memory stays bounded. An error surfaces at a later ``submit`` or at ``drain``."""

    def __init__(self, depth: int = 8) -> None:
        import collections
        import concurrent.futures

        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-io")
        self._futures: collections.deque = collections.deque()
        self._depth = depth

    def submit(self, fn: Callable, *args) -> None:
        self._futures.append(self._pool.submit(fn, *args))
        while len(self._futures) > self._depth:
            self._futures.popleft().result()

    def drain(self) -> None:
        while self._futures:
            self._futures.popleft().result()

    def close(self) -> None:
        try:
            self.drain()
        finally:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> BackgroundIO:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            try:
                self.close()
            except Exception:  # noqa: BLE001 — the first error is the one being raised
                pass


class JsonlWriter:
    """One JSONL file written incrementally to a temp name and renamed into place by ``close`` (``abort`` — or
    leaving a ``with`` block by an exception — removes it). Counts rows and bytes and hashes as it writes, so
    several files can be filled in one pass over the data; with ``io`` the writing and hashing happen on that
    background thread."""

    def __init__(self, path: Path, *, buffer_bytes: int = 1 << 20, io: BackgroundIO | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self._fh = open(self._tmp, "wb")  # noqa: SIM115 — closed by close() / abort()
        self._buf: list[bytes] = []
        self._size = 0
        self._limit = buffer_bytes
        self._io = io
        self.stats = FileStats()

    def write_line(self, line: bytes) -> None:
        """One row, already serialised (UTF-8 JSON without the newline)."""
        self._buf.append(line)
        self._size += len(line)
        if self._size >= self._limit:
            self._flush()

    def write(self, record: Record) -> None:
        self.write_line(_dumps(record).encode("utf-8"))

    def _emit(self, data: bytes) -> None:
        self.stats.feed(data)
        self._fh.write(data)

    def _flush(self) -> None:
        if self._buf:
            self.stats.rows += len(self._buf)
            self._buf.append(b"")
            data = b"\n".join(self._buf)
            self._buf = []
            self._size = 0
            if self._io is not None:
                self._io.submit(self._emit, data)
            else:
                self._emit(data)

    def close(self) -> FileStats:
        self._flush()
        if self._io is not None:
            self._io.drain()
        self._fh.close()
        os.replace(self._tmp, self.path)
        return self.stats

    def abort(self) -> None:
        if self._io is not None:
            try:
                self._io.drain()
            except Exception:  # noqa: BLE001 — aborting anyway
                pass
        self._fh.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_jsonl_atomic(path: Path, records: Iterable[Record], convert: Callable[[Record], Record] | None = None) -> FileStats:
    """Write ``records`` (optionally converted) as JSONL to a temp name, then rename; returns its stats."""
    with JsonlWriter(path) as out:
        dumps = _dumps
        for rec in records:
            out.write_line(dumps(convert(rec) if convert else rec).encode("utf-8"))
    return out.stats


def copy_file_atomic(src: Path, dst: Path) -> FileStats:
    """Copy ``src`` to ``dst`` through a temp name, hashing the bytes on the way; returns the copy's stats
    (rows = lines)."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    stats = FileStats()
    try:
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            for chunk in iter(lambda: fin.read(1 << 22), b""):
                stats.feed(chunk)
                stats.rows += chunk.count(b"\n")
                fout.write(chunk)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return stats


def write_text_atomic(path: Path, text: str) -> FileStats:
    """Write UTF-8 text to a temp name, then rename; returns its stats."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    data = text.encode("utf-8")
    stats = FileStats()
    stats.feed(data)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return stats


def write_json_atomic(path: Path, obj: Any) -> FileStats:
    return write_text_atomic(path, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False) + "\n")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def apply_cot(messages: list[dict], cot: dict | None, mode: str) -> tuple[list[dict], bool]:
    """Keep or strip chain-of-thought in the assistant turns; returns (messages, changed).

    "keep" leaves the text as the builder wrote it; "strip" leaves only the answer, through
    ``curation.builders.cot.strip_reasoning`` (``<think>`` blocks, the labelled step format, or the
    sample's ``meta["cot"]``); the answer text always comes from the message itself, never from meta.
    """
    if mode not in COT_MODES:
        raise ExportError(f"Unknown chain-of-thought mode {mode!r}; valid: {', '.join(COT_MODES)}")
    if mode == "keep":
        return messages, False
    return strip_reasoning(messages, cot if isinstance(cot, dict) else None)
