"""The augmenter interface: a batch of Items in, one Outcome (variants or a rejection reason) per Item.

An Item is what every augmenter sees, whatever the source: a Sample row or a JSONL record with
``messages`` or ``text`` (text becomes one user message and is mapped back). Run-wide resources —
protected glossary terms, Chinese synonym groups, curator entity lists, the seeded RNG — travel in
``AugmentContext``. Methods register with ``@register_augmenter`` under their method name; that name is
stored on the new sample (``Sample.method``) and is the step name in the pipeline.
"""
from __future__ import annotations

import abc
import dataclasses
import random
from collections.abc import Callable
from typing import Any, ClassVar

from .translate import detect_language


@dataclasses.dataclass
class Item:
    key: str
    messages: list[dict[str, str]]
    language: str = ""
    intent: str = ""
    entities: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def lang(self) -> str:
        if self.language in ("zh", "en"):
            return self.language
        if self.language.startswith("zh"):
            return "zh"
        return detect_language(" ".join(m.get("content", "") for m in self.messages))


@dataclasses.dataclass
class Variant:
    messages: list[dict[str, str]]
    entities: dict[str, list[str]] | None = None  # None: the parent's annotations still hold
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Outcome:
    variants: list[Variant] = dataclasses.field(default_factory=list)
    reason: str = ""  # why no variant was produced (rejected by the gate, nothing applicable …)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def rejected(cls, reason: str) -> "Outcome":
        return cls([], reason)


@dataclasses.dataclass(frozen=True)
class GlossaryEntry:
    """What augmentation needs of a glossary term (from ``GlossaryTerm`` rows or plain data)."""

    canonical: str
    variants: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()


@dataclasses.dataclass
class AugmentContext:
    glossary: list[GlossaryEntry] = dataclasses.field(default_factory=list)
    entity_lists: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    seed: int = 13
    rng: random.Random = dataclasses.field(init=False)

    def __post_init__(self):
        self.rng = random.Random(self.seed)

    @property
    def synonym_groups(self) -> list[list[str]]:
        """Interchangeable words: each glossary term's canonical form with its synonyms."""
        return [[g.canonical, *g.synonyms] for g in self.glossary if g.synonyms]

    @property
    def protected_terms(self) -> list[str]:
        """Glossary terms that never change: canonical forms and spelling variants of terms without
        synonyms (terms with synonyms may only be swapped within their group by the synonym method)."""
        out: list[str] = []
        for g in self.glossary:
            if not g.synonyms:
                out += [g.canonical, *g.variants]
        return sorted({t for t in out if t}, key=len, reverse=True)


class Augmenter(abc.ABC):
    method: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init__(self, *, roles: tuple[str, ...] | list[str] = ("user",), **options: Any):
        self.roles = tuple(roles)
        unknown = set(options) - set(self.option_names())
        if unknown:
            raise ValueError(f"Unknown option(s) {', '.join(sorted(unknown))} for augmenter '{self.method}'. "
                             f"Valid options: {', '.join(['roles', *self.option_names()])}")
        self.options = options

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ()

    @abc.abstractmethod
    def augment(self, items: list[Item], ctx: AugmentContext) -> list[Outcome]:
        """One Outcome per Item, in order."""

    def edit_messages(self, messages: list[dict], fn: Callable[[int, str], str | None]) -> list[dict] | None:
        """Copy ``messages`` applying ``fn(index, content)`` to the roles this augmenter edits.

        ``fn`` returns the new content, or None when that message cannot be changed. Returns None
        when no message changed at all.
        """
        changed = False
        out = []
        for i, m in enumerate(messages):
            new = dict(m)
            if m.get("role") in self.roles:
                result = fn(i, m.get("content", ""))
                if result is not None and result != m.get("content", ""):
                    new["content"] = result
                    changed = True
            out.append(new)
        return out if changed else None


AUGMENTERS: dict[str, type[Augmenter]] = {}


def register_augmenter(cls: type[Augmenter]) -> type[Augmenter]:
    if not cls.method:
        raise ValueError(f"{cls.__name__} has no method name")
    AUGMENTERS[cls.method] = cls
    return cls


def get_augmenter(method: str, **options: Any) -> Augmenter:
    from . import methods  # noqa: F401  (registers the methods)

    if method not in AUGMENTERS:
        raise ValueError(f"Unknown augmentation method '{method}'. Valid methods: {', '.join(sorted(AUGMENTERS))}")
    return AUGMENTERS[method](**options)


def augment_methods() -> dict[str, type[Augmenter]]:
    from . import methods  # noqa: F401

    return dict(AUGMENTERS)
