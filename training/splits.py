"""Deterministic, seeded, stratified, group-aware train/validation/test assignment (pure, no Django).

Groups: samples that must stay together (an augmented sample and its parent, samples built from the same
document, near-duplicates, a pipeline's duplicate clusters). A group takes a pinned split if any member has
one (the most held-out pin wins: test > validation > train). Free groups are ordered by a seeded hash of
their key and handed, stratum by stratum, to the split furthest below its target share.
"""
from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Hashable, Iterable

import numpy as np
import xxhash

from .models.datasets import SPLITS

PIN_STRENGTH = {"test": 3, "validation": 2, "train": 1}


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Hashable, Hashable] = {}

    def find(self, x: Hashable) -> Hashable:
        parent = self.parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: Hashable, b: Hashable) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if str(ra) > str(rb):
                ra, rb = rb, ra
            self.parent[rb] = ra


# ------------------------------------------------------------------------------------ near-duplicates
_TOKEN_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+", re.UNICODE)
_MERSENNE = np.uint64((1 << 61) - 1)


def tokens(text: str) -> list[str]:
    """Words for alphabetic scripts, single characters for CJK; lower-cased."""
    return _TOKEN_RE.findall(text.lower())


_TOKEN_CACHE: dict[str, int] = {}
_TOKEN_CACHE_MAX = 2_000_000
_GRAM_MUL = np.uint64(0x9E3779B97F4A7C15)


def token_hashes(text: str) -> np.ndarray:
    """Stable 64-bit hashes of ``tokens(text)`` (xxhash, cached per token: vocabularies are small)."""
    cache = _TOKEN_CACHE
    if len(cache) > _TOKEN_CACHE_MAX:
        cache.clear()
    toks = tokens(text)
    out = list(map(cache.get, toks))
    if None in out:
        for i, h in enumerate(out):
            if h is None:
                out[i] = cache[toks[i]] = xxhash.xxh64_intdigest(toks[i].encode())
    return np.array(out, dtype=np.uint64)


def _rolling(th: np.ndarray, n: int) -> np.ndarray:
    """Hashes of every token n-gram, in order, repeats kept (a text shorter than n is one gram)."""
    if len(th) == 0:
        return th
    if len(th) < n:
        n = len(th)
    width = len(th) - n + 1
    acc = th[:width].copy()
    for j in range(1, n):  # wrap-around polynomial rolling hash (uint64 arrays wrap silently)
        acc *= _GRAM_MUL
        acc += th[j:j + width]
    acc ^= acc >> np.uint64(29)
    return acc


def gram_hashes(th: np.ndarray, n: int) -> np.ndarray:
    """Unique hashes of the token n-grams (a text shorter than n is one gram), vectorised with numpy."""
    return np.unique(_rolling(th, n)) if len(th) else th


SHINGLE = 3  # tokens per shingle for near-duplicate detection
SIGNATURE_BATCH = 512  # texts per vectorised MinHash batch (≈ 512 × 150 shingles × 64 × 8 B ≈ 40 MB at most)


