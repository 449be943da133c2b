"""quality — Gopher/C4-style heuristic rules (each its own drop reason) plus an optional classifier.

Rules (thresholds are options; CJK-aware: for Chinese-dominant text a "token" is one CJK character,
n-gram sizes are doubled and the word-length rule is skipped):

=====================  ===========================================================================
reason                 drops when
=====================  ===========================================================================
symbol_ratio           (# + ellipses) per token > ``max_symbol_ratio`` (0.1)
bullet_lines           share of lines starting with a bullet > ``max_bullet_lines`` (0.9)
ellipsis_lines         share of lines ending with … or ... > ``max_ellipsis_lines`` (0.3)
repeated_lines         share of duplicate lines > ``max_dup_lines`` (0.3)
repeated_line_chars    share of characters in duplicate lines > ``max_dup_line_chars`` (0.2)
top_ngram              the most frequent 2/3/4-gram covers > 0.20/0.18/0.16 of the characters
repeated_ngrams        characters in repeated 5…10-grams > 0.15 … 0.10
mean_word_length       mean word length outside [3, 10] (space-delimited text only)
alpha_ratio            share of words with a letter < ``min_alpha_ratio`` (0.8); Chinese: letters
                       count as words of 2 characters, each run of digits/symbols as one word
stop_words             fewer than ``min_stop_words`` (2) stop words (the, and, of … / 的, 了, 是 …)
classifier             the collection's trained classifier says P(rejected) ≥ ``classifier_threshold``
=====================  ===========================================================================

Rules about repetition, word length and stop words only apply from ``min_tokens_for_rules`` (50)
tokens, the alpha ratio from 10 tokens, and the line rules from 3 lines: short instruction turns ("Reset my password?") and
one-paragraph answers are not web pages. The classifier (see ``quality_model``)
is loaded from ``classifier_path`` (a file written by the quality classifier page) or from the
collection's active classifier (``classifier_collection``, needs the database). Scores go to
``attrs.quality``.
"""
from __future__ import annotations

import dataclasses
import re
import time
import unicodedata
from collections import Counter

import numpy as np

from ..base import Filter, Rejection, record_text, register_step
from ._text import set_attr

RULES = ("symbol_ratio", "bullet_lines", "ellipsis_lines", "repeated_lines", "repeated_line_chars",
         "top_ngram", "repeated_ngrams", "mean_word_length", "alpha_ratio", "stop_words")
EN_STOP_WORDS = frozenset("the be to of and that have with a in is it for on as was are this".split())
ZH_STOP_WORDS = frozenset("的了是在和有我不这也就人都一上你他她们个中为".replace("", " ").split())
_ALPHA_RE = re.compile(r"[^\W\d_]")
_BULLET_RE = re.compile(r"^\s*([-*•·●▪◦‣⁃]|\d+[.)、]|[a-zA-Z][.)])\s")
_ELLIPSIS_END_RE = re.compile(r"(\.\.\.|…|。。。)\s*$")
ALPHA_MIN_TOKENS = 10  # below this a stray "?" or number decides the ratio; the length step handles fragments
TOP_NGRAM = ((2, 0.20), (3, 0.18), (4, 0.16))
DUP_NGRAM = ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))
BATCH = 256               # records judged per batch (whole-batch numpy operations)
BATCH_CHARS = 1_000_000   # … or fewer, when their texts add up to this many characters


_TABLES = None


def _tables():
    """(word, cjk, fold, alpha, space, punct, zh stop-word table, sorted English stop-word ids): code point
    lookup tables (bool/uint32 arrays over all code points) built once per process."""
    global _TABLES
    if _TABLES is None:
        from .near_dedup import _char_tables

        word, cjk, fold = _char_tables()
        bmp = "".join(map(chr, range(0x10000)))
        alpha = np.zeros(0x110000, dtype=bool)
        alpha[[m.start() for m in _ALPHA_RE.finditer(bmp)]] = True
        alpha[0x20000:0x323B0] = True
        space = np.zeros(0x110000, dtype=bool)
        space[[m.start() for m in re.finditer(r"\s", bmp)]] = True
        punct = np.zeros(0x110000, dtype=bool)
        punct[[cp for cp in range(0x10000) if unicodedata.category(chr(cp)).startswith("P")]] = True
        zh_stop = np.zeros(0x110000, dtype=bool)
        zh_stop[[ord(c) for c in ZH_STOP_WORDS]] = True
        zh_stop &= cjk
        _TABLES = (word, cjk, fold, alpha, space, punct, zh_stop, np.empty(0, np.uint64))
        en_ids = _Tokens.of([" ".join(sorted(EN_STOP_WORDS))]).ids
        _TABLES = (word, cjk, fold, alpha, space, punct, zh_stop, np.unique(en_ids))
    return _TABLES


