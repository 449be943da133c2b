"""ShareGPT JSONL: ``{"conversations": [{"from": "human"|"gpt", "value"}], "system"}`` per line."""
from __future__ import annotations

from .base import ExportError, Record

FORMAT = "sharegpt"
FILE_SUFFIX = ".jsonl"
ROLE_TO_FROM = {"user": "human", "assistant": "gpt"}
TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt", "system_tag": "system"}
COLUMNS = {"messages": "conversations", "system": "system"}


def convert(record: Record) -> Record:
    msgs = record["messages"]
    system = "\n\n".join(m["content"] for m in msgs if m["role"] == "system")
    conv = []
    for m in msgs:
        if m["role"] == "system":
            continue
        expected = "user" if len(conv) % 2 == 0 else "assistant"  # human in odd positions, gpt in even
        if m["role"] != expected:
            raise ExportError(f"Sample {record['id']}: sharegpt needs alternating user/assistant turns starting with user")
        conv.append({"from": ROLE_TO_FROM[m["role"]], "value": m["content"]})
    if not conv or len(conv) % 2:
        raise ExportError(f"Sample {record['id']}: sharegpt needs the conversation to end with an assistant turn")
    return {"id": record["id"], "conversations": conv, "system": system}
