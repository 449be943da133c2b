"""LLaMA-Factory ``dataset_info.json``: one entry per (format, split) so the folder works unchanged.

Schema (LLaMA-Factory data/README): ``{"<name>": {"file_name", "formatting": "alpaca"|"sharegpt",
"columns": {...}, "tags": {...}}}``. OpenAI messages are the sharegpt formatting with role/content tags.
"""
from __future__ import annotations

from . import alpaca, sharegpt

MESSAGES_TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                 "assistant_tag": "assistant", "system_tag": "system"}


def entry(fmt: str, file_name: str) -> dict:
    if fmt == "messages":
        return {"file_name": file_name, "formatting": "sharegpt", "columns": {"messages": "messages"},
                "tags": dict(MESSAGES_TAGS)}
    if fmt == "sharegpt":
        return {"file_name": file_name, "formatting": "sharegpt", "columns": dict(sharegpt.COLUMNS),
                "tags": dict(sharegpt.TAGS)}
    if fmt == "alpaca":
        return {"file_name": file_name, "formatting": "alpaca", "columns": dict(alpaca.COLUMNS)}
    raise ValueError(f"LLaMA-Factory has no entry for format {fmt!r}")


def dataset_info(*, name: str, files: dict[str, dict[str, str]]) -> dict:
    """``files`` = {format: {split: relative file name}} → the dataset_info.json object.

    Entries are named ``<name>_<split>`` for the canonical messages files, ``<name>_<format>_<split>``
    for the others.
    """
    info: dict[str, dict] = {}
    for fmt, splits in files.items():
        for split, file_name in splits.items():
            key = f"{name}_{split}" if fmt == "messages" else f"{name}_{fmt}_{split}"
            info[key] = entry(fmt, file_name)
    return info
