"""Deterministic, seeded, stratified, group-aware train/validation/test assignment, and the duplicate finder that
decides which samples must share a split (pure, no Django).

Tokens (one definition for grouping and decontamination): every CJK character is a token, every maximal run
of other word characters is a token; code points are folded (NFKC + case-fold) first. The character classes
and the folding are the curation pipeline's (``curation.pipeline.steps.near_dedup._char_tables``), so the
dataset export and the near-dedup step agree on what a word is. ``batch_token_hashes`` computes 64-bit token
hashes for a whole batch of texts with numpy (no per-token Python work); ``tokens`` is the same rule one
character at a time, for reading.

Groups: samples that must stay together (an augmented sample and its parent, samples built from the same
document, exact and near-duplicates). ``DuplicateFinder`` finds the duplicates while texts stream past it,
keeping 100 bytes per text (a 128-bit token-sequence digest, the token count and 16 LSH band hashes),
never the tokens: the caller keeps those where it can read them back (a spill file) and hands a reader to
``near_links``, which verifies LSH candidates with the exact shingle Jaccard.

Splits: a group takes a pinned split if any member has one (the most held-out pin wins: test > validation >
train). Free groups are ordered by a seeded hash of their key and handed, stratum by stratum, to the split
furthest below its target share (``assign_split_arrays``; ``assign_splits`` is the same over dicts).
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence

import numpy as np
import xxhash

from curation.pipeline.steps.near_dedup import MinHasher as _OPHMinHasher
from curation.pipeline.steps.near_dedup import _char_tables, _mix64, band_keys

from .models.datasets import SPLITS

PIN_STRENGTH = {"test": 3, "validation": 2, "train": 1}
_U64 = np.uint64


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


def components(n: int, edges: np.ndarray) -> np.ndarray:
    """Connected-component label (int64) of each of ``n`` nodes given (m, 2) int edges (scipy, C speed)."""
    if not len(edges):
        return np.arange(n, dtype=np.int64)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    g = coo_matrix((np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n))
    return connected_components(g, directed=False)[1].astype(np.int64)


# ------------------------------------------------------------------------------------ tokens
_TOKEN_SALT = _U64(0x243F6A8885A308D3)
_CHAR_BASE = 0x100000001B3                       # polynomial base over a token's code points (odd)
_SEQ_BASES = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F)  # two independent digests of a token sequence
_GRAM_MUL = _U64(0x9E3779B97F4A7C15)
_CLASS: np.ndarray | None = None                 # code point → 0 separator, 1 word character, 2 CJK character
_POWERS: dict[int, np.ndarray] = {}


def _classes() -> tuple[np.ndarray, np.ndarray]:
    global _CLASS
    word, cjk, fold = _char_tables()
    if _CLASS is None:
        _CLASS = np.where(word, np.where(cjk, 2, 1), 0).astype(np.uint8)
    return _CLASS, fold


def _powers(base: int, m: int) -> np.ndarray:
    """base**0 … base**(m-1) (mod 2**64), cached and grown on demand."""
    got = _POWERS.get(base)
    if got is None or len(got) < m:
        size = max(m, 1024, 2 * (0 if got is None else len(got)))
        p = np.full(size, base, dtype=_U64)
        p[0] = 1
        got = _POWERS[base] = np.cumprod(p, dtype=_U64)
    return got


def _segment_poly(values: np.ndarray, starts: np.ndarray, lens: np.ndarray, base: int) -> np.ndarray:
    """For each non-empty segment ``values[s:s+len]``: Σ values[s+j] · base**j (mod 2**64)."""
    local = np.arange(len(values), dtype=np.int64)
    local -= np.repeat(starts, lens)
    w = values * _powers(base, int(lens.max()))[local]
    return np.add.reduceat(w, starts)


def tokens(text: str) -> list[str]:
    """The tokens of ``text`` (folded): CJK characters one by one, runs of other word characters as words."""
    cls, fold = _classes()
    out: list[str] = []
    word: list[str] = []
    for ch in text:
        cp = ord(ch)
        kind = cls[cp]
        if kind != 1 and word:
            out.append("".join(word))
            word = []
        if kind == 1:
            word.append(chr(fold[cp]))
        elif kind == 2:
            out.append(chr(fold[cp]))
    if word:
        out.append("".join(word))
    return out


def batch_token_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(64-bit hashes of every text's ``tokens``, concatenated; token count per text), vectorised over the batch."""
    n = len(texts)
    cls_table, fold = _classes()
    cp = np.frombuffer("\n".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    cls = cls_table[cp]
    wpos = np.flatnonzero(cls)  # word characters only from here on (separators just end tokens)
    if not len(wpos):
        return np.empty(0, _U64), np.zeros(n, np.int64)
    latin = cls[wpos] == 1
    start = np.empty(len(wpos), dtype=bool)
    start[0] = True
    # a token starts at every CJK character and wherever a word run begins (its previous character is no
    # word character, or a CJK one)
    np.logical_not(latin[1:] & latin[:-1] & (np.diff(wpos) == 1), out=start[1:])
    ts = np.flatnonzero(start)
    seg = np.diff(np.append(ts, len(wpos)))
    h = _segment_poly(fold[cp[wpos]].astype(_U64), ts, seg, _CHAR_BASE)
    h ^= _TOKEN_SALT
    _mix64(h)
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens + 1, out=offsets[1:])  # text i spans offsets[i] … offsets[i] + lens[i] ("\n" between texts)
    return h, np.diff(np.searchsorted(wpos[ts], offsets))


