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


def _ngram_fractions(ids: np.ndarray, char_len: np.ndarray, sizes_top: list[int], sizes_dup: list[int]) -> dict[str, float]:
    """Gopher repetition statistics, vectorised over token ids (uint64) and their character lengths: for
    each n in ``sizes_top`` the share of characters of the most frequent n-gram (× its count); for each n
    in ``sizes_dup`` the share of characters covered by n-grams that occur more than once. Keys
    ``top_<n>`` / ``dup_<n>``."""
    out: dict[str, float] = {}
    n_tok = len(ids)
    total = int(char_len.sum()) or 1
    csum = np.concatenate(([0], np.cumsum(char_len)))
    wanted = sorted(set(sizes_top) | set(sizes_dup))
    hashes, ns = [], []
    h = ids.copy()
    for n in range(1, wanted[-1] + 1):
        if n > 1:
            h = h[:-1] * np.uint64(0x100000001B3) + ids[n - 1:]
        if len(h) == 0:
            break
        if n in wanted:
            hashes.append(h ^ np.uint64(n * 0x9E3779B97F4A7C15 % 2**64))
            ns.append(n)
    if not hashes:
        return out
    lengths = [len(x) for x in hashes]
    _, inverse, counts = np.unique(np.concatenate(hashes), return_inverse=True, return_counts=True)
    per_gram = counts[inverse]
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    by_n = {n: per_gram[offsets[i]:offsets[i + 1]] for i, n in enumerate(ns)}
    for n in sizes_top:
        c = by_n.get(n)
        if c is not None and len(c):
            first = int(np.argmax(c))
            if c[first] >= 2:
                out[f"top_{n}"] = float(c[first] * (csum[first + n] - csum[first]) / total)
    dup_ns = [n for n in sizes_dup if n in by_n]
    if dup_ns:
        # all sizes at once: row k = prefix sums of "this n-gram repeats" for n = dup_ns[k]
        k = len(dup_ns)
        rep = np.zeros((k, n_tok + 1), dtype=np.int64)
        for row, n in enumerate(dup_ns):
            rep[row, 1:len(by_n[n]) + 1] = np.cumsum(by_n[n] > 1)
        m = np.array([len(by_n[n]) for n in dup_ns])[:, None]
        nn = np.array(dup_ns)[:, None]
        j = np.arange(n_tok)[None, :]
        hi = np.minimum(j + 1, m)
        lo = np.minimum(np.maximum(j - nn + 1, 0), hi)
        rows = np.arange(k)[:, None]
        covered = (rep[rows, hi] - rep[rows, lo]) > 0
        fractions = (covered * char_len[None, :]).sum(axis=1) / total
        for n, f in zip(dup_ns, fractions.tolist()):
            if f > 0:
                out[f"dup_{n}"] = float(f)
    return out


_TABLES = None


def _tables():
    """(word, cjk, fold, alpha, space) code point tables; stop-word ids for English and Chinese."""
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
        import unicodedata

        punct = np.zeros(0x110000, dtype=bool)
        punct[[cp for cp in range(0x10000) if unicodedata.category(chr(cp)).startswith("P")]] = True
        _TABLES = (word, cjk, fold, alpha, space)
        en_ids, _, _ = _token_ids(" ".join(sorted(EN_STOP_WORDS)))
        zh_codes = np.array(sorted(ord(c) for c in ZH_STOP_WORDS), dtype=np.uint32)
        _TABLES = (word, cjk, fold, alpha, space, np.unique(en_ids), zh_codes, punct)
    return _TABLES


_WORD_BASE = np.uint64(0x9E3779B97F4A7C15)


def _token_ids(text: str):
    """(token ids uint64, token character lengths, per-token is-CJK) — tokens are CJK characters and runs of
    other word characters, after NFKC + case folding (table lookups, no Python loop per token)."""
    word, cjk, fold = _TABLES[0], _TABLES[1], _TABLES[2]
    codes = fold[np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)]
    isw = word[codes]
    pos = np.flatnonzero(isw)
    if not len(pos):
        return np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, bool)
    c = codes[pos]
    isc = cjk[c]
    latin = ~isc
    adjacent = np.concatenate(([False], pos[1:] == pos[:-1] + 1))
    start = isc | ~(adjacent & np.concatenate(([False], latin[:-1])))
    starts = np.flatnonzero(start)
    seg = np.diff(np.append(starts, len(c)))
    local = np.arange(len(c)) - np.repeat(starts, seg)
    powers = np.cumprod(np.full(int(seg.max()) + 1, _WORD_BASE, dtype=np.uint64))
    ids = np.add.reduceat(c.astype(np.uint64) * powers[local], starts)
    return ids, seg, isc[starts]