_WORD_BASE = np.uint64(0x9E3779B97F4A7C15)
_GRAM_BASE = np.uint64(0x100000001B3)
_DOC_SALT = np.uint64(0xD6E8FEB86659FD93)


def _shifted(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``mask`` moved one place to the right (the previous element), False at every document start."""
    prev = np.empty_like(mask)
    prev[0] = False
    prev[1:] = mask[:-1]
    prev[starts] = False
    return prev


class _Tokens:
    """Tokens of a batch of texts, all concatenated: CJK characters and runs of other word characters, after
    NFKC + case folding (table lookups — no Python work per token or per character)."""

    __slots__ = ("codes", "char_doc", "char_starts", "ids", "char_len", "cjk", "doc")

    @classmethod
    def of(cls, texts: list[str]) -> "_Tokens":
        word, cjk, fold = _TABLES[0], _TABLES[1], _TABLES[2]
        self = cls()
        n = len(texts)
        lens = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        self.codes = fold[np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)]
        self.char_doc = np.repeat(np.arange(n), lens)
        self.char_starts = (np.cumsum(lens) - lens)[lens > 0]
        isw = word[self.codes]
        pos = np.flatnonzero(isw)
        if not len(pos):
            self.ids, self.char_len = np.empty(0, np.uint64), np.empty(0, np.int64)
            self.cjk, self.doc = np.empty(0, bool), np.empty(0, np.int64)
            return self
        c = self.codes[pos]
        isc = cjk[c]
        first_char = np.zeros(len(self.codes), dtype=bool)
        first_char[self.char_starts] = True
        adjacent = np.empty(len(pos), dtype=bool)
        adjacent[0] = False
        adjacent[1:] = pos[1:] == pos[:-1] + 1
        adjacent &= ~first_char[pos]  # tokens never cross documents
        prev_latin = np.empty(len(pos), dtype=bool)
        prev_latin[0] = False
        prev_latin[1:] = ~isc[:-1]
        starts = np.flatnonzero(isc | ~(adjacent & prev_latin))
        seg = np.diff(np.append(starts, len(c)))
        local = np.arange(len(c)) - np.repeat(starts, seg)
        powers = np.cumprod(np.full(int(seg.max()) + 1, _WORD_BASE, dtype=np.uint64))
        self.ids = np.add.reduceat(c.astype(np.uint64) * powers[local], starts)
        self.char_len = seg
        self.cjk = isc[starts]
        self.doc = self.char_doc[pos[starts]]
        return self


def _ngram_fractions(ids: np.ndarray, char_len: np.ndarray, doc: np.ndarray, n_docs: int,
                     sizes_top: list[int], sizes_dup: list[int]) -> dict[str, np.ndarray]:
    """Gopher repetition statistics for a batch of documents whose token ids (uint64) and character lengths
    are concatenated (``doc`` = document of each token, ascending). For each n in ``sizes_top``: the share
    of characters of the document's most frequent n-gram × its count (0 when no n-gram repeats); for each n
    in ``sizes_dup``: the share of characters covered by n-grams that occur more than once. Returns
    ``top_<n>`` / ``dup_<n>`` arrays of one value per document.

    Exact, and cheap on ordinary text: an n-gram can only repeat where both its first and its last shorter
    wanted m-gram repeat, so only those positions are counted for the longer sizes."""
    out: dict[str, np.ndarray] = {}
    n_tok = len(ids)
    per_doc = np.bincount(doc, minlength=n_docs)
    total = np.bincount(doc, weights=char_len, minlength=n_docs)
    total[total == 0] = 1
    doc_start = np.cumsum(per_doc) - per_doc
    local = np.arange(n_tok) - doc_start[doc]
    room = per_doc[doc] - local  # tokens from here to the end of the document
    csum = np.concatenate(([0], np.cumsum(char_len)))
    doc_salt = _mix(doc.astype(np.uint64) * _DOC_SALT)
    wanted = sorted(set(sizes_top) | set(sizes_dup))
    h = ids.copy()
    prev_n, prev_rep = 0, None
    for n in range(1, wanted[-1] + 1):
        if n > 1:
            h = h[:-1] * _GRAM_BASE + ids[n - 1:]
        if len(h) == 0:
            break
        if n not in wanted:
            continue
        m = len(h)  # n-grams starting at 0 … m-1 (some cross a document end)
        cand = room[:m] >= n
        if prev_rep is not None:
            cand &= prev_rep[:m] & prev_rep[n - prev_n:n - prev_n + m]
        where = np.flatnonzero(cand)
        rep = np.zeros(m, dtype=bool)
        if len(where):
            _, inverse, counts = np.unique(h[where] ^ doc_salt[where], return_inverse=True, return_counts=True)
            cnt = counts[inverse]
            repeated = cnt > 1
            rep[where[repeated]] = True
            if n in sizes_top:
                top = np.zeros(n_docs)
                hit = where[repeated]
                if len(hit):
                    hit_cnt = cnt[repeated]
                    order = np.lexsort((hit, -hit_cnt, doc[hit]))  # per document: highest count, then first
                    first_of_doc = np.concatenate(([True], doc[hit[order][1:]] != doc[hit[order][:-1]]))
                    best = order[first_of_doc]
                    p = hit[best]
                    top[doc[p]] = hit_cnt[best] * (csum[p + n] - csum[p]) / total[doc[p]]
                out[f"top_{n}"] = top
        elif n in sizes_top:
            out[f"top_{n}"] = np.zeros(n_docs)
        if n in sizes_dup:
            # token j is covered when a repeated n-gram starts in [j-n+1, j] (starts in the previous
            # document that close to its end cross it, so they are never "repeated")
            starts = np.zeros(n_tok + 1, dtype=np.int64)
            starts[1:m + 1] = np.cumsum(rep)
            starts[m + 1:] = starts[m]
            j = np.arange(n_tok)
            covered = starts[j + 1] - starts[np.maximum(j - n + 1, 0)] > 0
            out[f"dup_{n}"] = np.bincount(doc, weights=covered * char_len, minlength=n_docs) / total
        prev_n, prev_rep = n, rep
    return out


def _mix(x: np.ndarray) -> np.ndarray:
    x ^= x >> np.uint64(31)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(29)
    return x


def _line_scores(text: str) -> tuple[int, float, float, float, float]:
    """(lines, bullet share, ellipsis share, duplicate-line share, duplicate-line character share)."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    if len(lines) == 1:  # the common case for prose paragraphs
        ln = lines[0]
        return 1, float(bool(_BULLET_RE.match(ln))), float(bool(_ELLIPSIS_END_RE.search(ln))), 0.0, 0.0
    n_lines = len(lines) or 1
    line_counts = Counter(lines)
    dup_lines = sum(c - 1 for c in line_counts.values() if c > 1)
    dup_line_chars = sum(len(ln) * (c - 1) for ln, c in line_counts.items() if c > 1)
    return (len(lines), sum(bool(_BULLET_RE.match(ln)) for ln in lines) / n_lines,
            sum(bool(_ELLIPSIS_END_RE.search(ln)) for ln in lines) / n_lines, dup_lines / n_lines,
            dup_line_chars / (sum(len(ln) for ln in lines) or 1))


def batch_scores(texts: list[str], repetition: list[bool] | None = None) -> list[dict[str, float]]:
    """All rule measurements for a batch of texts (the values the thresholds compare against), computed with
    whole-batch numpy operations. ``repetition[i]`` False skips the n-gram statistics of text i (0.0)."""
    if not texts:
        return []
    word, cjk, fold, alpha, space, punct, zh_stop, en_stop = _tables()
    n = len(texts)
    repetition = [True] * n if repetition is None else repetition
    tok = _Tokens.of(texts)
    codes, char_doc, char_starts = tok.codes, tok.char_doc, tok.char_starts
    n_tokens = np.bincount(tok.doc, minlength=n)
    n_cjk = np.bincount(tok.doc[tok.cjk], minlength=n)
    n_words = n_tokens - n_cjk
    is_cjk = (n_cjk > 0) & (n_cjk >= n_words)

    # Gopher's alpha ratio. Space-delimited text: share of whitespace-delimited words with a letter.
    # Chinese (no spaces between words): letters count as words of ≈ 2 characters, every run of digits or
    # symbols (a number, a price, an emoji) as one non-alphabetic word; punctuation is neutral.
    alpha_ratio = np.zeros(n)
    if len(codes):
        nonsp = ~space[codes]
        letters = alpha[codes]
        seg_start = nonsp & ~_shifted(nonsp, char_starts)
        n_ws_words = np.bincount(char_doc[seg_start], minlength=n)
        seg_id = np.cumsum(seg_start) - 1
        has_alpha = np.bincount(seg_id[letters & nonsp], minlength=int(seg_start.sum())) > 0
        words_with_alpha = np.bincount(char_doc[seg_start], weights=has_alpha, minlength=n)
        latin_ratio = np.divide(words_with_alpha, n_ws_words, out=np.zeros(n), where=n_ws_words > 0)
        nonletter = nonsp & ~letters  # runs of these are numbers like ２．８％ or symbol strings
        run_start = nonletter & ~_shifted(nonletter, char_starts)
        run_id = np.cumsum(run_start) - 1
        has_other = np.bincount(run_id[nonletter & ~punct[codes]], minlength=int(run_start.sum())) > 0
        other_runs = np.bincount(char_doc[run_start], weights=has_other, minlength=n)
        letter_words = np.bincount(char_doc[letters], minlength=n) / 2
        denom = letter_words + other_runs
        cjk_ratio = letter_words / np.where(denom == 0, 1, denom)
        alpha_ratio = np.where(is_cjk, cjk_ratio, latin_ratio)
        zh_stop_count = np.bincount(char_doc[zh_stop[codes]], minlength=n)
    else:
        zh_stop_count = np.zeros(n, np.int64)
    if len(tok.ids):
        at = np.minimum(np.searchsorted(en_stop, tok.ids), len(en_stop) - 1)
        en_stop_count = np.bincount(tok.doc[en_stop[at] == tok.ids], minlength=n)
    else:
        en_stop_count = np.zeros(n, np.int64)
    stop = np.where(is_cjk, zh_stop_count, en_stop_count)
    latin = ~tok.cjk
    latin_count = np.bincount(tok.doc[latin], minlength=n)
    latin_chars = np.bincount(tok.doc[latin], weights=tok.char_len[latin], minlength=n)
    mean_len = np.divide(latin_chars, latin_count, out=np.zeros(n), where=(latin_count > 0) & ~is_cjk)

    # repetition statistics, one group per n-gram scale (Chinese: sizes doubled)
    fr: dict[str, np.ndarray] = {}
    want = np.array(repetition, dtype=bool) & (n_tokens > 0)
    for scale, group in ((1, want & ~is_cjk), (2, want & is_cjk)):
        if not group.any():
            continue
        sel = group[tok.doc]
        docs = np.flatnonzero(group)
        remap = np.zeros(n, np.int64)
        remap[docs] = np.arange(len(docs))
        part = _ngram_fractions(tok.ids[sel], tok.char_len[sel], remap[tok.doc[sel]], len(docs),
                                [k * scale for k, _ in TOP_NGRAM], [k * scale for k, _ in DUP_NGRAM])
        for kind, sizes in (("top", TOP_NGRAM), ("dup", DUP_NGRAM)):
            for k, _ in sizes:
                values = part.get(f"{kind}_{k * scale}")
                if values is not None:
                    fr.setdefault(f"{kind}_{k}gram", np.zeros(n))[docs] = values

    out = []
    for i, text in enumerate(texts):
        n_lines, bullets, ellipses, dup_lines, dup_chars = _line_scores(text)
        n_tok = int(n_tokens[i]) or 1
        scores = {
            "cjk": float(is_cjk[i]),
            "tokens": float(n_tokens[i]),
            "lines": float(n_lines),
            "symbol_ratio": (text.count("#") + text.count("...") + text.count("…")) / n_tok,
            "bullet_lines": bullets,
            "ellipsis_lines": ellipses,
            "repeated_lines": dup_lines,
            "repeated_line_chars": dup_chars,
            "alpha_ratio": float(alpha_ratio[i]),
            "mean_word_length": float(mean_len[i]),
            "stop_words": float(stop[i]),
        }
        for k, _ in TOP_NGRAM:
            values = fr.get(f"top_{k}gram")
            scores[f"top_{k}gram"] = float(values[i]) if values is not None else 0.0
        for k, _ in DUP_NGRAM:
            values = fr.get(f"dup_{k}gram")
            scores[f"dup_{k}gram"] = float(values[i]) if values is not None else 0.0
        out.append(scores)
    return out


def heuristic_scores(text: str, *, repetition: bool = True) -> dict[str, float]:
    """All rule measurements for one text (see ``batch_scores``)."""
    return batch_scores([text], [repetition])[0]


@register_step
class QualityFilter(Filter):
    name = "quality"
    description = "Gopher/C4 heuristics (each rule its own reason) + optional trained quality classifier."

    @dataclasses.dataclass
    class Options:
        rules: list[str] = dataclasses.field(default_factory=lambda: list(RULES))
        max_symbol_ratio: float = 0.1
        max_bullet_lines: float = 0.9
        max_ellipsis_lines: float = 0.3
        max_dup_lines: float = 0.3
        max_dup_line_chars: float = 0.2
        min_alpha_ratio: float = 0.8
        min_mean_word_length: float = 3.0
        max_mean_word_length: float = 10.0
        min_stop_words: int = 2
        min_tokens_for_rules: int = 50
        max_chars: int = 100_000           # longer texts are judged on their first max_chars characters
        classifier_path: str = ""          # a .joblib written by the quality classifier page
        classifier_collection: str = ""    # or: the named collection's active classifier (database)
        classifier_threshold: float = 0.85  # drop when P(rejected) ≥ this

        def __post_init__(self):
            unknown = sorted(set(self.rules) - set(RULES))
            if unknown:
                raise ValueError(f"unknown rule(s) {', '.join(unknown)}; valid rules: {', '.join(RULES)}")
            if not 0.0 < self.classifier_threshold <= 1.0:
                raise ValueError("classifier_threshold must be in (0, 1]")

    _unpicklable = ("_classifier",)

    def prepare(self) -> None:
        """In the driver: find the classifier (the collection's active one needs the database) and carry the
        model file's bytes, so worker processes and Ray actors on other machines need neither the database
        nor this machine's disk."""
        path = self._classifier_file()
        if path is not None:
            from .quality_model import classifier_bytes

            self._classifier_blob = classifier_bytes(path)

    def _classifier_file(self) -> str | None:
        o = self.options
        if o.classifier_path:
            return o.classifier_path
        if o.classifier_collection:
            from curation.selectors import quality_classifier_active

            from ..base import StepConfigError

            try:
                clf = quality_classifier_active(collection_name=o.classifier_collection)
            except Exception as exc:  # noqa: BLE001 - no database configured / reachable: say which option needs it
                raise StepConfigError(f"quality: classifier_collection '{o.classifier_collection}' needs the database "
                                      f"({exc.__class__.__name__}: {exc}); use classifier_path for headless runs") from None
            if clf is None:
                raise StepConfigError(f"quality: collection '{o.classifier_collection}' has no trained quality classifier")
            return clf.path
        return None

    def setup(self) -> None:
        from .quality_model import load_classifier, load_classifier_bytes

        blob = getattr(self, "_classifier_blob", None)
        if blob is not None:
            self._classifier = load_classifier_bytes(blob, where=self.options.classifier_path or self.options.classifier_collection)
            return
        path = self._classifier_file()
        self._classifier = load_classifier(path) if path is not None else None

    def judge(self, text: str) -> tuple[str | None, dict]:
        """(first failing rule or None, scores) for one text."""
        return self.judge_texts([text])[0]

    def judge_texts(self, texts: list[str]) -> list[tuple[str | None, dict]]:
        """(first failing rule or None, scores) for each text, the scores computed for the whole batch at once."""
        o = self.options
        texts = [t[: o.max_chars] for t in texts]
        all_scores = batch_scores(texts, [o.min_tokens_for_rules <= len(t) for t in texts])
        rules = frozenset(o.rules)
        return [(self._first_failure(s, rules), s) for s in all_scores]

    def _first_failure(self, s: dict, rules: frozenset) -> str | None:
        o = self.options
        long_enough = s["tokens"] >= o.min_tokens_for_rules
        many_lines = s["lines"] >= 3
        checks = [
            ("symbol_ratio", s["symbol_ratio"] > o.max_symbol_ratio),
            ("alpha_ratio", s["tokens"] >= ALPHA_MIN_TOKENS and s["alpha_ratio"] < o.min_alpha_ratio),
            ("bullet_lines", many_lines and s["bullet_lines"] > o.max_bullet_lines),
            ("ellipsis_lines", many_lines and s["ellipsis_lines"] > o.max_ellipsis_lines),
            ("repeated_lines", long_enough and s["repeated_lines"] > o.max_dup_lines),
            ("repeated_line_chars", long_enough and s["repeated_line_chars"] > o.max_dup_line_chars),
            ("top_ngram", long_enough and any(s[f"top_{n}gram"] > t for n, t in TOP_NGRAM)),
            ("repeated_ngrams", long_enough and any(s[f"dup_{n}gram"] > t for n, t in DUP_NGRAM)),
            ("mean_word_length", long_enough and not s["cjk"]
             and not o.min_mean_word_length <= s["mean_word_length"] <= o.max_mean_word_length),
            ("stop_words", long_enough and s["stop_words"] < o.min_stop_words),
        ]
        for rule, failed in checks:
            if failed and rule in rules:
                return rule
        return None

    def keep(self, record):
        self.ensure_setup()
        return self.judge_records([record])[0]

    def judge_records(self, records: list) -> list:
        """keep()'s verdict for each record (True or a Rejection); sets ``attrs.quality`` on each."""
        texts = [record_text(r) for r in records]
        verdicts: list = [None] * len(records)
        live = []
        for i, text in enumerate(texts):
            if text.strip():
                live.append(i)
            else:
                verdicts[i] = Rejection(self.name, "alpha_ratio", details={"alpha_ratio": 0.0})
        if not live:
            return verdicts
        max_chars = self.options.max_chars
        judged = self.judge_texts([texts[i] for i in live])
        p_rejected = None
        if self._classifier is not None:  # one predict_proba call for the whole batch
            p_rejected = self._classifier.predict_proba([texts[i][:max_chars] for i in live])[:, 0].tolist()
        for k, i in enumerate(live):
            reason, scores = judged[k]
            attrs = {key: round(scores[key], 4) for key in ("symbol_ratio", "alpha_ratio", "repeated_lines", "stop_words")}
            if p_rejected is not None:
                p = float(p_rejected[k])
                attrs["p_rejected"] = round(p, 4)
                if reason is None and p >= self.options.classifier_threshold:
                    reason = "classifier"
            set_attr(records[i], self.name, attrs)
            if not reason:
                verdicts[i] = True
                continue
            detail_key = {"top_ngram": "top_2gram", "repeated_ngrams": "dup_5gram", "classifier": None}.get(reason, reason)
            details = {detail_key: round(scores[detail_key], 4)} if detail_key in scores else {"p_rejected": attrs.get("p_rejected")}
            match = offending_snippet(reason, texts[i][:max_chars], scores)
            if match:
                details["match"] = match
            verdicts[i] = Rejection(self.name, reason, details=details)
        return verdicts

    def process(self, records, reject):
        """Like Filter.process, but judged BATCH records (or BATCH_CHARS characters) at a time."""
        self.ensure_setup()
        batch: list = []
        chars = 0
        limit = self.options.max_chars
        for record in records:
            batch.append(record)
            chars += min(len(record_text(record)), limit)
            if len(batch) >= BATCH or chars >= BATCH_CHARS:
                yield from self._flush(batch, reject)
                batch, chars = [], 0
        if batch:
            yield from self._flush(batch, reject)

    def _flush(self, batch: list, reject):
        stats = self.stats
        t0 = time.perf_counter()
        verdicts = self.judge_records(batch)
        stats.n_in += len(batch)
        kept = [record for record, verdict in zip(batch, verdicts) if self._reject(record, verdict, reject)]
        stats.n_out += len(kept)
        stats.seconds += time.perf_counter() - t0
        yield from kept


# --------------------------------------------------------------------------------- drill-down snippets
SNIPPET_CHARS = 120
_NON_LETTER_RUN_RE = re.compile(r"(?:(?![^\W\d_])\S)+")


def offending_snippet(reason: str, text: str, scores: dict) -> str:
    """A short piece of ``text`` that shows why ``reason`` fired (``details.match``, highlighted in the
    rejection drill-down), or "" when no single snippet does (stop words, classifier)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    snippet = ""
    if reason == "symbol_ratio":
        counts = {s: text.count(s) for s in ("#", "...", "…")}
        snippet = max(counts, key=counts.get)
    elif reason == "bullet_lines":
        snippet = next((ln for ln in lines if _BULLET_RE.match(ln)), "")
    elif reason == "ellipsis_lines":
        snippet = next((ln for ln in lines if _ELLIPSIS_END_RE.search(ln)), "")
    elif reason in ("repeated_lines", "repeated_line_chars"):
        line, count = Counter(lines).most_common(1)[0] if lines else ("", 0)
        snippet = line if count > 1 else ""
    elif reason in ("top_ngram", "repeated_ngrams"):
        snippet = _repeated_ngram(text, scores, top=reason == "top_ngram")
    elif reason == "mean_word_length":
        words = text.split()
        if words and scores["mean_word_length"] > 0:
            long_words = scores["mean_word_length"] > 6
            snippet = (max if long_words else min)(words, key=len)
    elif reason == "alpha_ratio":  # the longest stretch without letters
        if scores["cjk"]:
            runs = (m.group() for m in _NON_LETTER_RUN_RE.finditer(text)
                    if any(not unicodedata.category(c).startswith("P") for c in m.group()))
            snippet = max(runs, key=len, default="")
        else:
            best, count, start = (0, 0, 0), 0, 0
            for m in re.finditer(r"\S+", text):
                if _ALPHA_RE.search(m.group()):
                    count = 0
                    continue
                if count == 0:
                    start = m.start()
                count += 1
                if count > best[0]:
                    best = (count, start, m.end())
            snippet = text[best[1]:best[2]]
    return snippet[:SNIPPET_CHARS]


def _repeated_ngram(text: str, scores: dict, *, top: bool) -> str:
    """The text of the n-gram behind a top_ngram (most frequent n-gram) / repeated_ngrams (first repeated
    n-gram) failure, found again on the one rejected text (token positions = character positions, since
    folding maps one character to one character)."""
    _tables()
    tok = _Tokens.of([text])
    if not len(tok.ids):
        return ""
    word = _TABLES[0]
    pos = np.flatnonzero(word[tok.codes])
    starts = np.concatenate(([0], np.cumsum(tok.char_len)[:-1]))
    first_char = pos[starts]
    last_char = pos[starts + tok.char_len - 1]
    scale = 2 if scores["cjk"] else 1
    sizes = TOP_NGRAM if top else DUP_NGRAM
    name = "top_{}gram" if top else "dup_{}gram"
    n = max(sizes, key=lambda nt: scores[name.format(nt[0])] - nt[1])[0] * scale
    ids = tok.ids.tolist()
    grams = Counter(tuple(ids[i:i + n]) for i in range(len(ids) - n + 1))
    if not grams:
        return ""
    if top:
        gram = max(grams, key=grams.get)  # first most frequent (Counter keeps first-seen order)
    else:
        gram = next((g for g, c in grams.items() if c > 1), None)
        if gram is None:
            return ""
    i = next(i for i in range(len(ids) - n + 1) if tuple(ids[i:i + n]) == gram)
    return text[int(first_char[i]):int(last_char[i + n - 1]) + 1]
