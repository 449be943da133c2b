"""N-gram overlap decontamination (pure, no Django).

Held-out text (validation/test samples, uploaded evaluation sets) is turned into sorted arrays of hashed
token n-grams, one per source; a training sample whose share of n-grams found there reaches
``max_overlap`` is contaminated. Tokens are words for alphabetic scripts and single characters for CJK,
so Chinese and English text are measured alike. System prompts are left out (they are shared on purpose).
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .splits import gram_hashes, token_hashes


def ngram_hashes(text: str | np.ndarray, n: int) -> np.ndarray:
    """Unique n-gram hashes of a text (or of its ``token_hashes``)."""
    return gram_hashes(token_hashes(text) if isinstance(text, str) else text, n)


def messages_text(messages: Iterable[dict]) -> str:
    return "\n".join(m.get("content", "") for m in messages if m.get("role") != "system")


class HeldOutIndex:
    """N-gram hashes of held-out texts per source ("validation", "test", "eval:<name>")."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._parts: dict[str, list[np.ndarray]] = {}
        self._sorted: dict[str, np.ndarray] | None = None

    def add(self, text: str | np.ndarray, source: str) -> None:
        self._parts.setdefault(source, []).append(ngram_hashes(text, self.n))
        self._sorted = None

    def __bool__(self) -> bool:
        return any(len(a) for parts in self._parts.values() for a in parts)

    def _index(self) -> dict[str, np.ndarray]:
        if self._sorted is None:
            self._sorted = {src: np.unique(np.concatenate(parts)) for src, parts in self._parts.items() if parts}
        return self._sorted

    def overlap(self, text: str | np.ndarray) -> tuple[float, str | None]:
        """Share of the text's n-grams that are held out, and the source with the most hits."""
        grams = ngram_hashes(text, self.n)
        if not len(grams):
            return 0.0, None
        hits: dict[str, int] = {}
        for src, held in self._index().items():
            if not len(held):
                continue
            pos = np.minimum(np.searchsorted(held, grams), len(held) - 1)
            found = grams[held[pos] == grams]
            if len(found):
                hits[src] = len(found)
                grams = grams[held[pos] != grams]  # count each gram once, for the first source that has it
        if not hits:
            return 0.0, None
        total = sum(hits.values())
        return total / (total + len(grams)), max(hits, key=lambda s: (hits[s], s))

    def overlaps(self, texts: list[str | np.ndarray]) -> list[tuple[float, str | None]]:
        """``overlap`` of many texts at once: one sorted search per source for the whole batch."""
        grams = [ngram_hashes(t, self.n) for t in texts]
        lengths = np.fromiter((len(g) for g in grams), dtype=np.int64, count=len(grams))
        if not len(grams) or not lengths.sum():
            return [(0.0, None)] * len(grams)
        flat = np.concatenate(grams)
        owner = np.repeat(np.arange(len(grams)), lengths)
        order = np.argsort(flat)  # sorted queries walk the held-out array in order: ~5x faster than random ones
        flat, owner = flat[order], owner[order]
        open_ = np.ones(len(flat), dtype=bool)  # grams not yet counted for an earlier source
        hits: dict[str, np.ndarray] = {}
        for src, held in self._index().items():
            if not len(held):
                continue
            pos = np.minimum(np.searchsorted(held, flat), len(held) - 1)
            found = (held[pos] == flat) & open_
            if found.any():
                hits[src] = np.bincount(owner[found], minlength=len(grams))
                open_ &= ~found
        out: list[tuple[float, str | None]] = []
        for i, n in enumerate(lengths.tolist()):
            counts = {src: int(h[i]) for src, h in hits.items() if h[i]}
            if not counts:
                out.append((0.0, None))
                continue
            out.append((sum(counts.values()) / n, max(counts, key=lambda s: (counts[s], s))))
        return out