def token_hashes(text: str) -> np.ndarray:
    """Stable 64-bit hashes of ``tokens(text)``."""
    return batch_token_hashes([text])[0]


def batch_gram_hashes(toks: np.ndarray, counts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every text's token n-grams, in order, repeats kept (a text shorter than n is one gram of all
    its tokens; a text without tokens has none) → (grams concatenated, grams per text)."""
    counts = np.asarray(counts, dtype=np.int64)
    gcount = np.where(counts >= n, counts - n + 1, np.minimum(counts, 1))
    total = len(toks)
    if not total:
        return toks[:0].copy(), gcount
    starts = np.cumsum(counts) - counts
    width = total - n + 1
    long_ = counts >= n
    parts: list[np.ndarray] = []
    if width > 0 and long_.any():
        acc = toks[:width].copy()
        for j in range(1, n):  # wrap-around polynomial rolling hash (uint64 arrays wrap silently)
            acc *= _GRAM_MUL
            acc += toks[j:j + width]
        # windows that start inside a text and end inside the same text
        local = np.arange(width, dtype=np.int64) - np.repeat(starts, counts)[:width]
        last = np.repeat(counts - n, counts)[:width]
        parts.append(acc[local <= last])
    short = (counts > 0) & ~long_
    if short.any():
        ss, sc = starts[short], counts[short]
        acc = toks[ss].copy()
        for j in range(1, int(sc.max())):
            more = j < sc
            acc[more] = acc[more] * _GRAM_MUL + toks[ss[more] + j]
        if parts:  # one gram per short text, in text order among the others
            owner = np.concatenate((np.repeat(np.flatnonzero(long_), gcount[long_]), np.flatnonzero(short)))
            grams = np.concatenate((parts[0], acc))[np.argsort(owner, kind="stable")]
        else:
            grams = acc
    else:
        grams = parts[0] if parts else toks[:0].copy()
    grams ^= grams >> _U64(29)
    return grams, gcount


def gram_hashes(th: np.ndarray, n: int) -> np.ndarray:
    """Unique hashes of the token n-grams of one text (a text shorter than n is one gram)."""
    return np.unique(batch_gram_hashes(th, np.array([len(th)]), n)[0])


SHINGLE = 3  # tokens per shingle for near-duplicate detection


def shingle_hashes(th: np.ndarray) -> np.ndarray:
    """Sorted unique hashes of a text's token 3-shingles (``th`` = its ``token_hashes``; fewer tokens: none) —
    ``gram_hashes(th, 3)`` written out for one text (it runs for every candidate pair's members)."""
    if len(th) < SHINGLE:
        return th[:0]
    acc = th[:-2] * _GRAM_MUL
    acc += th[1:-1]
    acc *= _GRAM_MUL
    acc += th[2:]
    acc ^= acc >> _U64(29)
    acc.sort()
    return acc[np.r_[True, acc[1:] != acc[:-1]]]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sets given as sorted unique hash arrays (as ``shingle_hashes`` returns them)."""
    if not len(a) or not len(b):
        return 0.0
    pos = np.searchsorted(b, a)
    pos[pos == len(b)] = 0
    inter = int(np.count_nonzero(b[pos] == a))
    return inter / (len(a) + len(b) - inter)


def sequence_digests(toks: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(texts × 2) uint64: two independent polynomial digests of each text's token sequence (0, 0 when empty)."""
    counts = np.asarray(counts, dtype=np.int64)
    out = np.zeros((len(counts), 2), dtype=_U64)
    nz = counts > 0
    if nz.any():
        starts = (np.cumsum(counts) - counts)[nz]
        for k, base in enumerate(_SEQ_BASES):
            d = _segment_poly(toks, starts, counts[nz], base)
            d ^= counts[nz].astype(_U64)
            out[nz, k] = _mix64(d)
    return out


# ------------------------------------------------------------------------------------ near-duplicates
BANDS, ROWS = 16, 4  # LSH over a 64-value MinHash: P(candidate) at Jaccard 0.8 ≈ 0.9998, at 0.5 ≈ 0.64
LSH_SEED = 1
SMALL_BUCKET = 16    # buckets up to this size: every pair verified at once; larger ones component by component
_SHINGLE_CACHE = 50_000


class DuplicateFinder:
    """Exact and near-duplicate texts, fed as token hashes in batches (``add``), with compact state per text.

    * exact (``exact_links``): texts with the same token sequence, however short (one-word and two-character
      CJK texts included), are linked to the first text that had it;
    * near (``near_links``): texts of ≥ 3 tokens whose token 3-shingle sets have a Jaccard similarity ≥
      ``threshold``. A one-permutation MinHash (the curation near-dedup step's, 64 values) in 16 bands × 4
      rows proposes candidates; every pair sharing a bucket is verified with the *exact* Jaccard of the two
      shingle sets (read back through the caller's token reader), so a pair that shares a bucket is never
      missed and an LSH false positive never links anything. Pairs already in one component (parent, same
      document, exact duplicate, an earlier link) are not compared at all.

    The links form a spanning forest: union them (with the caller's other edges) to get the groups, the
    connected components of "exact duplicate or Jaccard ≥ threshold".
    """

    def __init__(self, *, threshold: float, capacity: int = 1024) -> None:
        self.threshold = threshold
        self.n = 0
        self.digest = np.zeros((capacity, 2), dtype=_U64)
        self.ntok = np.zeros(capacity, dtype=np.int64)
        self.bands = np.zeros((capacity, BANDS), dtype=np.uint32)
        self._mh = _OPHMinHasher(num_perm=BANDS * ROWS, char_ngram=SHINGLE, word_ngram=SHINGLE, seed=LSH_SEED)

    @classmethod
    def from_arrays(cls, *, threshold: float, digest: np.ndarray, ntok: np.ndarray, bands: np.ndarray) -> DuplicateFinder:
        """A finder over texts already added elsewhere (its three arrays, e.g. from another process)."""
        finder = cls(threshold=threshold, capacity=1)
        finder.digest, finder.ntok, finder.bands = digest, ntok, bands
        finder.n = len(ntok)
        return finder

    def _grow(self, need: int) -> None:
        cap = len(self.ntok)
        if need <= cap:
            return
        cap = max(need, 2 * cap)
        for name in ("digest", "ntok", "bands"):
            old = getattr(self, name)
            new = np.zeros((cap, *old.shape[1:]), dtype=old.dtype)
            new[:self.n] = old[:self.n]
            setattr(self, name, new)

    def add(self, toks: np.ndarray, counts: np.ndarray) -> None:
        """The next ``len(counts)`` texts (token hashes concatenated, token count per text)."""
        counts = np.asarray(counts, dtype=np.int64)
        k, lo = len(counts), self.n
        self._grow(lo + k)
        self.digest[lo:lo + k] = sequence_digests(toks, counts)
        self.ntok[lo:lo + k] = counts
        ok = counts >= SHINGLE
        if ok.any():
            keep = np.repeat(ok, counts)
            sh, sc = batch_gram_hashes(toks[keep], counts[ok], SHINGLE)
            _mix64(sh)
            keys = band_keys(self._mh._oph_signatures(sh, sc), BANDS, ROWS, LSH_SEED)
            self.bands[lo + np.flatnonzero(ok)] = (keys ^ (keys >> _U64(32))).astype(np.uint32)
        self.n += k

    def exact_links(self) -> tuple[np.ndarray, np.ndarray]:
        """→ ((m, 2) links first text ↔ later text of the same token sequence, mask of texts that are the first
        of their sequence and have ≥ 3 tokens: those take part in the near-duplicate search)."""
        n = self.n
        has = np.flatnonzero(self.ntok[:n] > 0)
        d = self.digest[has]
        order = has[np.lexsort((d[:, 1], d[:, 0]))]  # stable: equal sequences in text order
        ds = self.digest[order]
        same = np.r_[False, (ds[1:] == ds[:-1]).all(axis=1)]
        run_start = np.maximum.accumulate(np.where(~same, np.arange(len(order)), 0))
        links = np.stack([order[run_start[same]], order[same]], axis=1) if same.any() else np.empty((0, 2), np.int64)
        first = np.zeros(n, dtype=bool)
        first[order[~same]] = True
        return links.astype(np.int64), first & (self.ntok[:n] >= SHINGLE)

    def near_links(self, tokens_of: Callable[[int], np.ndarray], *, eligible: np.ndarray,
                   labels: np.ndarray | None = None, small_bucket: int = SMALL_BUCKET) -> np.ndarray:
        """(m, 2) verified near-duplicate links among ``eligible`` texts (see the class doc).

        ``tokens_of(i)`` returns text i's token hashes; ``labels`` (component per text from every other link
        the caller knows) lets pairs already together skip the comparison; buckets larger than
        ``small_bucket`` are walked member by member against the bucket's components (quadratic pair lists
        are never built for them)."""
        n = self.n
        labels = np.arange(n, dtype=np.int64) if labels is None else np.asarray(labels, dtype=np.int64)
        idx = np.flatnonzero(eligible[:n]).astype(_U64)
        if len(idx) < 2:
            return np.empty((0, 2), np.int64)
        cache: dict[int, np.ndarray] = {}

        def shingles(i: int) -> np.ndarray:
            got = cache.get(i)
            if got is None:
                if len(cache) > _SHINGLE_CACHE:
                    cache.clear()
                got = cache[i] = shingle_hashes(tokens_of(i))
            return got

        threshold = self.threshold

        def similar(i: int, j: int) -> bool:
            a, b = shingles(i), shingles(j)
            if min(len(a), len(b)) < threshold * max(len(a), len(b)):
                return False  # sizes alone rule out Jaccard ≥ threshold
            return jaccard(a, b) >= threshold

        small_pairs: list[np.ndarray] = []
        big: list[np.ndarray] = []
        for band in range(BANDS):
            keys = (self.bands[idx.astype(np.int64), band].astype(_U64) << _U64(32)) | idx
            keys.sort()
            bucket = keys >> _U64(32)
            members = (keys & _U64(0xFFFFFFFF)).astype(np.int64)
            starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
            sizes = np.diff(np.append(starts, len(keys)))
            for size in np.unique(sizes[sizes > 1]).tolist():
                at = starts[sizes == size]
                if size > small_bucket:
                    big.extend(members[s:s + size] for s in at.tolist())
                    continue
                a, b = np.triu_indices(size, 1)
                pa, pb = members[at[:, None] + a].ravel(), members[at[:, None] + b].ravel()
                apart = labels[pa] != labels[pb]
                if apart.any():
                    small_pairs.append(np.stack([pa[apart], pb[apart]], axis=1))
        uf = UnionFind()
        links: list[tuple[int, int]] = []
        if small_pairs:
            p = np.concatenate(small_pairs)
            p.sort(axis=1)
            p = np.unique(p[:, 0] * n + p[:, 1])
            for i, j in zip((p // n).tolist(), (p % n).tolist()):
                li, lj = uf.find(int(labels[i])), uf.find(int(labels[j]))
                if li != lj and similar(i, j):
                    uf.union(li, lj)
                    links.append((i, j))
        for run in big:  # every member against every component of the bucket seen so far
            comps: list[list[int]] = []
            for i in sorted(run.tolist()):
                hits = []
                for ci, group in enumerate(comps):
                    if uf.find(int(labels[group[0]])) == uf.find(int(labels[i])):
                        hits.append(ci)
                        continue
                    match = next((j for j in group if similar(j, i)), None)
                    if match is not None:
                        uf.union(uf.find(int(labels[match])), uf.find(int(labels[i])))
                        links.append((match, i))
                        hits.append(ci)
                if not hits:
                    comps.append([i])
                    continue
                merged = [i] + [m for ci in hits for m in comps[ci]]
                comps = [c for ci, c in enumerate(comps) if ci not in hits] + [merged]
        return np.array(links, dtype=np.int64).reshape(-1, 2)


def near_duplicate_pairs(items: Iterable[tuple[Hashable, str | np.ndarray]], *, threshold: float,
                         small_bucket: int = SMALL_BUCKET) -> list[tuple[Hashable, Hashable]]:
    """(key, text or its token_hashes) → pairs of keys that join every (near-)duplicate into one component
    (``DuplicateFinder`` over texts held in memory). Texts with no tokens are left alone."""
    keys: list[Hashable] = []
    ths: list[np.ndarray] = []
    for key, text in items:
        keys.append(key)
        ths.append(token_hashes(text) if isinstance(text, str) else np.asarray(text, dtype=_U64))
    finder = DuplicateFinder(threshold=threshold, capacity=max(1, len(keys)))
    for lo in range(0, len(ths), 1024):
        part = ths[lo:lo + 1024]
        finder.add(np.concatenate(part) if part else np.empty(0, _U64), np.array([len(t) for t in part]))
    exact, eligible = finder.exact_links()
    labels = components(len(keys), exact)
    near = finder.near_links(ths.__getitem__, eligible=eligible, labels=labels, small_bucket=small_bucket)
    return sorted(((keys[a], keys[b]) for a, b in np.concatenate((exact, near)).tolist()), key=str)


# ------------------------------------------------------------------------------------ assignment
def group_order_keys(seed: int, key_hi: np.ndarray, key_lo: np.ndarray) -> np.ndarray:
    """Seeded order of groups given their 128-bit keys (uint64 halves): a hash, so the order is a shuffle that
    depends only on the seed and each group's content."""
    s = _mix64(np.array([seed * 2 + 1], dtype=_U64))[0]
    h = _mix64(key_hi ^ s)
    h ^= key_lo
    return _mix64(h * _GRAM_MUL + s)


def _key_halves(key: str) -> tuple[int, int]:
    d = xxhash.xxh3_128_intdigest(key.encode())
    return d >> 64, d & ((1 << 64) - 1)


def assign_split_arrays(*, sizes: np.ndarray, strata: np.ndarray, pinned: np.ndarray, order: np.ndarray,
                        ratios: dict[str, float]) -> np.ndarray:
    """Split index (into ``SPLITS``) per group.

    ``sizes``: members per group; ``strata``: stratum rank per group (strata are visited in rank order);
    ``pinned``: split index per group, -1 when free; ``order``: seeded order key per group (ties: group index).
    Within a stratum, pinned groups count first; then each free group, in order, goes to the split with the
    largest deficit against its target share after adding it (ties: the earlier split).
    """
    g = len(sizes)
    out = np.asarray(pinned, dtype=np.int8).copy()
    r = [float(ratios.get(s, 0.0)) for s in SPLITS]
    by = np.lexsort((np.arange(g), order, pinned >= 0, strata))  # stratum, free groups last, seeded order
    st = strata[by]
    bounds = np.flatnonzero(np.r_[True, st[1:] != st[:-1], True])
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        members = by[lo:hi]
        pin = pinned[members]
        counts = [0, 0, 0]
        for s in range(3):
            counts[s] = int(sizes[members[pin == s]].sum())
        c0, c1, c2 = counts
        r0, r1, r2 = r
        free = members[pin < 0]
        picks = np.empty(len(free), dtype=np.int8)
        for k, size in enumerate(sizes[free].tolist()):
            total = c0 + c1 + c2 + size
            d0, d1, d2 = r0 * total - c0, r1 * total - c1, r2 * total - c2
            if d0 >= d1 and d0 >= d2:
                best = 0
            elif d1 >= d2:
                best = 1 if r1 > 0.0 else 0
            else:
                best = 2 if r2 > 0.0 else 0
            if best == 0:
                c0 += size
            elif best == 1:
                c1 += size
            else:
                c2 += size
            picks[k] = best
        out[free] = picks
    return out


def assign_splits(
    *,
    groups: dict[str, list[Hashable]],
    strata: dict[str, str],
    pinned: dict[str, str],
    ratios: dict[str, float],
    seed: int,
) -> dict[Hashable, str]:
    """Assign every member of every group a split (``assign_split_arrays`` over dicts).

    ``groups``: group key (stable, content-derived) → member keys. ``strata``: group key → stratum label.
    ``pinned``: group key → split for groups with a pinned member. Deterministic for equal inputs, whatever
    their order.
    """
    keys = sorted(groups)
    halves = np.array([_key_halves(k) for k in keys], dtype=_U64).reshape(-1, 2)
    names = sorted({strata.get(k, "") for k in keys})
    rank = {s: i for i, s in enumerate(names)}
    picks = assign_split_arrays(
        sizes=np.array([len(groups[k]) for k in keys], dtype=np.int64),
        strata=np.array([rank[strata.get(k, "")] for k in keys], dtype=np.int64),
        pinned=np.array([SPLITS.index(pinned[k]) if k in pinned else -1 for k in keys], dtype=np.int64),
        order=group_order_keys(seed, halves[:, 0], halves[:, 1]), ratios=ratios)
    return {m: SPLITS[p] for k, p in zip(keys, picks.tolist()) for m in groups[k]}
