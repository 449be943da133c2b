"""pii — detect personal data (Chinese + English) and replace it with typed placeholders.

Detectors live in ``curation.pii`` (one combined regex pass with checksum validators for IDs, cards,
credit codes, phones, e-mail, IPs, SSNs, plates, passports, addresses; spaCy NER on candidate windows
and a trained surname-anchored model for person names). This module is the pipeline face of ``PIIScrubber``.

Options:
* ``mode`` — ``replace`` (``[PERSON_1]``, the same value → the same placeholder within a record,
  across all its messages), ``mask`` (``138****5678``), ``hash`` (salted, stable across records),
  ``drop`` (drop every record that contains PII; reason ``contains_pii``).
* ``types`` — PII types to handle (default: all of ``PII_TYPES``); ``names`` — False skips person
  names (no NER model load); ``hash_salt`` — the secret of hash mode; empty (default) = derived from
  the installation's ``SECRET_KEY`` (stable across runs here), or a random salt per run where Django is
  not configured — chosen once in the driver, so every worker of a run uses the same one (the salt
  itself is never written to the report); ``batch_size`` — records per NER batch;
  ``examples_per_type`` — masked examples kept in ``attrs["pii"]["examples"]`` for the dashboard.

Counters: ``pii.<TYPE>`` occurrences and ``records_with_pii``.
Output attrs: ``record["attrs"]["pii"] = {"counts": {TYPE: n}, "examples": {TYPE: [masked, …]}}``
(only on records where PII was found).
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator

from curation.pii import MODES, PII_TYPES, PLACEHOLDER_RE, PIIScrubber, ScrubResult, mask_value
from curation.pii.scrubber import normalise_value

from ..base import Mapper, Record, Rejection, RejectSink, StepConfigError, register_step

__all__ = ["PIIStep", "PIIScrubber", "ScrubResult", "PLACEHOLDER_RE", "PII_TYPES", "MODES"]

DROP_REASON = "contains_pii"


@register_step
class PIIStep(Mapper):
    name = "pii"
    description = ("Detects personal data in Chinese and English (IDs, phones, cards, e-mail, names, "
                   "addresses…) and replaces it with per-document-consistent typed placeholders.")
    drop_reason = DROP_REASON
    _unpicklable = ("_scrubber",)

    @dataclasses.dataclass
    class Options:
        mode: str = "replace"
        types: list[str] = dataclasses.field(default_factory=list)
        names: bool = True
        hash_salt: str = ""
        batch_size: int = 64
        examples_per_type: int = 3

        def __post_init__(self):
            if self.mode not in MODES:
                raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
            unknown = sorted({t.upper() for t in self.types} - set(PII_TYPES))
            if unknown:
                raise ValueError(f"unknown PII type(s) {', '.join(unknown)}; valid types: {', '.join(PII_TYPES)}")
            if self.batch_size < 1:
                raise ValueError("batch_size must be ≥ 1")
            if self.examples_per_type < 0:
                raise ValueError("examples_per_type must be ≥ 0")

    def __init__(self, **options):
        super().__init__(**options)
        self._scrubber: PIIScrubber | None = None
        if self.options.mode == "hash":  # chosen here, in the driver: workers get this salt with the step
            from curation.pii.scrubber import default_hash_salt

            self._hash_salt, self.hash_salt_source = (self.options.hash_salt, "given") if self.options.hash_salt \
                else default_hash_salt()
        else:
            self._hash_salt, self.hash_salt_source = None, ""

    def setup(self) -> None:
        # models and name lists load here, once per process, not inside the first batch that needs them
        self._scrubber = self._make_scrubber().load()

    def _make_scrubber(self) -> PIIScrubber:
        o = self.options
        try:
            return PIIScrubber(mode=o.mode, types=o.types or None, names=o.names, hash_salt=self._hash_salt)
        except ValueError as exc:
            raise StepConfigError(f"Bad options for step 'pii': {exc}") from exc

    @property
    def scrubber(self) -> PIIScrubber:
        if getattr(self, "_scrubber", None) is None:
            self._scrubber = self._make_scrubber()
        return self._scrubber

    # --------------------------------------------------------------------------- one record
    def map(self, record: Record) -> Record | None:
        out = self._scrub_records([record])[0]
        return None if isinstance(out, Rejection) else out

    # --------------------------------------------------------------------------- stream (batched)
    def process(self, records: Iterable[Record], reject: RejectSink) -> Iterator[Record]:
        self.ensure_setup()
        stats = self.stats
        batch: list[Record] = []
        size = self.options.batch_size
        for record in records:
            batch.append(record)
            if len(batch) >= size:
                yield from self._flush(batch, reject)
                batch = []
        if batch:
            yield from self._flush(batch, reject)
        stats.n_out = stats.n_in - stats.n_dropped

    def _flush(self, batch: list[Record], reject: RejectSink) -> Iterator[Record]:
        t0 = time.perf_counter()
        outs = self._scrub_records(batch)
        self.stats.n_in += len(batch)
        self.stats.seconds += time.perf_counter() - t0
        for record, out in zip(batch, outs):
            if isinstance(out, Rejection):
                self._reject(record, out, reject)
            else:
                yield out

    def _scrub_records(self, records: list[Record]) -> list[Record | Rejection]:
        """Scrub a batch; each record's text + message contents share one placeholder map."""
        groups: list[list[str]] = []
        layout: list[tuple[bool, list[int]]] = []  # (has text, indexes of string message contents)
        for record in records:
            texts: list[str] = []
            has_text = isinstance(record.get("text"), str)
            if has_text:
                texts.append(record["text"])
            idx = []
            for i, msg in enumerate(record.get("messages") or []):
                if isinstance(msg, dict) and isinstance(msg.get("content"), str):
                    texts.append(msg["content"])
                    idx.append(i)
            groups.append(texts)
            layout.append((has_text, idx))
        results = self.scrubber.scrub_groups(groups)
        outs: list[Record | Rejection] = []
        for record, res, (has_text, idx) in zip(records, results, layout):
            counts: dict[str, int] = {}
            examples: dict[str, list[str]] = {}
            seen: set[tuple[str, str]] = set()
            for r in res:
                for t, n in r.counts.items():
                    counts[t] = counts.get(t, 0) + n
                for ent in r.entities:  # a few distinct values per type, always masked
                    ex = examples.setdefault(ent.type, [])
                    key = (ent.type, normalise_value(ent.type, ent.value))
                    if len(ex) < self.options.examples_per_type and key not in seen:
                        seen.add(key)
                        ex.append(mask_value(ent.type, ent.value))
            for t, n in counts.items():
                self.stats.counters[f"pii.{t}"] += n
            if counts:
                self.stats.counters["records_with_pii"] += 1
            if self.options.mode == "drop" and counts:
                first = next(ent for r in res for ent in r.entities)  # highlighted in the drill-down
                outs.append(Rejection(self.name, DROP_REASON, details={"pii": counts, "match": first.value}))
                continue
            if not counts:
                outs.append(record)
                continue
            new = dict(record)
            k = 0
            if has_text:
                new["text"] = res[0].text
                k = 1
            if idx:
                messages = [dict(m) if isinstance(m, dict) else m for m in record["messages"]]
                for i, r in zip(idx, res[k:]):
                    messages[i]["content"] = r.text
                new["messages"] = messages
            attrs = dict(new.get("attrs") or {})
            attrs["pii"] = {"counts": counts, "examples": examples}
            new["attrs"] = attrs
            outs.append(new)
        return outs
