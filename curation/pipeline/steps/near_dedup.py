"""near_dedup — MinHash LSH near-duplicate removal, numpy-vectorised, CJK-aware.

How it works
1. Normalise (NFKC, case-fold, punctuation → space, whitespace collapsed) so noise does not matter.
2. Shingle: Chinese-dominant text → character n-grams (``char_ngram``, default 5, spaces removed);
   other text → word n-grams (``word_ngram``, default 3). Texts shorter than n form one shingle.
3. MinHash with ``num_perm`` values per document — by default one-permutation hashing with optimal
   densification (see ``MinHasher``), computed for a whole batch of documents at once in numpy (no
   per-shingle or per-token Python work).
4. LSH: ``bands`` × ``rows`` chosen to minimise 0.1 × false positives + 0.9 × false negatives at
   ``threshold`` (14 × 9 at 0.8 / 128); every pair sharing a band bucket is a candidate, and candidates
   are *verified* by their estimated Jaccard similarity (≥ threshold), which removes LSH false
   positives — so the banding can favour recall.
5. Clusters = connected components of the verified pairs. One representative per cluster is kept
   (``representative``: ``first`` in input order or ``longest`` text); the others are rejected with
   reason ``near_duplicate``, ``duplicate_of`` = the representative's id and the similarity. Decisions
   are keyed by stream position, so records that share an id are judged each on its own.

Memory is bounded by the signatures, not the text: 4 bytes × num_perm (+ a few ints) per record
(51 MB for 100k records at 128 permutations) plus per-batch scratch; text is never kept. Measured peak
at 100k documents of ≈ 1.3 KB: ≈ 170 MB above the corpus, vs ≈ 290 MB for datasketch MinHashLSH
(``bench/dedup.py``). After ``fit`` only the {duplicate position → representative id} map stays.

``fit_distributed(ds)`` computes the same clusters on Ray: signatures in ``map_batches`` on the
workers, a band-bucket shuffle (``groupby`` on band key) that emits verified candidate pairs, and
connected components on the driver.
"""
from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np

from ..base import GlobalStep, Rejection, record_text, register_step
from ._text import CJK_RE, _NON_WORD_RE, _SPACE_RE, codepoint_mask

_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)
_BATCH_SHINGLES = 1 << 15  # shingle rows per numpy block (× num_perm × 8 bytes of scratch)


def shingle_text(text: str) -> str:
    """Normalisation applied before shingling."""
    return _SPACE_RE.sub(" ", _NON_WORD_RE.sub(" ", unicodedata.normalize("NFKC", text).casefold())).strip()


