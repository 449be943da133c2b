"""The augmenter interface: a batch of Items in, one Outcome (variants or a rejection reason) per Item.

An Item is what every augmenter sees, whatever the source: a Sample row or a JSONL record with
``messages`` or ``text`` (text becomes one user message and is mapped back). Run-wide resources —
protected glossary terms, Chinese synonym groups, curator entity lists, the seeded RNG — travel in
``AugmentContext``. Methods register with ``@register_augmenter`` under their method name; that name is
stored on the new sample (``Sample.method``) and is the step name in the pipeline.

Each method declares its options once (``Augmenter.options_spec``: type, default, meaning); the
constructor checks and fills them, and the REST API lists them from there.
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


OPTION_TYPES = ("number", "integer", "string", "strings", "band")


@dataclasses.dataclass(frozen=True)
class Option:
    """One augmenter option: its JSON type, default and meaning. ``clean`` checks and normalises a value.

    Types: number, integer, string, strings (a list of strings), band (two numbers ``[low, high]`` in
    [0, 1], low < high). ``choices`` limits string(s); ``minimum``/``maximum`` bound numbers
    (``exclusive_minimum``: the minimum itself is not allowed); ``check`` raises ValueError on a bad value.
    """

    type: str
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    check: Callable[[Any], None] | None = None

    def __post_init__(self):
        if self.type not in OPTION_TYPES:
            raise ValueError(f"Option type must be one of {', '.join(OPTION_TYPES)}, got {self.type!r}")

    def clean(self, method: str, name: str, value: Any) -> Any:
        where = f"Option '{name}' of augmenter '{method}'"
        if self.type in ("number", "integer"):
            value = _number(value, integer=self.type == "integer", where=where)
            low, high = self.minimum, self.maximum
            too_low = low is not None and (value <= low if self.exclusive_minimum else value < low)
            if too_low or (high is not None and value > high):
                lo = "" if low is None else f"{'(' if self.exclusive_minimum else '['}{low}"
                hi = "" if high is None else f"{high}]"
                raise ValueError(f"{where} must be in {lo or '(-inf'}, {hi or 'inf)'}, got {value}")
        elif self.type == "string":
            if not isinstance(value, str):
                raise ValueError(f"{where} must be a string, got {value!r}")
            value = value.strip()
            self._check_choices(where, [value])
        elif self.type == "strings":
            if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(
                    isinstance(v, str) for v in value):
                raise ValueError(f"{where} must be a list of strings, got {value!r}")
            value = [v.strip() for v in value if v.strip()]
            self._check_choices(where, value)
        else:  # band
            if isinstance(value, str) or not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ValueError(f"{where} must be two numbers [low, high], got {value!r}")
            low, high = (_number(v, integer=False, where=where) for v in value)
            if not 0 <= low < high <= 1:
                raise ValueError(f"{where} must satisfy 0 <= low < high <= 1, got [{low}, {high}]")
            value = (low, high)
        if self.check is not None:
            try:
                self.check(value)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        return value

    def _check_choices(self, where: str, values: list[str]) -> None:
        bad = [v for v in values if self.choices and v not in self.choices]
        if bad:
            raise ValueError(f"{where}: unknown value(s) {', '.join(bad)}; valid: {', '.join(self.choices)}")


def _number(value: Any, *, integer: bool, where: str) -> float | int:
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool):
        raise ValueError(f"{where} must be {kind}, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError(f"{where} must be {kind}, got {value!r}") from None
    if not isinstance(value, (int, float)) or value != value:  # NaN
        raise ValueError(f"{where} must be {kind}, got {value!r}")
    if integer:
        if float(value) != int(value):
            raise ValueError(f"{where} must be {kind}, got {value!r}")
        return int(value)
    return float(value)


MESSAGE_ROLES = ("system", "user", "assistant")


class Augmenter(abc.ABC):
    method: ClassVar[str] = ""
    description: ClassVar[str] = ""
    # Options a caller may set (JSON values; job params and the API use these), with their defaults.
    options_spec: ClassVar[dict[str, Option]] = {
        "roles": Option("strings", ("user",), "Message roles the method works on.", choices=MESSAGE_ROLES),
    }
    # In-process only options (Python objects, e.g. a ready translator): accepted by the constructor,
    # never listed and never accepted from job params or the API.
    internal_options: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **options: Any):
        internal = {k: options.pop(k) for k in self.internal_options if k in options}
        self.options = {**self.defaults(), **self.clean_options(options), **internal}
        self.roles = tuple(self.options["roles"])

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return tuple(cls.options_spec)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {name: spec.default for name, spec in cls.options_spec.items()}

    @classmethod
    def clean_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Check ``options`` (JSON values) against ``options_spec``; the normalised values, defaults not added.

        Raises ValueError naming the bad option and, for unknown names, listing the valid ones.
        """
        if not isinstance(options, dict):
            raise ValueError(f"Options of augmenter '{cls.method}' must be an object of option: value, "
                             f"got {options!r}")
        unknown = set(options) - set(cls.options_spec)
        if unknown:
            raise ValueError(f"Unknown option(s) {', '.join(sorted(unknown))} for augmenter '{cls.method}'. "
                             f"Valid options: {', '.join(cls.options_spec)}")
        return {name: cls.options_spec[name].clean(cls.method, name, value) for name, value in options.items()}

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
