"""Text helpers shared by the curation steps (script detection, CJK-aware tokens, record mapping).

One source of truth for "what is a CJK character", "what is a word" and "the normalised form used
for hashing", so length, quality and the dedup steps agree with each other.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

# CJK Unified Ideographs (+ Ext A, compatibility ideographs), kana and hangul count as "CJK characters":
# scripts written without spaces between words, measured in characters instead of words.
CJK_CLASS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
CJK_RE = re.compile(f"[{CJK_CLASS}]")
# A "word" of space-delimited text: a run of letters/digits (apostrophes and inner hyphens allowed).
WORD_RE = re.compile(rf"[^\W_{CJK_CLASS}](?:[^\W{CJK_CLASS}]|['’\-](?=[^\W_{CJK_CLASS}]))*")
# Tokens for n-gram statistics: each CJK character is a token, each word is a token.
TOKEN_RE = re.compile(rf"[{CJK_CLASS}]|{WORD_RE.pattern}")
_SPACE_RE = re.compile(r"\s+")
_NON_WORD_RE = re.compile(r"[\W_]+")


def count_cjk(text: str) -> int:
    return len(CJK_RE.findall(text))


def count_words(text: str) -> int:
    """Words of space-delimited script (CJK characters are not counted)."""
    return len(WORD_RE.findall(text))


_COUNT_TABLES = None


def codepoint_mask(pattern: re.Pattern, upto: int = 0x110000):
    """A numpy bool array over all code points: True where ``pattern`` matches the single character of code
    points below ``upto`` (the others are False). The tables behind the vectorised word/CJK counting and
    shingling."""
    import numpy as np

    mask = np.zeros(0x110000, dtype=bool)
    mask[[m.start() for m in pattern.finditer("".join(map(chr, range(upto))))]] = True
    return mask


def _count_tables():
    """(continues a word, starts a word, apostrophe/hyphen, CJK) over all code points: ``WORD_RE``'s
    character classes as lookup tables (``\\w`` taken from ``re`` itself, so they agree exactly)."""
    global _COUNT_TABLES
    if _COUNT_TABLES is None:
        import numpy as np

        w = codepoint_mask(re.compile(r"\w"))
        cjk = codepoint_mask(CJK_RE)
        cont = w & ~cjk
        start = cont.copy()
        start[ord("_")] = False
        joiner = np.zeros(0x110000, dtype=bool)
        joiner[[ord(c) for c in "'’-"]] = True
        _COUNT_TABLES = (cont, start, joiner, cjk)
    return _COUNT_TABLES


def count_cjk_and_words(texts: list[str]):
    """(CJK characters, words) per text as two int arrays — ``count_cjk`` and ``count_words`` for a whole
    batch at once with numpy. A ``WORD_RE`` match is a maximal run of word characters (underscore
    included) and apostrophes/hyphens that are followed by a letter or digit, and every such run that
    holds a letter or digit is exactly one match."""
    import numpy as np

    cont_t, start_t, joiner_t, cjk_t = _count_tables()
    n = len(texts)
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    codes = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    doc = np.repeat(np.arange(n), lens)
    n_cjk = np.bincount(doc[cjk_t[codes]], minlength=n)
    if not len(codes):
        return n_cjk, np.zeros(n, np.int64)
    firsts = (np.cumsum(lens) - lens)[lens > 0]
    last = np.zeros(len(codes), dtype=bool)
    last[firsts[1:] - 1] = True
    last[-1] = True
    starts_word = start_t[codes]
    next_starts = np.empty_like(starts_word)
    next_starts[:-1] = starts_word[1:]
    next_starts[last] = False  # never across texts
    joinable = cont_t[codes] | (joiner_t[codes] & next_starts)
    prev = np.empty_like(joinable)
    prev[0] = False
    prev[1:] = joinable[:-1]
    prev[firsts] = False
    run_start = joinable & ~prev
    run_id = np.cumsum(run_start) - 1
    has_start = np.bincount(run_id[starts_word], minlength=int(run_start.sum())) > 0
    n_words = np.bincount(doc[run_start], weights=has_start, minlength=n).astype(np.int64)
    return n_cjk, n_words


def is_cjk_dominant(text: str, *, n_cjk: int | None = None, n_words: int | None = None) -> bool:
    """True when CJK characters outnumber space-delimited words (mixed zh text with English terms → True)."""
    n_cjk = count_cjk(text) if n_cjk is None else n_cjk
    if not n_cjk:
        return False
    n_words = count_words(text) if n_words is None else n_words
    return n_cjk >= n_words


def tokens(text: str) -> list[str]:
    """CJK characters and words, lower-cased (the unit of n-gram statistics)."""
    return TOKEN_RE.findall(text.lower())


def hash_normalize(text: str) -> str:
    """The form hashed by exact_dedup: NFKC, case-folded, punctuation and whitespace dropped."""
    return _NON_WORD_RE.sub("", unicodedata.normalize("NFKC", text).casefold())


def space_normalize(text: str) -> str:
    """NFKC, case-folded, punctuation → space, whitespace collapsed (before shingling)."""
    return _SPACE_RE.sub(" ", _NON_WORD_RE.sub(" ", unicodedata.normalize("NFKC", text).casefold())).strip()


def map_text(record: dict[str, Any], fn: Callable[[str], str]) -> dict[str, Any]:
    """Apply ``fn`` to the record's ``text`` and to every message's ``content``; returns a new record."""
    out = dict(record)
    if isinstance(record.get("text"), str):
        out["text"] = fn(record["text"])
    messages = record.get("messages")
    if isinstance(messages, list):
        out["messages"] = [
            {**m, "content": fn(m["content"])} if isinstance(m, dict) and isinstance(m.get("content"), str) else m
            for m in messages
        ]
    return out


def set_attr(record: dict[str, Any], step: str, value: Any) -> None:
    """Store a step's attributes under ``record["attrs"][step]`` (engine stores them per run)."""
    attrs = record.get("attrs")
    if not isinstance(attrs, dict):
        attrs = {}
        record["attrs"] = attrs
    attrs[step] = value
