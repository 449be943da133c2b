"""Hugging Face datasets: parquet per split (streamed in row groups) and a ``save_to_disk`` DatasetDict."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from .base import FileStats, file_sha256

FORMAT = "hf"
BLOCK_BYTES = 1 << 20  # JSON parsed in 1 MB blocks: peak memory stays flat whatever the file size (8 MB blocks: +400 MB at 1M rows)
MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
# The canonical record's meta (see training.services.datasets._canonical); missing keys read as null.
META = pa.struct([
    ("sample_id", pa.int64()), ("origin", pa.string()), ("method", pa.string()), ("domain", pa.string()),
    ("language", pa.string()), ("intent", pa.string()), ("label", pa.string()), ("agreement", pa.float64()),
    ("quality", pa.float64()), ("source_file", pa.int64()), ("source_file_name", pa.string()),
    ("source_document", pa.int64()), ("pipeline_run", pa.int64()), ("parent", pa.int64()), ("group", pa.string()),
])
SHARD_BYTES = 500 << 20
# dictionary encoding for the categorical columns only (message texts are unique: trying costs time) and
# statistics only for the id (min/max of long texts are useless and cost a third of the writing time)
DICTIONARY_COLUMNS = ["messages.list.element.role", "meta.origin", "meta.method", "meta.domain", "meta.language",
                      "meta.intent", "meta.label", "meta.source_file_name", "meta.group"]
STATISTICS_COLUMNS = ["id", "meta.sample_id"]
SCHEMA = pa.schema([("id", pa.string()), ("messages", pa.list_(MESSAGE)), ("meta", META)])


def _block_size(src: Path) -> int:
    """Arrow needs every JSON line inside one block: 1 MB, or more when a line is longer."""
    longest = 0
    with open(src, "rb") as fh:
        for line in fh:
            if len(line) > longest:
                longest = len(line)
    return max(BLOCK_BYTES, 2 * longest + 1024)


def write_parquet(path: Path, src: Path) -> FileStats:
    """Convert a canonical JSONL file to parquet with Arrow's streaming JSON reader (temp name, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    stats = FileStats()
    try:
        with pq.ParquetWriter(tmp, SCHEMA, compression="zstd", use_dictionary=DICTIONARY_COLUMNS,
                              write_statistics=STATISTICS_COLUMNS) as writer:
            if Path(src).stat().st_size:
                reader = pa_json.open_json(
                    src, read_options=pa_json.ReadOptions(block_size=_block_size(src)),
                    parse_options=pa_json.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="ignore"))
                for batch in reader:
                    writer.write_batch(batch)
                    stats.rows += batch.num_rows
            # an empty split: the file holds the schema and no row group (readers choke on empty row groups)
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
            # datasets cannot read a parquet file without rows; an empty split is an empty table
            split: (datasets.Dataset.from_parquet(str(path), cache_dir=str(cache), keep_in_memory=False)
                    if pq.ParquetFile(path).metadata.num_rows else
                    datasets.Dataset.from_dict({name: [] for name in SCHEMA.names},
                                               features=datasets.Features.from_arrow_schema(SCHEMA)))
            for split, path in parquet_files.items()
        })
        # explicit shard counts (≈500 MB each): datasets writes no shard for an empty split otherwise,
        # and load_from_disk then fails on it
        dd.save_to_disk(str(tmp / "out"), num_shards={s: max(1, -(-ds.data.nbytes // SHARD_BYTES)) for s, ds in dd.items()})
        del dd
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp / "out", out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
