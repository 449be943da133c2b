"""Content hashes for documents and samples (one definition, used by ingest and by builders)."""
from __future__ import annotations

import hashlib
import json


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def messages_hash(messages: list[dict]) -> str:
    canonical = json.dumps([{"role": m.get("role"), "content": m.get("content")} for m in messages],
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
