"""Augmenter steps for the headless ``process`` command: backtranslate, synonym, entity_swap, perturb, dialogue.

Augmenters ADD records, which a Mapper cannot do, so they subclass ``Expander`` (defined here): its
``process()`` yields every input record unchanged, followed by the new records made from it. A new
record has id ``<parent id>~<method><n>``, ``parent_id``, ``method`` and ``origin: "augmented"``.
Records whose ``split`` is validation/test pass through untouched. ``ratio`` picks a deterministic
share of records (by a hash of their id). A variant that fails the augmenter's gate is not a
rejection of the record — the stats count it under ``counters`` (``accepted``, ``rejected:<reason>``).

Every augmenter step takes the glossary the way the glossary step does: ``terms`` (inline; a
collection's pipeline run fills it in), ``terms_file=`` (a JSON list of ``{"canonical", "variants",
"synonyms"}`` or ``{canonical: [variants]}``) or ``collection=`` (that collection's glossary). Its synonym groups feed ``synonym`` (the only source for
Chinese); its terms without synonyms are protected spans for every method. ``entity_swap`` also takes
the collection's curator entity lists when no ``lists=`` file is given.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from curation.augment.base import AugmentContext, GlossaryEntry, Item, augment_methods, get_augmenter
from curation.augment.quality import SIMILARITY_BAND
from curation.pipeline.base import Record, RejectSink, Step, StepConfigError, register_step

from .glossary import load_terms_file, parse_terms

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

    def __init__(self, **options: Any):
        super().__init__(**options)
        try:  # the augmenter's own checks, at configuration time (nothing loads yet)
            augment_methods()[self.method].clean_options(self.augmenter_options())
        except ValueError as exc:
            raise StepConfigError(f"{self.name}: {exc}") from None
        # Read here, in the driver: a bad glossary fails before any record is read, and worker processes
        # get the terms with the step (they never need the file or the database).
        self._glossary = self._load_glossary()

    def augmenter_options(self) -> dict[str, Any]:
        return {}

    def glossary(self) -> list[GlossaryEntry]:
        return list(self._glossary)

    def _load_glossary(self) -> list[GlossaryEntry]:
        """The glossary from ``terms``, ``terms_file`` or ``collection`` (first set wins; else empty)."""
        o = self.options
        try:
            if o.terms:
                terms = parse_terms(o.terms)
            elif o.terms_file:
                terms = load_terms_file(o.terms_file)
            elif o.collection:
                from curation.selectors import glossary_terms_for_step

                terms = parse_terms(glossary_terms_for_step(collection_name=o.collection))
            else:
                terms = []
        except StepConfigError as exc:
            raise StepConfigError(f"{self.name}: {exc}") from None
        return [GlossaryEntry(t["canonical"], tuple(t["variants"]), tuple(t["synonyms"])) for t in terms]

    def context(self) -> AugmentContext:
        return AugmentContext(glossary=self.glossary(), seed=self.options.seed)

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
    terms: list = dataclasses.field(default_factory=list)  # glossary terms inline (web runs: read by the driver)
    terms_file: str = ""  # or a glossary JSON file (as the glossary step reads it)
    collection: str = ""  # or the named collection's glossary (and entity lists)

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
    description = ("Add synonym-replaced variants (WordNet for English, glossary synonyms for Chinese); numbers, "
                   "placeholders and glossary terms never change")

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
        o = self.options
        if not o.lists and o.collection:
            from curation.augment.services import collection_entity_lists
            from curation.models import Collection

            coll = Collection.objects.filter(name=o.collection).first()
            if coll is None:
                raise StepConfigError(f"entity_swap: no collection named {o.collection!r}")
            lists = collection_entity_lists(collection=coll)
        else:
            path = Path(o.lists) if o.lists else None
            if path is None or not path.is_file():
                raise StepConfigError(f"entity_swap needs lists=<JSON file of {{type: [values]}}> or collection=NAME; "
                                      f"not found: {path}")
            try:
                lists = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise StepConfigError(f"entity_swap lists file {path}: invalid JSON ({exc})") from exc
            if not isinstance(lists, dict) or not all(isinstance(v, list) for v in lists.values()):
                raise StepConfigError(f"entity_swap lists file {path}: expected {{type: [values]}}")
        return AugmentContext(glossary=self.glossary(),
                              entity_lists={str(k): [str(x) for x in v] for k, v in lists.items()}, seed=o.seed)

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
