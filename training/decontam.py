"""N-gram overlap decontamination (pure, no Django).

Held-out text (validation/test samples, uploaded evaluation sets) is turned into a set of hashed token
n-grams; a training sample whose share of n-grams found in that set reaches ``max_overlap`` is
contaminated. Tokens are words for alphabetic scripts and single characters for CJK, so Chinese and
English text are measured alike. System prompts are left out (they are shared on purpose).
"""
from __future__ import annotations

from collections.abc import Iterable

import xxhash

from .splits import tokens


def ngram_hashes(text: str, n: int) -> set[int]:
    toks = tokens(text)
    if not toks:
        return set()
    if len(toks) < n:
        return {xxhash.xxh64_intdigest("\x1f".join(toks).encode())}
    return {xxhash.xxh64_intdigest("\x1f".join(toks[i:i + n]).encode()) for i in range(len(toks) - n + 1)}


def messages_text(messages: Iterable[dict]) -> str:
    return "\n".join(m.get("content", "") for m in messages if m.get("role") != "system")


class HeldOutIndex:
    """N-gram hashes of held-out texts, each remembering where it came from (first source wins)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.grams: dict[int, str] = {}

    def add(self, text: str, source: str) -> None:
        for h in ngram_hashes(text, self.n):
            self.grams.setdefault(h, source)

    def overlap(self, text: str) -> tuple[float, str | None]:
        """Share of ``text``'s n-grams that are held out, and the source with the most hits."""
        grams = ngram_hashes(text, self.n)
        if not grams:
            return 0.0, None
        hits: dict[str, int] = {}
        for h in grams:
            src = self.grams.get(h)
            if src is not None:
                hits[src] = hits.get(src, 0) + 1
        if not hits:
            return 0.0, None
        total = sum(hits.values())
        return total / len(grams), max(hits, key=lambda s: (hits[s], s))
