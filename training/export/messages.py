"""OpenAI messages JSONL: ``{"messages": [{"role", "content"}, ...]}`` per line (TRL, OpenAI fine-tuning)."""
from __future__ import annotations

from .base import Record

FORMAT = "messages"
FILE_SUFFIX = ".jsonl"


def convert(record: Record) -> Record:
    return {"id": record["id"], "messages": record["messages"]}