def _rng_constants(seed: int, num_perm: int, k_max: int):
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)  # odd multipliers
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    pos = rng.integers(1, 2**63, size=k_max, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    return a, b, pos


def optimal_bands(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) minimising weighted false-positive + false-negative probability mass (as datasketch)."""
    xs = np.linspace(0.0, 1.0, 2001)
    best, best_err = (1, num_perm), float("inf")
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            p = 1.0 - (1.0 - xs ** r) ** b
            fp = np.trapezoid(np.where(xs < threshold, p, 0.0), xs)
            fn = np.trapezoid(np.where(xs >= threshold, 1.0 - p, 0.0), xs)
            err = fp_weight * fp + fn_weight * fn
            if err < best_err:
                best, best_err = (b, r), err
    return best


_TABLES: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def _char_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lookup tables over all code points: (is word character, is CJK character, folded code point).

    Folding = NFKC + case-fold where that maps one character to one character (ＡＢＣ → abc, ﬀ stays):
    the vectorised equivalent of ``shingle_text``'s normalisation.
    """
    global _TABLES
    if _TABLES is None:
        import re

        word = codepoint_mask(re.compile(r"[^\W_]"), 0x10000)
        cjk = codepoint_mask(CJK_RE, 0x10000)
        # astral planes: CJK extensions B–H are CJK word characters; the rest (emoji, symbols) separate
        # tokens (NFKC has already folded mathematical letters to ASCII)
        word[0x20000:0x323B0] = True
        cjk[0x20000:0x323B0] = True
        fold = np.arange(0x110000, dtype=np.uint32)
        for cp in range(0x10000):
            if 0xD800 <= cp <= 0xDFFF:
                continue
            ch = chr(cp)
            f = unicodedata.normalize("NFKC", ch).casefold()
            if len(f) == 1 and f != ch:
                fold[cp] = ord(f)
        # folding must not change the character classes of the result
        word = word | word[fold]
        cjk = cjk | cjk[fold]
        _TABLES = (word, cjk, fold)
    return _TABLES


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (in place on a fresh array): turns structured integers into random-looking ones."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


class MinHasher:
    """Vectorised MinHash signatures for a batch of texts (deterministic: same on every worker).

    ``method="oph"`` (default): one-permutation MinHash with optimal densification (Li et al. 2012;
    Shrivastava 2017): each shingle is hashed once and falls into one of ``num_perm`` bins; a bin's value
    is its minimum; empty bins borrow from a bin chosen by a fixed pseudo-random probe sequence. The
    probability two signatures agree in a bin equals the Jaccard similarity, as for classic MinHash, at a
    cost independent of ``num_perm``. ``method="permutations"``: classic k independent multiply-shift
    permutations (cost ∝ shingles × num_perm).
    """

    def __init__(self, *, num_perm: int, char_ngram: int, word_ngram: int, seed: int, method: str = "oph"):
        self.num_perm = num_perm
        self.char_ngram = char_ngram
        self.word_ngram = word_ngram
        self.method = method
        self.a, self.b, self.pos = _rng_constants(seed, num_perm, max(char_ngram, word_ngram))
        rng = np.random.default_rng(seed + 7)
        self.salt = np.uint64(int(rng.integers(0, 2**63)))
        self.char_salt = np.uint64(int(rng.integers(0, 2**63)))
        # densification probe table: for bin j, attempt t → donor bin
        self.probes = rng.integers(0, num_perm, size=(num_perm, 64))
        self.word_base = np.uint64(int(rng.integers(1, 2**62)) * 2 + 1)

    # ---------------------------------------------------------------- tokens
    def batch_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(token hashes concatenated, tokens per text, n-gram size per text), vectorised over the batch.

        Code points are folded (NFKC + case-fold, by table); punctuation, symbols and whitespace only
        separate tokens. A text is CJK-dominant when its CJK characters are at least as many as its other words;
        its tokens are then its word characters one by one, else its words.
        """
        n = len(texts)
        texts = [t or "" for t in texts]
        char_lens = np.fromiter((len(x) for x in texts), dtype=np.int64, count=n)
        if not char_lens.sum():
            return np.empty(0, np.uint64), np.zeros(n, np.int64), np.full(n, self.word_ngram, np.int64)
        word_tab, cjk_tab, fold_tab = _char_tables()
        codes = fold_tab[np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)]
        isword = word_tab[codes]
        iscjk = cjk_tab[codes]
        doc = np.repeat(np.arange(n, dtype=np.int32), char_lens)
        doc_start = np.zeros(len(codes), dtype=bool)
        doc_start[(np.cumsum(char_lens) - char_lens)[char_lens > 0]] = True
        latin = isword & ~iscjk
        prev_latin = np.concatenate(([False], latin[:-1])) & ~doc_start
        n_cjk = np.bincount(doc[iscjk], minlength=n)
        n_words = np.bincount(doc[latin & ~prev_latin], minlength=n)
        char_mode = (n_cjk > 0) & (n_cjk >= n_words)
        ks = np.where(char_mode, self.char_ngram, self.word_ngram).astype(np.int64)
        in_char_doc = char_mode[doc]

        # character tokens (CJK-dominant texts)
        csel = isword & in_char_doc
        ctok = codes[csel].astype(np.uint64) ^ self.char_salt
        _mix64(ctok)
        cdoc = doc[csel]
        # word tokens (other texts): maximal runs of word characters
        wmask = isword & ~in_char_doc
        prev_word = np.concatenate(([False], wmask[:-1])) & ~doc_start
        wpos = np.flatnonzero(wmask)  # word characters only, so the per-character work below is smaller
        if len(wpos):
            starts = np.flatnonzero((wmask & ~prev_word)[wpos])
            cw = codes[wpos].astype(np.uint64)
            seg = np.diff(np.append(starts, len(cw)))
            local = np.arange(len(cw), dtype=np.int64) - np.repeat(starts, seg)
            powers = np.cumprod(np.full(int(seg.max()) + 1, self.word_base, dtype=np.uint64))
            cw *= powers[local]
            wtok = np.add.reduceat(cw, starts)
            wtok ^= self.salt
            _mix64(wtok)
            wdoc = doc[wpos[starts]]
        else:
            wtok, wdoc = np.empty(0, np.uint64), np.empty(0, np.int32)
        lens = np.bincount(cdoc, minlength=n) + np.bincount(wdoc, minlength=n)
        if len(ctok) and len(wtok):
            owner = np.concatenate((cdoc, wdoc))
            tokens = np.concatenate((ctok, wtok))[np.argsort(owner, kind="stable")]
        else:
            tokens = ctok if len(ctok) else wtok
        return tokens, lens.astype(np.int64), ks

    # ---------------------------------------------------------------- shingles
    def batch_shingles(self, tokens: np.ndarray, lens: np.ndarray, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(shingle hashes, shingles per text). n-grams never cross texts; a text shorter than n → 1 shingle."""
        n_tot = len(tokens)
        counts = np.where(lens >= ks, lens - ks + 1, np.minimum(lens, 1))
        if n_tot == 0:
            return np.empty(0, np.uint64), counts
        starts = np.cumsum(lens) - lens
        local = np.arange(n_tot) - np.repeat(starts, lens)
        k_tok = np.repeat(ks, lens)
        l_tok = np.repeat(lens, lens)
        k_max = int(ks.max())
        padded = np.concatenate((tokens, np.zeros(k_max, np.uint64)))
        window = tokens * self.pos[0]
        for j in range(1, k_max):
            # only add position j where it is inside this text's n-gram size
            term = padded[j:j + n_tot] * self.pos[j]
            window += np.where(k_tok > j, term, np.uint64(0))
        long_valid = (l_tok >= k_tok) & (local <= l_tok - k_tok)
        out = window[long_valid]
        short = (lens > 0) & (lens < ks)
        if short.any():
            weights = tokens * self.pos[np.minimum(local, k_max - 1)]
            sums = np.add.reduceat(weights, starts[lens > 0])
            short_sums = sums[short[lens > 0]]
            # interleave: shingles must stay grouped by text in input order
            owner_long = np.repeat(np.arange(len(lens)), lens)[long_valid]
            owner = np.concatenate((owner_long, np.flatnonzero(short)))
            vals = np.concatenate((out, short_sums))
            order = np.argsort(owner, kind="stable")
            out = vals[order]
        return _mix64(out ^ self.salt), counts

    # ---------------------------------------------------------------- signatures
    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """uint32 array (len(texts), num_perm); empty texts get all-0xFFFFFFFF (they never match)."""
        tokens, lens, ks = self.batch_tokens(texts)
        shingles, counts = self.batch_shingles(tokens, lens, ks)
        if self.method == "permutations":
            return self._perm_signatures(shingles, counts)
        return self._oph_signatures(shingles, counts)

    def _oph_signatures(self, shingles: np.ndarray, counts: np.ndarray) -> np.ndarray:
        n, k = len(counts), self.num_perm
        out = np.full(n * k, 0xFFFFFFFF, dtype=np.uint32)
        if len(shingles):
            owner = np.repeat(np.arange(n), counts)
            bins = ((shingles >> np.uint64(32)) * np.uint64(k)) >> np.uint64(32)
            vals = (shingles & _MASK32).astype(np.uint32)
            vals = np.minimum(vals, np.uint32(0xFFFFFFFE))  # 0xFFFFFFFF marks an empty bin
            np.minimum.at(out, owner * k + bins.astype(np.int64), vals)
        sig = out.reshape(n, k)
        empty = sig == 0xFFFFFFFF
        has_any = ~empty.all(axis=1)
        need = empty & has_any[:, None]
        filled = sig.copy()
        for t in range(self.probes.shape[1]):
            if not need.any():
                break
            donors = self.probes[:, t]
            ok = need & ~empty[:, donors]
            filled[ok] = sig[:, donors][ok]
            need &= ~ok
        if need.any():  # pathological: fall back to the next non-empty bin to the right
            rows, cols = np.nonzero(need)
            for r, c in zip(rows.tolist(), cols.tolist()):
                for d in range(1, k):
                    if not empty[r, (c + d) % k]:
                        filled[r, c] = sig[r, (c + d) % k]
                        break
        return filled

    def _perm_signatures(self, shingles: np.ndarray, counts: np.ndarray) -> np.ndarray:
        n = len(counts)
        out = np.full((n, self.num_perm), 0xFFFFFFFF, dtype=np.uint32)
        nz = np.flatnonzero(counts)
        if not len(nz):
            return out
        offsets = np.concatenate(([0], np.cumsum(counts[nz])[:-1]))
        start = 0
        while start < len(nz):
            end, rows = start, 0
            while end < len(nz) and (rows == 0 or rows + counts[nz[end]] <= _BATCH_SHINGLES):
                rows += counts[nz[end]]
                end += 1
            lo = offsets[start]
            block = shingles[lo:lo + rows]
            h = self.a[:, None] * block[None, :]  # multiply-shift: top 32 bits of a·x
            mins = np.minimum.reduceat(h, offsets[start:end] - lo, axis=1)
            out[nz[start:end]] = (mins >> _SHIFT32).T.astype(np.uint32)
            start = end
        return out


def band_keys(sig: np.ndarray, bands: int, rows: int, seed: int) -> np.ndarray:
    """uint64 array (n, bands): one hash per band of ``rows`` signature values (one band at a time, so the
    scratch memory is n × rows × 8 bytes)."""
    rng = np.random.default_rng(seed + 1)
    mult = rng.integers(1, 2**63, size=(bands, rows), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    keys = np.empty((len(sig), bands), dtype=np.uint64)
    for band in range(bands):
        block = sig[:, band * rows:(band + 1) * rows].astype(np.uint64)
        block *= mult[band]
        k = block.sum(axis=1, dtype=np.uint64)
        k ^= k >> np.uint64(29)
        keys[:, band] = k
    return keys


def candidate_pairs(keys: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(m, 2) int64 index pairs sharing a band bucket: each bucket as a star on its smallest index plus a
    chain between consecutive members (enough for connected components after verification)."""
    n, bands = keys.shape
    idx_all = np.flatnonzero(valid)
    pairs = []
    for band in range(bands):
        col = keys[idx_all, band]
        order = np.argsort(col, kind="stable")
        sk = col[order]
        si = idx_all[order]
        same = sk[1:] == sk[:-1]
        if not same.any():
            continue
        # chain: consecutive members of the same bucket
        pairs.append(np.stack([si[:-1][same], si[1:][same]], axis=1))
        # star: every member to the bucket's first member
        starts = np.concatenate(([True], ~same))
        group_first = si[np.maximum.accumulate(np.where(starts, np.arange(len(si)), 0))]
        star = group_first != si
        pairs.append(np.stack([group_first[star], si[star]], axis=1))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    p = np.concatenate(pairs)
    p.sort(axis=1)
    return np.unique(p, axis=0)


def verify_pairs(sig: np.ndarray, pairs: np.ndarray, threshold: float, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Keep candidate pairs whose estimated Jaccard ≥ threshold; returns (pairs, similarities)."""
    if len(pairs) == 0:
        return pairs, np.empty(0)
    sims = np.empty(len(pairs))
    for s in range(0, len(pairs), chunk):
        p = pairs[s:s + chunk]
        sims[s:s + chunk] = (sig[p[:, 0]] == sig[p[:, 1]]).mean(axis=1)
    keep = sims >= threshold - 1e-12
    return pairs[keep], sims[keep]


def cluster_labels(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected-component label per index (singletons get their own label)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(pairs) == 0:
        return np.arange(n)
    g = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(g, directed=False)
    return labels


def representatives(labels: np.ndarray, lengths: np.ndarray, mode: str) -> np.ndarray:
    """Representative index for each index's cluster: lowest index (first) or longest (ties → first)."""
    n = len(labels)
    idx = np.arange(n)
    if mode == "longest":
        order = np.lexsort((idx, -lengths, labels))  # by label, then longest, then first
    else:
        order = np.lexsort((idx, labels))
    sl = labels[order]
    first_of_group = np.concatenate(([True], sl[1:] != sl[:-1]))
    rep_sorted = order[np.maximum.accumulate(np.where(first_of_group, np.arange(n), 0))]
    rep = np.empty(n, dtype=np.int64)
    rep[order] = rep_sorted
    return rep


@register_step
class NearDedup(GlobalStep):
    name = "near_dedup"
    description = "Drop near-duplicates (MinHash LSH, Jaccard ≥ threshold); keeps one representative per cluster."

    @dataclasses.dataclass
    class Options:
        threshold: float = 0.8
        num_perm: int = 128
        char_ngram: int = 5        # shingle size for Chinese-dominant text (characters)
        word_ngram: int = 3        # shingle size for space-delimited text (words)
        representative: str = "first"  # first | longest
        seed: int = 1
        method: str = "oph"        # oph (one-permutation + densification) | permutations (classic)
        batch_size: int = 256      # records signed per numpy batch (scratch ≈ 100 KB per record)

        def __post_init__(self):
            if not 0.0 < self.threshold <= 1.0:
                raise ValueError("threshold must be in (0, 1]")
            if not 16 <= self.num_perm <= 1024:
                raise ValueError("num_perm must be between 16 and 1024")
            if self.char_ngram < 1 or self.word_ngram < 1:
                raise ValueError("n-gram sizes must be ≥ 1")
            if self.representative not in ("first", "longest"):
                raise ValueError(f"representative must be 'first' or 'longest', not {self.representative!r}")
            if self.method not in ("oph", "permutations"):
                raise ValueError(f"method must be 'oph' or 'permutations', not {self.method!r}")
            if self.batch_size < 1:
                raise ValueError("batch_size must be ≥ 1")

    _unpicklable = ("_hasher",)

    def setup(self) -> None:
        o = self.options
        self._hasher = MinHasher(num_perm=o.num_perm, char_ngram=o.char_ngram, word_ngram=o.word_ngram, seed=o.seed,
                                 method=o.method)
        self.bands, self.rows = _cached_bands(o.threshold, o.num_perm)
        if not hasattr(self, "duplicates"):
            self.duplicates: dict[int, tuple[str, float]] = {}  # stream position → (representative id, similarity)

    # ------------------------------------------------------------------ local
    def sign_batch(self, records: Sequence[dict]) -> tuple[np.ndarray, np.ndarray]:
        """(signatures, text lengths) for a batch of records."""
        self.ensure_setup()
        texts = [record_text(r) or "" for r in records]
        return self._hasher.signatures(texts), np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))

    def fit(self, records: Iterable[dict]) -> None:
        self.duplicates = {}
        ids: list[str] = []
        sig_parts: list[np.ndarray] = []
        len_parts: list[np.ndarray] = []
        batch: list[dict] = []
        for record in records:
            batch.append(record)
            if len(batch) >= self.options.batch_size:
                self._fit_batch(batch, ids, sig_parts, len_parts)
                batch = []
        if batch:
            self._fit_batch(batch, ids, sig_parts, len_parts)
        if not ids:
            return
        sig, lengths = np.concatenate(sig_parts), np.concatenate(len_parts)
        sig_parts.clear()  # free the per-batch copies before the pair search
        len_parts.clear()
        self._resolve(ids, sig, lengths)

    def _fit_batch(self, batch, ids, sig_parts, len_parts):
        sig, lengths = self.sign_batch(batch)
        ids.extend(str(r.get("id")) for r in batch)
        sig_parts.append(sig)
        len_parts.append(lengths)

    def _resolve(self, ids: list[str], sig: np.ndarray, lengths: np.ndarray) -> None:
        """Pairs → clusters → {duplicate id: (representative id, similarity)}."""
        valid = ~(sig == 0xFFFFFFFF).all(axis=1)
        keys = band_keys(sig, self.bands, self.rows, self.options.seed)
        pairs = candidate_pairs(keys, valid)
        pairs, _ = verify_pairs(sig, pairs, self.options.threshold)
        self._set_clusters(ids, sig, lengths, pairs)

    def _set_clusters(self, ids, sig, lengths, pairs) -> None:
        labels = cluster_labels(len(ids), pairs)
        rep = representatives(labels, lengths, self.options.representative)
        dup = np.flatnonzero(rep != np.arange(len(ids)))
        sims = (sig[dup] == sig[rep[dup]]).mean(axis=1) if len(dup) else np.empty(0)
        self.stats.counters["clusters"] += int(len(np.unique(labels[dup]))) if len(dup) else 0
        self.duplicates = {i: (ids[r], round(float(s), 4)) for i, r, s in zip(dup.tolist(), rep[dup].tolist(), sims.tolist())}

    def apply_at(self, record, position):
        hit = self.duplicates.get(position)
        if hit is None:
            return True
        rep, sim = hit
        return Rejection(self.name, "near_duplicate", duplicate_of=rep, details={"similarity": sim})

    def apply(self, record):
        raise TypeError("near_dedup decides by stream position: the engine calls apply_at(record, position)")

    # ------------------------------------------------------------------ Ray
    def fit_distributed(self, ds) -> None:
        """Same clusters as ``fit``, computed on Ray: signatures and band keys on the workers, band-bucket
        shuffle with verification in ``groupby(...).map_groups``, connected components on the driver."""
        import ray.data

        self.ensure_setup()
        self.duplicates = {}
        step = self
        bands, rows, seed = self.bands, self.rows, self.options.seed

        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True

        def sign(batch: dict) -> dict:
            n = len(batch["id"])
            recs = [{k: batch[k][i] for k in batch} for i in range(n)]
            for r in recs:  # Ray turns nested lists into arrays; record_text only needs text / messages
                if r.get("messages") is not None:
                    r["messages"] = list(r["messages"])
            sig, lengths = step.sign_batch(recs)
            return {"id": np.asarray([str(x) for x in batch["id"]], dtype=object), "sig": sig, "length": lengths}

        signed = ds.map_batches(sign, batch_format="numpy", batch_size=self.options.batch_size).materialize()
        ids: list[str] = []
        sig_parts, len_parts = [], []
        for b in signed.iter_batches(batch_format="numpy", batch_size=None):
            ids.extend(b["id"].tolist())
            sig_parts.append(np.asarray(b["sig"], dtype=np.uint32))
            len_parts.append(np.asarray(b["length"], dtype=np.int64))
        if not ids:
            return
        sig = np.concatenate(sig_parts)
        lengths = np.concatenate(len_parts)
        valid = ~(sig == 0xFFFFFFFF).all(axis=1)
        keys = band_keys(sig, bands, rows, seed)

        # band-bucket shuffle: one row per (band, key, position), grouped on the cluster
        idx = np.flatnonzero(valid)
        import pyarrow as pa

        rows_ds = ray.data.from_arrow(pa.table({
            "bucket": np.concatenate([keys[idx, band] ^ np.uint64(band * 0x9E3779B97F4A7C15 % 2**64) for band in range(bands)]),
            "pos": np.tile(idx, bands).astype(np.int64),
        }))
        sig_ref = ray.put(sig)
        threshold = self.options.threshold

        def pairs_in_bucket(group: dict) -> dict:
            members = np.unique(np.asarray(group["pos"], dtype=np.int64))
            if len(members) < 2:
                return {"u": np.empty(0, np.int64), "v": np.empty(0, np.int64)}
            s = ray.get(sig_ref)
            u = np.concatenate([np.full(len(members) - 1, members[0]), members[:-1]])
            v = np.concatenate([members[1:], members[1:]])
            p, _ = verify_pairs(s, np.stack([u, v], axis=1), threshold)
            return {"u": p[:, 0], "v": p[:, 1]}

        edges = rows_ds.groupby("bucket").map_groups(pairs_in_bucket, batch_format="numpy")
        us, vs = [], []
        for b in edges.iter_batches(batch_format="numpy", batch_size=None):
            us.append(np.asarray(b["u"], dtype=np.int64))
            vs.append(np.asarray(b["v"], dtype=np.int64))
        pairs = np.stack([np.concatenate(us), np.concatenate(vs)], axis=1) if us else np.empty((0, 2), np.int64)
        self._set_clusters(ids, sig, lengths, pairs)


# Candidates are verified by their estimated similarity, so LSH false positives only cost a comparison
# while false negatives are lost duplicates: weigh misses 9:1 (0.8 / 128 perms → 14 bands × 9 rows).
LSH_FP_WEIGHT = 0.1
_BANDS_CACHE: dict[tuple[float, int], tuple[int, int]] = {}


def _cached_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    key = (round(threshold, 4), num_perm)
    if key not in _BANDS_CACHE:
        _BANDS_CACHE[key] = optimal_bands(threshold, num_perm, fp_weight=LSH_FP_WEIGHT, fn_weight=1 - LSH_FP_WEIGHT)
    return _BANDS_CACHE[key]
