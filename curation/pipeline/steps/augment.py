"""Augmenter steps for the headless ``process`` command: backtranslate, synonym, entity_swap, perturb, dialogue.

Augmenters ADD records, which a Mapper cannot do, so they subclass ``Expander`` (defined here): its
``process()`` yields every input record unchanged, followed by the new records made from it. A new
record has id ``<parent id>~<method><n>``, ``parent_id``, ``method`` and ``origin: "augmented"``.
Records whose ``split`` is validation/test pass through untouched. ``ratio`` picks a deterministic
share of records (by a hash of their id). A variant that fails the augmenter's gate is not a
rejection of the record — the stats count it under ``counters`` (``accepted``, ``rejected:<reason>``).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from curation.augment.base import AugmentContext, Item, get_augmenter
from curation.augment.quality import SIMILARITY_BAND
from curation.pipeline.base import Record, RejectSink, Step, StepConfigError, register_step

HELD_OUT = ("validation", "test")
STEP_BATCH = 16


def _picked(record_id: str, ratio: float, method: str) -> bool:
    if ratio >= 1:
        return True
    h = int(hashlib.sha256(f"{method}:{record_id}".encode()).hexdigest()[:8], 16)
    return h / 0xFFFFFFFF < ratio


class Expander(Step):
    """A 1→N step: yields each record, then the records ``expand_batch`` made from it."""

    kind = "expander"
    method: ClassVar[str] = ""

    def augmenter_options(self) -> dict[str, Any]:
        return {}

    def context(self) -> AugmentContext:
        return AugmentContext(seed=self.options.seed)

    def setup(self) -> None:
        self._augmenter = get_augmenter(self.method, **self.augmenter_options())
        self._ctx = self.context()

    _unpicklable = ("_augmenter", "_ctx")

    def process(self, records: Iterable[Record], reject: RejectSink) -> Iterator[Record]:
        self.ensure_setup()
        batch: list[Record] = []
        for record in records:
            batch.append(record)
            if len(batch) >= STEP_BATCH:
                yield from self._flush(batch)
                batch = []
        if batch:
            yield from self._flush(batch)

    def _flush(self, batch: list[Record]) -> Iterator[Record]:
        stats = self.stats
        t0 = time.perf_counter()
        stats.n_in += len(batch)
        todo = [r for r in batch if str(r.get("split", "")) not in HELD_OUT
                and _picked(str(r.get("id", "")), self.options.ratio, self.method)
                and (r.get("messages") or r.get("text"))]
        items = [Item(key=str(r.get("id", "")), messages=_messages(r), language=str(r.get("language", "") or ""),
                      intent=str(r.get("intent", "") or ""), entities=r.get("entities") or {}) for r in todo]
        outcomes = self._augmenter.augment(items, self._ctx) if items else []
        made: dict[int, list[Record]] = {}
        for record, outcome in zip(todo, outcomes):
            if not outcome.variants:
                stats.counters[f"rejected:{outcome.reason or 'rejected'}"] += 1
                continue
            stats.counters["accepted"] += 1
            made[id(record)] = [_child(record, v, self.method, n) for n, v in enumerate(outcome.variants, 1)]
        stats.seconds += time.perf_counter() - t0
        for record in batch:
            stats.n_out += 1
            yield record
            for child in made.get(id(record), []):
                stats.n_out += 1
                stats.counters["new_records"] += 1
                yield child


def _messages(record: Record) -> list[dict]:
    if record.get("messages"):
        return [dict(m) for m in record["messages"]]
    return [{"role": "user", "content": str(record.get("text", ""))}]


def _child(record: Record, variant, method: str, n: int) -> Record:
    child = {k: v for k, v in record.items() if k not in ("attrs",)}
    child["id"] = f"{record.get('id', '')}~{method}{n}"
    child["parent_id"] = record.get("id")
    child["method"] = method
    child["origin"] = "augmented"
    if record.get("messages"):
        child["messages"] = variant.messages
    else:
        child["text"] = variant.messages[0]["content"]
    if variant.entities is not None:
        child["entities"] = variant.entities
    child["augment"] = variant.details
    return child


@dataclasses.dataclass
class _Common:
    ratio: float = 1.0
    seed: int = 13
    roles: list[str] = dataclasses.field(default_factory=lambda: ["user"])

    def __post_init__(self):
        if not 0 < self.ratio <= 1:
            raise ValueError("ratio must be in (0, 1]")


@register_step
class BackTranslateStep(Expander):
    name = method = "backtranslate"
    description = "Add back-translated paraphrases (zh→en→zh, en→zh→en) inside a similarity band"

    @dataclasses.dataclass
    class Options(_Common):
        backend: str = "lm"
        band_low: float = SIMILARITY_BAND[0]
        band_high: float = SIMILARITY_BAND[1]

    def augmenter_options(self):
        o = self.options
        return {"backend": o.backend, "band": (o.band_low, o.band_high), "roles": o.roles}


@register_step
class SynonymStep(Expander):
    name = method = "synonym"
    description = "Add synonym-replaced variants (WordNet for English); numbers and placeholders never change"

    @dataclasses.dataclass
    class Options(_Common):
        rate: float = 0.2

    def augmenter_options(self):
        return {"rate": self.options.rate, "roles": self.options.roles}


@register_step
class EntitySwapStep(Expander):
    name = method = "entity_swap"
    description = "Add variants with annotated entities swapped from lists (a JSON file {type: [values]})"

    @dataclasses.dataclass
    class Options(_Common):
        lists: str = ""

    def context(self) -> AugmentContext:
        path = Path(self.options.lists) if self.options.lists else None
        if path is None or not path.exists():
            raise StepConfigError(f"entity_swap needs lists=<JSON file of {{type: [values]}}>; not found: {path}")
        try:
            lists = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise StepConfigError(f"entity_swap lists file {path}: invalid JSON ({exc})") from exc
        return AugmentContext(entity_lists={str(k): [str(x) for x in v] for k, v in lists.items()},
                              seed=self.options.seed)

    def augmenter_options(self):
        return {"roles": ["user", "assistant"]}


@register_step
class PerturbStep(Expander):
    name = method = "perturb"
    description = "Add perturbed instructions: rephrasings, irrelevant context, reordered constraints"

    @dataclasses.dataclass
    class Options(_Common):
        rate: float = 0.5
        kinds: list[str] = dataclasses.field(default_factory=lambda: ["rephrase", "irrelevant_context", "reorder"])

    def augmenter_options(self):
        return {"rate": self.options.rate, "kinds": self.options.kinds}


@register_step
class DialogueStep(Expander):
    name = method = "dialogue"
    description = "Add dialogue branches: templated openings/closings and earlier-turn prefixes"

    @dataclasses.dataclass
    class Options(_Common):
        max_branches: int = 2

    def augmenter_options(self):
        return {"max_branches": self.options.max_branches}
