"""length — drop records that are too short or too long, CJK-aware.

Chinese/Japanese/Korean text has no spaces between words, so it is measured in CJK characters;
space-delimited text is measured in words. A record is "CJK" when its CJK characters outnumber its
words (Chinese with a few English terms counts as Chinese). Defaults: 5–512 words for English,
10–1024 characters for Chinese (≈ the same amount of content). Records with ``messages`` are measured
over all message contents. The measurement is stored in ``attrs.length`` for the dashboards.
"""
from __future__ import annotations

import dataclasses
import time

from ..base import Filter, Rejection, record_text, register_step
from ._text import _count_tables, count_cjk, count_cjk_and_words, count_words, is_cjk_dominant, set_attr

BATCH = 256               # records counted per numpy batch
BATCH_CHARS = 2_000_000   # … or fewer, when their texts add up to this many characters

MATCH_CHARS = 120  # too_short texts up to this long are highlighted whole in the rejection drill-down


@register_step
class Length(Filter):
    name = "length"
    description = "Drop too short / too long records: words for space-delimited text, characters for Chinese."

    @dataclasses.dataclass
    class Options:
        min_words: int = 5
        max_words: int = 512
        min_cjk_chars: int = 10
        max_cjk_chars: int = 1024

        def __post_init__(self):
            if not 0 <= self.min_words <= self.max_words:
                raise ValueError("need 0 ≤ min_words ≤ max_words")
            if not 0 <= self.min_cjk_chars <= self.max_cjk_chars:
                raise ValueError("need 0 ≤ min_cjk_chars ≤ max_cjk_chars")

    def setup(self) -> None:
        _count_tables()

    def keep(self, record):
        text = record_text(record)
        return self._verdict(record, text, count_cjk(text), count_words(text))

    def process(self, records, reject):
        """Like Filter.process, with the counting done for BATCH records at a time (numpy)."""
        self.ensure_setup()
        stats = self.stats
        for batch, texts in _batches(records):
            t0 = time.perf_counter()
            n_cjk, n_words = count_cjk_and_words(texts)
            kept = [record for record, text, c, w in zip(batch, texts, n_cjk.tolist(), n_words.tolist())
                    if self._reject(record, self._verdict(record, text, c, w), reject)]
            stats.n_in += len(batch)
            stats.n_out += len(kept)
            stats.seconds += time.perf_counter() - t0
            yield from kept

    def _verdict(self, record, text: str, n_cjk: int, n_words: int):
        o = self.options
        if is_cjk_dominant(text, n_cjk=n_cjk, n_words=n_words):
            unit, n, lo, hi = "cjk_chars", n_cjk + n_words, o.min_cjk_chars, o.max_cjk_chars
        else:
            unit, n, lo, hi = "words", n_words, o.min_words, o.max_words
        set_attr(record, self.name, {"unit": unit, "value": n})
        if n < lo:
            details = {"unit": unit, "value": n, "min": lo}
            if len(text) <= MATCH_CHARS and text.strip():
                details["match"] = text.strip()  # the whole (short) text is the problem
            return Rejection(self.name, "too_short", details=details)
        if n > hi:
            return Rejection(self.name, "too_long", details={"unit": unit, "value": n, "max": hi})
        return True


def _batches(records):
    """(records, their texts) in batches of BATCH records or BATCH_CHARS characters."""
    batch, texts, chars = [], [], 0
    for record in records:
        text = record_text(record)
        batch.append(record)
        texts.append(text)
        chars += len(text)
        if len(batch) >= BATCH or chars >= BATCH_CHARS:
            yield batch, texts
            batch, texts, chars = [], [], 0
    if batch:
        yield batch, texts
