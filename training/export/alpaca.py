"""Alpaca JSONL: ``{"instruction", "input", "output", "system", "history"}`` per line (LLaMA-Factory alpaca).

The last user turn is the instruction, the last assistant turn the output; earlier (user, assistant)
pairs become ``history``; a leading system message becomes ``system``.
"""
from __future__ import annotations

from .base import ExportError, Record

FORMAT = "alpaca"
FILE_SUFFIX = ".jsonl"
COLUMNS = {"prompt": "instruction", "query": "input", "response": "output", "system": "system", "history": "history"}


def convert(record: Record) -> Record:
    msgs = record["messages"]
    system = "\n\n".join(m["content"] for m in msgs if m["role"] == "system")
    turns = [m for m in msgs if m["role"] != "system"]
    if len(turns) < 2 or turns[-1]["role"] != "assistant" or turns[-2]["role"] != "user":
        raise ExportError(f"Sample {record['id']}: alpaca needs the conversation to end with a user turn and an assistant answer")
    history = []
    pairs = turns[:-2]
    for i in range(0, len(pairs) - 1, 2):
        if pairs[i]["role"] != "user" or pairs[i + 1]["role"] != "assistant":
            raise ExportError(f"Sample {record['id']}: alpaca history needs alternating user/assistant turns")
        history.append([pairs[i]["content"], pairs[i + 1]["content"]])
    if len(pairs) % 2:
        raise ExportError(f"Sample {record['id']}: alpaca history needs alternating user/assistant turns")
    return {"id": record["id"], "instruction": turns[-2]["content"], "input": "", "output": turns[-1]["content"],
            "system": system, "history": history}
