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
alpha_ratio            share of tokens with a letter < ``min_alpha_ratio`` (0.8)
stop_words             fewer than ``min_stop_words`` (2) stop words (the, and, of … / 的, 了, 是 …)
classifier             the collection's trained classifier says P(rejected) ≥ ``classifier_threshold``
=====================  ===========================================================================

Rules about repetition, word length and stop words only apply from ``min_tokens_for_rules`` (50)
tokens, and the line rules from 3 lines: short instruction turns ("Reset my password?") and
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
from ._text import is_cjk_dominant, set_attr, tokens

RULES = ("symbol_ratio", "bullet_lines", "ellipsis_lines", "repeated_lines", "repeated_line_chars",
         "top_ngram", "repeated_ngrams", "mean_word_length", "alpha_ratio", "stop_words")
EN_STOP_WORDS = frozenset("the be to of and that have with a in is it for on as was are this".split())
ZH_STOP_WORDS = frozenset("的了是在和有我不这也就人都一上你他她们个中为".replace("", " ").split())
_ALPHA_RE = re.compile(r"[^\W\d_]")
_BULLET_RE = re.compile(r"^\s*([-*•·●▪◦‣⁃]|\d+[.)、]|[a-zA-Z][.)])\s")
_ELLIPSIS_END_RE = re.compile(r"(\.\.\.|…|。。。)\s*$")
TOP_NGRAM = ((2, 0.20), (3, 0.18), (4, 0.16))
DUP_NGRAM = ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))


def _ngram_fractions(toks: list[str], sizes_top: list[int], sizes_dup: list[int]) -> dict[str, float]:
    """Gopher repetition statistics, vectorised: for each n in ``sizes_top`` the share of characters of
    the most frequent n-gram (× its count); for each n in ``sizes_dup`` the share of characters covered
    by n-grams that occur more than once. Keys ``top_<n>`` / ``dup_<n>``."""
    out: dict[str, float] = {}
    n_tok = len(toks)
    vocab: dict[str, int] = {}
    ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in toks), dtype=np.uint64, count=n_tok)
    char_len = np.fromiter(map(len, toks), dtype=np.int64, count=n_tok)
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
    start = 0
    for n, m in zip(ns, lengths):
        c = per_gram[start:start + m]
        start += m
        if n in sizes_top:
            first = int(np.argmax(c))
            if c[first] >= 2:
                out[f"top_{n}"] = float(c[first] * (csum[first + n] - csum[first]) / total)
        if n in sizes_dup:
            rep = np.concatenate(([0], np.cumsum(c > 1)))
            j = np.arange(n_tok)
            hi = np.minimum(j + 1, m)
            lo = np.maximum(j - n + 1, 0)
            covered = rep[hi] - rep[np.minimum(lo, hi)] > 0
            out[f"dup_{n}"] = float(char_len[covered].sum() / total)
    return out


def heuristic_scores(text: str, *, repetition: bool = True) -> dict[str, float]:
    """All rule measurements for one text (the values the thresholds compare against)."""
    cjk = is_cjk_dominant(text)
    toks = tokens(text)
    words = text.split()
    n_tok = len(toks) or 1
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    n_lines = len(lines) or 1
    line_counts = Counter(lines)
    dup_lines = sum(c - 1 for c in line_counts.values() if c > 1)
    dup_line_chars = sum(len(ln) * (c - 1) for ln, c in line_counts.items() if c > 1)
    scale = 2 if cjk else 1
    scores = {
        "cjk": float(cjk),
        "tokens": float(len(toks)),
        "lines": float(len(lines)),
        "symbol_ratio": (text.count("#") + text.count("...") + text.count("…")) / n_tok,
        "bullet_lines": sum(bool(_BULLET_RE.match(ln)) for ln in lines) / n_lines,
        "ellipsis_lines": sum(bool(_ELLIPSIS_END_RE.search(ln)) for ln in lines) / n_lines,
        "repeated_lines": dup_lines / n_lines,
        "repeated_line_chars": dup_line_chars / (sum(len(ln) for ln in lines) or 1),
        "alpha_ratio": sum(1 for w in words if _ALPHA_RE.search(w)) / (len(words) or 1),
        "mean_word_length": (sum(len(t) for t in toks) / n_tok) if not cjk else 0.0,
    }
    stops = ZH_STOP_WORDS if cjk else EN_STOP_WORDS
    scores["stop_words"] = float(sum(1 for t in toks if t in stops))
    fr = _ngram_fractions(toks, [n * scale for n, _ in TOP_NGRAM], [n * scale for n, _ in DUP_NGRAM]) if toks and repetition else {}
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
            ("alpha_ratio", s["alpha_ratio"] < o.min_alpha_ratio),
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
