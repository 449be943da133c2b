"""Step base classes (DataTrove-style): small steps over a stream of records.

A record is a plain dict: ``{"id": str, "text": str, ...}`` (records of instruction samples carry
``"messages"`` instead of / besides ``"text"``). Other fields pass through untouched; steps may add
attributes under ``record["attrs"][step_name]``.

Write one of:

* ``Filter.keep(record) -> bool | (False, "reason") | Rejection``
* ``Mapper.map(record) -> record | None`` (None = drop, with ``self.drop_reason``)
* ``GlobalStep.fit(records)`` then ``GlobalStep.apply(record)`` (same return values as ``keep``),
  for steps that must see the whole stream first (deduplication). ``fit`` receives an iterable it may
  traverse once; keep only what you need (signatures, hashes) — memory must stay bounded. The engine
  replays the same records in the same order; ``apply_at(record, position)`` (default: ``apply``) is
  told each record's 0-based position in the fitted stream, so decisions can be keyed by position
  rather than by id (ids need not be unique).
  Optionally ``GlobalStep.fit_distributed(ds)``: the same state as ``fit``, computed on Ray. ``ds`` is a
  ``ray.data.Dataset`` with one row per record and two string columns, ``id`` and ``text``
  (``record_text(record)``), in stream order. The Ray executor calls it when present, else it streams
  the records to ``fit`` in the driver.

The engine (``curation.pipeline.engine.run_pipeline``) runs the steps: streaming steps are chained,
each global step is a barrier (the stream is spilled to a temporary file — fitted on the way with the local
executor — then replayed in the same order, each record with its position).

The base class counts records in/out/dropped, times the step and hands every rejection, with its
reason, to the rejection sink. The same step object runs in-process, in the task worker, or inside a
Ray ``map_batches`` call (steps must be picklable; load heavy resources lazily in ``setup``).

Options: declare a dataclass ``Options`` on the step; ``Step(**options)`` validates names and types
and raises ``StepConfigError`` listing the valid options.
"""
from __future__ import annotations

import abc
import dataclasses
import itertools
import time
import typing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

Record = dict[str, Any]


class StepConfigError(ValueError):
    """Unknown step, unknown option or a bad option value; the message lists what is valid."""


@dataclasses.dataclass(frozen=True)
class Rejection:
    step: str
    reason: str
    duplicate_of: str | None = None
    details: dict | None = None

    def as_dict(self) -> dict:
        d = {"step": self.step, "reason": self.reason}
        if self.duplicate_of is not None:
            d["duplicate_of"] = self.duplicate_of
        if self.details:
            d["details"] = self.details
        return d


RejectSink = Callable[[Record, Rejection], None]


@dataclasses.dataclass
class StepStats:
    name: str
    n_in: int = 0
    n_out: int = 0
    n_dropped: int = 0
    seconds: float = 0.0
    reasons: Counter = dataclasses.field(default_factory=Counter)
    counters: Counter = dataclasses.field(default_factory=Counter)  # step-specific, e.g. PII by type

    def as_dict(self) -> dict:
        return {
            "step": self.name,
            "in": self.n_in,
            "out": self.n_out,
            "dropped": self.n_dropped,
            "seconds": round(self.seconds, 4),
            "docs_per_second": round(self.n_in / self.seconds, 1) if self.seconds > 0 else None,
            "reasons": dict(self.reasons),
            "counters": dict(self.counters),
        }

    def merge(self, other: "StepStats") -> None:
        self.n_in += other.n_in
        self.n_out += other.n_out
        self.n_dropped += other.n_dropped
        self.seconds += other.seconds
        self.reasons.update(other.reasons)
        self.counters.update(other.counters)