def shingle_hashes(th: np.ndarray) -> np.ndarray:
    """Unique hashes of a text's token 3-shingles (``th`` = its ``token_hashes``; fewer tokens: none)."""
    if len(th) < SHINGLE:
        return th[:0]
    return gram_hashes(th, SHINGLE)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sets given as unique hash arrays."""
    if not len(a) or not len(b):
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


class MinHasher:
    """MinHash over token 3-shingles with LSH banding, vectorised with numpy over batches of texts.

    Permutation k of a shingle hash x is ``(a_k * x + b_k) >> 32`` with wrap-around 64-bit arithmetic
    (multiply-shift hashing: no modulo, so a batch of texts costs a few array operations).
    """

    def __init__(self, *, num_perm: int = 64, bands: int = 16, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, 1 << 63, size=num_perm, dtype=np.uint64) | np.uint64(1)  # odd multipliers
        self.b = rng.integers(0, 1 << 63, size=num_perm, dtype=np.uint64)
        self.bands = bands
        self.rows = num_perm // bands

    def signature(self, text: str | np.ndarray) -> np.ndarray | None:
        """MinHash signature of a text (or its token hashes); None below 3 tokens (no shingle)."""
        th = token_hashes(text) if isinstance(text, str) else text
        if len(th) < SHINGLE:
            return None
        return self.signatures([_rolling(th, SHINGLE)])[0]

    def signatures(self, shingle_lists: list[np.ndarray]) -> np.ndarray:
        """(texts × num_perm) signatures of non-empty shingle hash arrays (repeats allowed)."""
        lengths = np.fromiter((len(x) for x in shingle_lists), dtype=np.int64, count=len(shingle_lists))
        flat = np.concatenate(shingle_lists)
        vals = self.a[:, None] * flat  # (num_perm × shingles): each row contiguous, reduced along it
        vals += self.b[:, None]
        vals >>= np.uint64(32)
        starts = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        return np.minimum.reduceat(vals, starts, axis=1).T

    def band_hashes(self, sigs: np.ndarray) -> np.ndarray:
        """One 64-bit hash per band (its ``rows`` values combined) for a signature or a (texts × num_perm)
        batch: equal hash = same LSH bucket."""
        shaped = sigs.reshape(*sigs.shape[:-1], self.bands, self.rows)
        acc = shaped[..., 0].copy()
        for j in range(1, self.rows):
            acc *= _GRAM_MUL
            acc += shaped[..., j]
        return acc


def near_duplicate_pairs(items: Iterable[tuple[Hashable, str | np.ndarray]], *,
                         threshold: float) -> list[tuple[Hashable, Hashable]]:
    """(key, text or its token_hashes) → pairs of keys that join every (near-)duplicate into one component.

    * Exact duplicates — the same token sequence, however short (one-word and CJK two-character texts
      included) — are paired with the first key that had it.
    * Near-duplicates — texts of ≥ 3 tokens whose token 3-shingle sets have a Jaccard similarity ≥
      ``threshold``: MinHash LSH (16 bands × 4 rows) proposes candidates, and every member of every bucket
      is checked against the other components in that bucket with the exact Jaccard of the two shingle sets
      (so a pair that shares a bucket is never missed, and an LSH false positive never joins anything).

    The result is a spanning forest: union the pairs to get the groups (connected components of
    "exact duplicate or Jaccard ≥ threshold"). Texts with no tokens are left alone. Memory: the token
    arrays the caller passes are referenced, not copied; per text 16 band hashes (128 bytes) plus a
    128-bit exact hash.
    """
    mh = MinHasher()
    keys: list[Hashable] = []          # index → key, for texts with shingles
    ths: list[np.ndarray] = []         # index → token hashes (references)
    bands: list[np.ndarray] = []       # (batch × bands) band hashes
    batch: list[np.ndarray] = []
    first_with: dict[int, Hashable] = {}
    pairs: list[tuple[Hashable, Hashable]] = []
    for key, text in items:
        th = token_hashes(text) if isinstance(text, str) else text
        if not len(th):
            continue
        digest = xxhash.xxh3_128_intdigest(th.tobytes())
        first = first_with.get(digest)
        if first is not None:
            pairs.append((first, key))
            continue
        first_with[digest] = key
        if len(th) < SHINGLE:
            continue  # shorter than a shingle: exact grouping only
        keys.append(key)
        ths.append(th)
        batch.append(_rolling(th, SHINGLE))
        if len(batch) >= SIGNATURE_BATCH:
            bands.append(mh.band_hashes(mh.signatures(batch)))
            batch = []
    if batch:
        bands.append(mh.band_hashes(mh.signatures(batch)))
    del first_with, batch
    if len(keys) < 2:
        return pairs
    table = np.vstack(bands)
    del bands
    uf = UnionFind()
    cache: dict[int, np.ndarray] = {}

    def shingles(i: int) -> np.ndarray:
        got = cache.get(i)
        if got is None:
            if len(cache) > 100_000:
                cache.clear()
            got = cache[i] = shingle_hashes(ths[i])
        return got

    def similar(i: int, j: int) -> bool:
        a, b = shingles(i), shingles(j)
        if min(len(a), len(b)) < threshold * max(len(a), len(b)):
            return False  # sizes alone rule out Jaccard ≥ threshold
        return jaccard(a, b) >= threshold

    for band in range(table.shape[1]):
        col = table[:, band]
        order = np.argsort(col, kind="stable")
        ordered = col[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        ends = np.r_[starts[1:], len(ordered)]
        multi = ends - starts > 1
        for start, end in zip(starts[multi].tolist(), ends[multi].tolist()):
            run = order[start:end]
            comps: list[list[int]] = []  # components among this bucket's members seen so far
            for i in sorted(int(x) for x in run):
                hits = []
                for ci, members in enumerate(comps):
                    if uf.find(members[0]) == uf.find(i):
                        hits.append(ci)
                        continue
                    match = next((j for j in members if similar(j, i)), None)
                    if match is not None:
                        uf.union(match, i)
                        pairs.append((keys[match], keys[i]))
                        hits.append(ci)
                if not hits:
                    comps.append([i])
                    continue
                merged = [i] + [m for ci in hits for m in comps[ci]]
                comps = [c for ci, c in enumerate(comps) if ci not in hits] + [merged]
    return sorted(pairs, key=str)


# ------------------------------------------------------------------------------------ assignment
def _order_key(seed: int, group_key: str) -> bytes:
    return hashlib.sha256(f"{seed}:{group_key}".encode()).digest()


def assign_splits(
    *,
    groups: dict[str, list[Hashable]],
    strata: dict[str, str],
    pinned: dict[str, str],
    ratios: dict[str, float],
    seed: int,
) -> dict[Hashable, str]:
    """Assign every member of every group a split.

    ``groups``: group key (stable, content-derived) → member keys. ``strata``: group key → stratum label.
    ``pinned``: group key → split for groups with a pinned member. Deterministic for equal inputs.
    """
    out: dict[Hashable, str] = {}
    by_stratum: dict[str, list[str]] = defaultdict(list)
    for gk in groups:
        by_stratum[strata.get(gk, "")].append(gk)
    for stratum in sorted(by_stratum):
        counts = dict.fromkeys(SPLITS, 0)
        free = []
        for gk in by_stratum[stratum]:
            if gk in pinned:
                counts[pinned[gk]] += len(groups[gk])
                for m in groups[gk]:
                    out[m] = pinned[gk]
            else:
                free.append(gk)
        free.sort(key=lambda g: _order_key(seed, g))
        for gk in free:
            size = len(groups[gk])
            total = sum(counts.values()) + size
            # the split with the largest deficit against its target share after adding this group
            best = max(SPLITS, key=lambda s: (ratios.get(s, 0.0) * total - counts[s], -SPLITS.index(s)))
            if ratios.get(best, 0.0) <= 0.0:
                best = "train"
            counts[best] += size
            for m in groups[gk]:
                out[m] = best
    return out
