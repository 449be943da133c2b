"""N-gram overlap decontamination (pure, no Django).

Held-out text (validation/test samples, uploaded evaluation sets) is turned into one sorted array of hashed
token n-grams, each tagged with the first source that has it; a training sample whose share of n-grams found
there reaches ``max_overlap`` is contaminated. Tokens are words for alphabetic scripts and single characters
for CJK (``training.splits.tokens``), so Chinese and English text are measured alike. System prompts are left
out (they are shared on purpose).

The index and the queries work on 52-bit n-gram fingerprints (the top bits of the 64-bit gram hash), so a
query batch is one sorted integer array (fingerprint above, text number below): a false match needs two
different n-grams to agree in 52 bits — about (held-out grams) / 2**52 per query gram, i.e. well under one
false gram in a million-sample dataset. The index costs 8 bytes per distinct held-out gram plus a 2-byte
bit filter that answers most misses from memory-cache-sized words.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .splits import batch_gram_hashes, gram_hashes, token_hashes

_U64 = np.uint64
LOW_BITS = 12                     # text number within a query batch / source number within the index
MAX_SOURCES = (1 << LOW_BITS) - 1
QUERY_BATCH = 1 << LOW_BITS       # texts per sorted query batch
_LOW_MASK = _U64((1 << LOW_BITS) - 1)
_SHIFT = _U64(LOW_BITS)
_FP_BITS = 64 - LOW_BITS
FILTER_MIN = 1 << 16              # held-out grams from which the bit filter pays off
FILTER_BITS_PER_GRAM = 16         # ≈ 6 % of misses pass the filter and are searched
_CHUNK = 1 << 20


def ngram_hashes(text: str | np.ndarray, n: int) -> np.ndarray:
    """Unique n-gram hashes of a text (or of its ``token_hashes``)."""
    return gram_hashes(token_hashes(text) if isinstance(text, str) else text, n)


def messages_text(messages: Iterable[dict]) -> str:
    return "\n".join(m.get("content", "") for m in messages if m.get("role") != "system")


class HeldOutIndex:
    """N-gram fingerprints of held-out texts per source ("validation", "test", "eval:<name>").

    Grams go into one uint64 buffer (``reserve`` sizes it when the caller knows how many come, so it is never
    copied to grow); the first query sorts it in place and compacts it to one entry per fingerprint, in
    chunks, so building costs the buffer plus a few MB."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.sources: list[str] = []          # in order of first ``add``: a gram counts for the first that has it
        self._buf = np.empty(0, dtype=_U64)   # fingerprint << LOW_BITS | source number
        self._used = 0
        self._sorted = True                   # _buf[:_used] sorted, one entry per fingerprint
        self._filter: np.ndarray | None = None
        self._filter_shift = _U64(0)

    def _source(self, source: str) -> int:
        if source not in self.sources:
            if len(self.sources) >= MAX_SOURCES:
                raise ValueError(f"at most {MAX_SOURCES} held-out sources")
            self.sources.append(source)
        return self.sources.index(source)

    def reserve(self, n_grams: int) -> None:
        """Room for ``n_grams`` more grams."""
        need = self._used + n_grams
        if need > len(self._buf):
            buf = np.empty(need, dtype=_U64)
            buf[:self._used] = self._buf[:self._used]
            self._buf = buf

    def add_grams(self, grams: np.ndarray, source: str) -> None:
        """Gram hashes (any number of texts, repeats allowed) of held-out ``source``."""
        src = self._source(source)
        m = len(grams)
        if not m:
            return
        if self._used + m > len(self._buf):
            self.reserve(max(m, self._used // 2))
        out = self._buf[self._used:self._used + m]
        np.right_shift(grams, _SHIFT, out=out)
        out <<= _SHIFT
        out |= _U64(src)
        self._used += m
        self._sorted = False

    def add(self, text: str | np.ndarray, source: str) -> None:
        self.add_grams(ngram_hashes(text, self.n), source)

    def add_tokens(self, toks: np.ndarray, counts: np.ndarray, source: str) -> None:
        """Many held-out texts given as token hashes (concatenated) and token counts."""
        self.add_grams(batch_gram_hashes(toks, counts, self.n)[0], source)

    def __bool__(self) -> bool:
        return self._used > 0

    def build(self) -> None:
        """Sort and compact now (queries do it on first use; threads that share the index need it done)."""
        self._index()

    def _index(self) -> np.ndarray:
        if not self._sorted:
            keys = self._buf[:self._used]
            keys.sort()  # in place; equal fingerprints end up together, lowest source number first
            w, last = 0, None
            for lo in range(0, len(keys), _CHUNK):  # compact in place, chunk by chunk
                chunk = keys[lo:lo + _CHUNK].copy()
                fp = chunk >> _SHIFT
                keep = np.empty(len(chunk), dtype=bool)
                keep[0] = last is None or fp[0] != last
                np.not_equal(fp[1:], fp[:-1], out=keep[1:])
                last = fp[-1]
                kept = chunk[keep]
                keys[w:w + len(kept)] = kept
                w += len(kept)
            del keys
            self._buf = self._buf[:w].copy() if w < len(self._buf) // 2 else self._buf[:w]
            self._used = w
            self._sorted = True
            self._filter = None
            if w >= FILTER_MIN:
                bits = 1 << int(np.ceil(np.log2(w * FILTER_BITS_PER_GRAM)))
                self._filter_shift = _U64(64 - int(np.log2(bits)))
                words = np.zeros(bits // 64, dtype=_U64)
                for lo in range(0, w, _CHUNK):
                    b = self._buf[lo:lo + _CHUNK] >> self._filter_shift
                    np.bitwise_or.at(words, (b >> _U64(6)).astype(np.intp), _U64(1) << (b & _U64(63)))
                self._filter = words
        return self._buf[:self._used]

    def _lookup(self, fp: np.ndarray) -> np.ndarray:
        """Source number of each query fingerprint (sorted, ``fp << LOW_BITS``), -1 when not held out."""
        held = self._index()
        out = np.full(len(fp), -1, dtype=np.int64)
        if not len(held) or not len(fp):
            return out
        idx = np.arange(len(fp))
        if self._filter is not None:
            b = fp >> self._filter_shift
            maybe = (self._filter[(b >> _U64(6)).astype(np.intp)] >> (b & _U64(63))) & _U64(1)
            idx = np.flatnonzero(maybe)
        q = fp[idx]
        pos = np.minimum(np.searchsorted(held, q), len(held) - 1)
        got = held[pos]
        hit = (got >> _SHIFT) == (q >> _SHIFT)
        out[idx[hit]] = (got[hit] & _LOW_MASK).astype(np.int64)
        return out

    def shares(self, toks: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For texts given as token hashes (concatenated) and counts: (share of each text's distinct n-grams that
        are held out, index into ``sources`` of the source with the most of them (ties: the larger name), -1
        when none). A gram counts once, for the first source that has it."""
        counts = np.asarray(counts, dtype=np.int64)
        n_texts = len(counts)
        share = np.zeros(n_texts)
        best = np.full(n_texts, -1, dtype=np.int64)
        if not self or not n_texts:
            return share, best
        self._index()
        n_src = len(self.sources)
        by_name = np.array(sorted(range(n_src), key=lambda s: self.sources[s], reverse=True), dtype=np.int64)
        tok_start = np.concatenate(([0], np.cumsum(counts)))
        for lo in range(0, n_texts, QUERY_BATCH):
            hi = min(lo + QUERY_BATCH, n_texts)
            grams, gc = batch_gram_hashes(toks[tok_start[lo]:tok_start[hi]], counts[lo:hi], self.n)
            if not len(grams):
                continue
            keys = (grams >> _SHIFT) << _SHIFT
            keys |= np.repeat(np.arange(hi - lo, dtype=_U64), gc)
            keys.sort()
            keys = keys[np.r_[True, keys[1:] != keys[:-1]]]  # distinct (gram, text) pairs, by gram
            owner = (keys & _LOW_MASK).astype(np.int64)
            distinct = np.bincount(owner, minlength=hi - lo)
            src = self._lookup((keys >> _SHIFT) << _SHIFT)
            found = src >= 0
            if not found.any():
                continue
            hits = np.bincount(owner[found] * n_src + src[found], minlength=(hi - lo) * n_src).reshape(hi - lo, n_src)
            total = hits.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                share[lo:hi] = np.where(distinct > 0, total / np.maximum(distinct, 1), 0.0)
            top = by_name[hits[:, by_name].argmax(axis=1)]
            best[lo:hi] = np.where(total > 0, top, -1)
        return share, best

    def overlaps(self, texts: list[str | np.ndarray]) -> list[tuple[float, str | None]]:
        """``overlap`` of many texts at once (one sorted query batch per 4,096 texts)."""
        ths = [token_hashes(t) if isinstance(t, str) else np.asarray(t, dtype=_U64) for t in texts]
        if not ths:
            return []
        share, best = self.shares(np.concatenate(ths), np.array([len(t) for t in ths]))
        return [(float(s), self.sources[b] if b >= 0 else None) for s, b in zip(share.tolist(), best.tolist())]

    def overlap(self, text: str | np.ndarray) -> tuple[float, str | None]:
        """Share of the text's n-grams that are held out, and the source with the most hits."""
        return self.overlaps([text])[0]