class Step(abc.ABC):
    """Base of all steps. Subclasses set ``name``, ``description`` and an ``Options`` dataclass."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    kind: ClassVar[str] = "step"  # "filter" | "mapper" | "global"

    @dataclasses.dataclass
    class Options:
        pass

    def __init__(self, **options: Any):
        self.options = self.parse_options(options)
        self.stats = StepStats(self.name)
        self._ready = False

    # ---------------------------------------------------------------- options
    @classmethod
    def option_fields(cls) -> dict[str, dataclasses.Field]:
        return {f.name: f for f in dataclasses.fields(cls.Options)}

    @classmethod
    def parse_options(cls, options: dict[str, Any]):
        fields = cls.option_fields()
        unknown = sorted(set(options) - set(fields))
        if unknown:
            valid = ", ".join(sorted(fields)) or "(none)"
            raise StepConfigError(f"Unknown option(s) {', '.join(unknown)} for step '{cls.name}'. Valid options: {valid}")
        hints = typing.get_type_hints(cls.Options)
        coerced = {k: _coerce(cls.name, k, v, hints.get(k)) for k, v in options.items()}
        try:
            return cls.Options(**coerced)
        except (TypeError, ValueError) as exc:
            raise StepConfigError(f"Bad options for step '{cls.name}': {exc}") from exc

    @classmethod
    def default_options(cls) -> dict[str, Any]:
        return dataclasses.asdict(cls.Options())

    def options_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.options)

    # ---------------------------------------------------------------- lifecycle
    def prepare(self) -> None:
        """Called once in the driver before a run (``services.steps_build``): turn what needs the database
        or the driver's disk into plain, picklable state, so worker processes and Ray actors (possibly on
        another machine) need neither. May raise StepConfigError."""

    def setup(self) -> None:
        """Load heavy resources (models, dictionaries). Called once before the first record."""

    def ensure_setup(self) -> None:
        if not self._ready:
            self.setup()
            self._ready = True

    def __getstate__(self):  # picklable for Ray / multiprocessing: resources are reloaded lazily
        state = self.__dict__.copy()
        state["_ready"] = False
        for key in getattr(self, "_unpicklable", ()):
            state.pop(key, None)
        return state

    # ---------------------------------------------------------------- execution
    @abc.abstractmethod
    def process(self, records: Iterable[Record], reject: RejectSink) -> Iterator[Record]:
        """Run the step over a stream; yields kept/transformed records (Filter/Mapper/GlobalStep)."""

    def process_batch(self, records: list[Record], reject: RejectSink) -> list[Record]:
        return list(self.process(records, reject))

    def reset_stats(self) -> StepStats:
        """Start a fresh stats object (a worker does this per batch) and return the old one."""
        old, self.stats = self.stats, StepStats(self.name)
        return old

    def _reject(self, record: Record, verdict: Any, reject: RejectSink) -> bool:
        """Interpret a keep()/apply() verdict; returns True when the record is kept."""
        if verdict is True or verdict is None:
            return True
        if isinstance(verdict, Rejection):
            rejection = verdict
        elif verdict is False:
            rejection = Rejection(self.name, self.name)
        elif isinstance(verdict, tuple):
            ok, reason = verdict[0], verdict[1] if len(verdict) > 1 else self.name
            if ok:
                return True
            rejection = Rejection(self.name, str(reason))
        else:
            raise TypeError(f"Step {self.name} returned {verdict!r}; expected bool, (False, reason) or Rejection")
        self.stats.n_dropped += 1
        self.stats.reasons[rejection.reason] += 1
        reject(record, rejection)
        return False


class Filter(Step):
    kind = "filter"

    @abc.abstractmethod
    def keep(self, record: Record) -> bool | tuple[bool, str] | Rejection:
        """True to keep; False, (False, reason) or a Rejection to drop."""

    def process(self, records: Iterable[Record], reject: RejectSink) -> Iterator[Record]:
        self.ensure_setup()
        stats = self.stats
        for record in records:
            t0 = time.perf_counter()
            stats.n_in += 1
            kept = self._reject(record, self.keep(record), reject)
            stats.seconds += time.perf_counter() - t0
            if kept:
                stats.n_out += 1
                yield record


class Mapper(Step):
    kind = "mapper"
    drop_reason: str = ""

    @abc.abstractmethod
    def map(self, record: Record) -> Record | None:
        """The transformed record, or None to drop it (reason: ``self.drop_reason``)."""

    def process(self, records: Iterable[Record], reject: RejectSink) -> Iterator[Record]:
        self.ensure_setup()
        stats = self.stats
        for record in records:
            t0 = time.perf_counter()
            stats.n_in += 1
            out = self.map(record)
            if out is None:
                self._reject(record, (False, self.drop_reason or self.name), reject)
                stats.seconds += time.perf_counter() - t0
                continue
            stats.seconds += time.perf_counter() - t0
            stats.n_out += 1
            yield out


class GlobalStep(Step):
    """A step that sees the whole stream before deciding (dedup). The engine calls fit then apply."""

    kind = "global"

    @abc.abstractmethod
    def fit(self, records: Iterable[Record]) -> None:
        """See every record once (keep only bounded state: hashes, signatures)."""

    @abc.abstractmethod
    def apply(self, record: Record) -> bool | tuple[bool, str] | Rejection:
        """Decide per record after fit, like Filter.keep."""

    def apply_at(self, record: Record, position: int) -> bool | tuple[bool, str] | Rejection:
        """``apply`` for the record at ``position`` (0-based) of the stream ``fit`` saw."""
        return self.apply(record)

    def fit_stream(self, records: Iterable[Record]) -> None:
        self.ensure_setup()
        t0 = time.perf_counter()
        self.fit(records)
        self.stats.seconds += time.perf_counter() - t0

    def process(self, records: Iterable[Record], reject: RejectSink,
                positions: Iterable[int] | None = None) -> Iterator[Record]:
        """Apply after ``fit_stream`` (the engine replays the same records, in the same order).
        ``positions``: each record's position in the fitted stream (default 0, 1, 2, …; a worker that
        gets one batch of the stream is told where the batch starts)."""
        self.ensure_setup()
        stats = self.stats
        for record, position in zip(records, itertools.count() if positions is None else positions):
            t0 = time.perf_counter()
            stats.n_in += 1
            kept = self._reject(record, self.apply_at(record, position), reject)
            stats.seconds += time.perf_counter() - t0
            if kept:
                stats.n_out += 1
                yield record


# ------------------------------------------------------------------------------------ registry
STEPS: dict[str, type[Step]] = {}


def register_step(cls: type[Step]) -> type[Step]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in STEPS and STEPS[cls.name] is not cls:
        raise ValueError(f"Two steps named {cls.name!r}")
    STEPS[cls.name] = cls
    return cls


def load_steps() -> dict[str, type[Step]]:
    """Import every module under curation.pipeline.steps so their @register_step runs."""
    import importlib
    import pkgutil

    from . import steps as steps_pkg

    for mod in pkgutil.iter_modules(steps_pkg.__path__):
        importlib.import_module(f"{steps_pkg.__name__}.{mod.name}")
    return STEPS


def get_step_class(name: str) -> type[Step]:
    steps = load_steps()
    if name not in steps:
        raise StepConfigError(f"Unknown step '{name}'. Valid steps: {', '.join(sorted(steps))}")
    return steps[name]


def build_step(name: str, options: dict[str, Any] | None = None) -> Step:
    return get_step_class(name)(**(options or {}))


# ------------------------------------------------------------------------------------ helpers
def _coerce(step: str, key: str, value: Any, hint: Any) -> Any:
    """Turn CLI/YAML strings into the option's declared type (bool, int, float, list[str])."""
    if hint is None or not isinstance(value, str):
        return value
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    target = hint
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)) and args:
        target = args[0]
        origin = typing.get_origin(target)
    try:
        if target is bool:
            low = value.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if target is int:
            return int(value)
        if target is float:
            return float(value)
        if origin in (list, tuple):
            return [v.strip() for v in value.split(",") if v.strip()]
    except ValueError:
        raise StepConfigError(f"Option {step}.{key}: cannot read {value!r} as {getattr(target, '__name__', target)}") from None
    return value


def record_text(record: Record) -> str:
    """The text a step works on: ``text``, else the joined message contents."""
    text = record.get("text")
    if text is not None:
        return text
    messages = record.get("messages") or []
    return "\n".join(str(m.get("content", "")) for m in messages)
