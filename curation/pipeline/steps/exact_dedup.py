"""exact_dedup — drop records whose normalised content was already seen.

The content is normalised before hashing (NFKC, case-folded, punctuation and whitespace removed, see
``_text.hash_normalize``), so "Hello, World!" and "hello world" are duplicates. For ``messages``
records the roles are part of the content. The first record of each group is kept; every later one is
rejected with reason ``exact_duplicate`` and ``duplicate_of`` = the kept record's id. Memory while
fitting: one 16-byte xxh3-128 digest and one id per distinct content; afterwards only the
{stream position of a duplicate: kept id} map.

Repeated ids: decisions are keyed by the record's position in the stream, not by its id, so records that
share an id are judged each on its own content (a repeated record — same id, same content — is dropped
as a duplicate of its first copy; two different texts under one id are both kept).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import xxhash

from ..base import GlobalStep, Rejection, register_step
from .near_dedup import _char_tables


def _normalized_bytes(text: str) -> bytes:
    """Code points of ``text`` folded (NFKC + case-fold) with punctuation and whitespace dropped, as bytes:
    the vectorised equivalent of ``_text.hash_normalize`` (shares near_dedup's lookup tables)."""
    if not text:
        return b""
    word, _, fold = _char_tables()
    codes = fold[np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)]
    return codes[word[codes]].tobytes()


def content_key(record: dict, *, normalize: bool = True) -> bytes:
    """The hash exact_dedup compares (also usable by other areas to spot exact duplicates)."""
    h = xxhash.xxh3_128()
    if isinstance(record.get("text"), str):
        h.update(_normalized_bytes(record["text"]) if normalize else record["text"].encode("utf-8", "surrogatepass"))
    messages = record.get("messages")
    if isinstance(messages, list):
        for m in messages:
            if isinstance(m, dict):
                content = str(m.get("content", ""))
                h.update(b"\x00" + str(m.get("role", "")).encode() + b"\x01")
                h.update(_normalized_bytes(content) if normalize else content.encode("utf-8", "surrogatepass"))
    return h.digest()


@register_step
class ExactDedup(GlobalStep):
    name = "exact_dedup"
    description = "Drop exact duplicates (hash of normalised content); duplicate_of names the kept record."

    @dataclasses.dataclass
    class Options:
        normalize: bool = True  # False: hash the raw text byte for byte

    def setup(self) -> None:
        if not hasattr(self, "duplicates"):
            self.duplicates: dict[int, str] = {}  # stream position → id of the kept record

    def fit(self, records):
        first: dict[bytes, str] = {}
        normalize = self.options.normalize
        self.duplicates = {}
        for position, record in enumerate(records):
            key = content_key(record, normalize=normalize)
            kept = first.get(key)
            if kept is None:
                first[key] = str(record.get("id"))
            else:
                self.duplicates[position] = kept

    def apply_at(self, record, position):
        kept = self.duplicates.get(position)
        if kept is None:
            return True
        return Rejection(self.name, "exact_duplicate", duplicate_of=kept)

    def apply(self, record):
        raise TypeError("exact_dedup decides by stream position: the engine calls apply_at(record, position)")
