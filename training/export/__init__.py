"""Dataset export writers, one module per format.

Every writer consumes canonical records — ``{"id": str, "messages": [{"role", "content"}], "meta": {...}}``,
the format of ``DatasetVersion`` files ``data/<split>.jsonl`` — as a stream, and writes one file (or
folder) per split, so memory stays bounded whatever the dataset size.

* ``messages``  — OpenAI messages JSONL (messages.py)
* ``alpaca``    — instruction/input/output/system/history JSONL (alpaca.py)
* ``sharegpt``  — conversations of from/value JSONL (sharegpt.py)
* ``parquet`` / ``hf`` — Hugging Face datasets: parquet files and ``save_to_disk`` (hf.py)
* LLaMA-Factory ``dataset_info.json`` (llamafactory.py) and the dataset card README.md (card.py)
"""
from .base import (  # noqa: F401
    FORMATS,
    JSONL_FORMATS,
    ExportError,
    iter_jsonl,
    write_jsonl_atomic,
)
