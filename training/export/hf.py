"""Hugging Face datasets: parquet per split (streamed in row groups) and a ``save_to_disk`` DatasetDict."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .base import FileStats, Record, file_sha256

FORMAT = "hf"
ROW_GROUP = 5000
SCHEMA = pa.schema([
    ("id", pa.string()),
    ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
    ("meta", pa.string()),  # JSON text: keeps heterogeneous metadata loadable as one column type
])


def _batch(rows: list[Record]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({
        "id": [r["id"] for r in rows],
        "messages": [r["messages"] for r in rows],  # canonical messages are exactly {role, content}
        "meta": [json.dumps(r.get("meta") or {}, ensure_ascii=False) for r in rows],
    }, schema=SCHEMA)


def write_parquet(path: Path, records: Iterable[Record]) -> FileStats:
    """Stream ``records`` into a parquet file (temp name, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    stats = FileStats()
    try:
        with pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as writer:
            rows: list[Record] = []
            for rec in records:
                rows.append(rec)
                if len(rows) >= ROW_GROUP:
                    writer.write_batch(_batch(rows))
                    stats.rows += len(rows)
                    rows = []
            if rows or stats.rows == 0:
                writer.write_batch(_batch(rows))
                stats.rows += len(rows)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    stats.bytes = path.stat().st_size
    stats.set_digest(file_sha256(path))
    return stats


def save_to_disk(out_dir: Path, parquet_files: dict[str, Path]) -> Path:
    """Build a DatasetDict from the parquet files (memory-mapped, not loaded) and ``save_to_disk`` it."""
    import datasets

    out_dir = Path(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=".hf-", dir=out_dir.parent))
    try:
        cache = tmp / "cache"
        dd = datasets.DatasetDict({
            split: datasets.Dataset.from_parquet(str(path), cache_dir=str(cache), keep_in_memory=False)
            for split, path in parquet_files.items()
        })
        dd.save_to_disk(str(tmp / "out"))
        del dd
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp / "out", out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