def heuristic_scores(text: str, *, repetition: bool = True) -> dict[str, float]:
    """All rule measurements for one text (the values the thresholds compare against)."""
    word, cjk, fold, alpha, space, en_stop, zh_stop, punct = _tables()
    ids, char_len, tok_cjk = _token_ids(text)
    n_tokens = len(ids)
    n_cjk = int(tok_cjk.sum())
    n_words = n_tokens - n_cjk
    is_cjk = n_cjk > 0 and n_cjk >= n_words
    n_tok = n_tokens or 1
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    n_lines = len(lines) or 1
    line_counts = Counter(lines)
    dup_lines = sum(c - 1 for c in line_counts.values() if c > 1)
    dup_line_chars = sum(len(ln) * (c - 1) for ln, c in line_counts.items() if c > 1)
    # whitespace-delimited words with at least one letter (Gopher's alpha ratio)
    codes = fold[np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)]
    nonsp = ~space[codes]
    seg_start = nonsp & ~np.concatenate(([False], nonsp[:-1]))
    n_ws_words = int(seg_start.sum())
    if is_cjk:
        # no spaces between Chinese words: letters count as words of ≈ 2 characters, every run of digits or
        # symbols (a number, a price, an emoji) as one non-alphabetic word; punctuation is neutral
        letters = alpha[codes]
        nonletter = nonsp & ~letters  # runs of these are numbers like ２．８％ or symbol strings
        run_start = nonletter & ~np.concatenate(([False], nonletter[:-1]))
        run_id = np.cumsum(run_start) - 1
        has_other = np.bincount(run_id[nonletter & ~punct[codes]], minlength=int(run_start.sum())) > 0
        other_runs = int(has_other.sum())  # punctuation-only runs are neutral
        letter_words = letters.sum() / 2
        alpha_ratio = float(letter_words / ((letter_words + other_runs) or 1))
    elif n_ws_words:
        seg_id = np.cumsum(seg_start) - 1
        has_alpha = np.bincount(seg_id[alpha[codes] & nonsp], minlength=n_ws_words) > 0
        alpha_ratio = float(has_alpha.mean())
    else:
        alpha_ratio = 0.0
    if is_cjk:
        stop = float(np.isin(codes[cjk[codes]], zh_stop).sum())
    else:
        stop = float(np.isin(ids, en_stop).sum())
    scale = 2 if is_cjk else 1
    latin_len = char_len[~tok_cjk]
    scores = {
        "cjk": float(is_cjk),
        "tokens": float(n_tokens),
        "lines": float(len(lines)),
        "symbol_ratio": (text.count("#") + text.count("...") + text.count("…")) / n_tok,
        "bullet_lines": sum(bool(_BULLET_RE.match(ln)) for ln in lines) / n_lines,
        "ellipsis_lines": sum(bool(_ELLIPSIS_END_RE.search(ln)) for ln in lines) / n_lines,
        "repeated_lines": dup_lines / n_lines,
        "repeated_line_chars": dup_line_chars / (sum(len(ln) for ln in lines) or 1),
        "alpha_ratio": alpha_ratio,
        "mean_word_length": float(latin_len.mean()) if len(latin_len) and not is_cjk else 0.0,
        "stop_words": stop,
    }
    fr = _ngram_fractions(ids, char_len, [n * scale for n, _ in TOP_NGRAM], [n * scale for n, _ in DUP_NGRAM]) \
        if n_tokens and repetition else {}
    for n, _ in TOP_NGRAM:
        scores[f"top_{n}gram"] = fr.get(f"top_{n * scale}", 0.0)
    for n, _ in DUP_NGRAM:
        scores[f"dup_{n}gram"] = fr.get(f"dup_{n * scale}", 0.0)
    return scores


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

    def setup(self) -> None:
        from .quality_model import load_classifier

        o = self.options
        self._classifier = None
        if o.classifier_path:
            self._classifier = load_classifier(o.classifier_path)
        elif o.classifier_collection:
            from curation.selectors import quality_classifier_active

            clf = quality_classifier_active(collection_name=o.classifier_collection)
            if clf is None:
                from ..base import StepConfigError

                raise StepConfigError(f"quality: collection '{o.classifier_collection}' has no trained quality classifier")
            self._classifier = load_classifier(clf.path)

    def judge(self, text: str) -> tuple[str | None, dict]:
        """(first failing rule or None, scores)."""
        o = self.options
        text = text[: o.max_chars]
        s = heuristic_scores(text, repetition=o.min_tokens_for_rules <= len(text))
        rules = set(o.rules)
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
                return rule, s
        return None, s

    def keep(self, record):
        self.ensure_setup()
        text = record_text(record)
        if not text.strip():
            return Rejection(self.name, "alpha_ratio", details={"alpha_ratio": 0.0})
        reason, scores = self.judge(text)
        attrs = {k: round(v, 4) for k, v in scores.items() if k in ("symbol_ratio", "alpha_ratio", "repeated_lines", "stop_words")}
        if self._classifier is not None:
            p_reject = float(self._classifier.predict_proba([text[: self.options.max_chars]])[0][0])
            attrs["p_rejected"] = round(p_reject, 4)
            if reason is None and p_reject >= self.options.classifier_threshold:
                reason = "classifier"
        set_attr(record, self.name, attrs)
        if reason:
            detail_key = {"top_ngram": "top_2gram", "repeated_ngrams": "dup_5gram", "classifier": None}.get(reason, reason)
            details = {detail_key: round(scores[detail_key], 4)} if detail_key in scores else {"p_rejected": attrs.get("p_rejected")}
            return Rejection(self.name, reason, details=details)
        return True
