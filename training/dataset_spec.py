"""The filter spec of a dataset version: one definition used by the service, the form, the API and the CLI.

A spec is a plain dict stored on ``DatasetVersion.spec`` and in its manifest. ``DatasetSpec.parse`` validates
it and says what is wrong and where; ``DatasetSpec.from_pairs`` reads the CLI's ``--filter KEY=VALUE``.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from .export.base import COT_MODES

ORIGINS = ("ingested", "built", "augmented", "feedback")
DEFAULT_SEED = 13
DEFAULT_VALIDATION_RATIO = 0.1
DEFAULT_TEST_RATIO = 0.1
DEFAULT_NGRAM = 8                 # decontamination n-gram size (tokens: CJK characters or words)
DEFAULT_OVERLAP = 0.5             # a train sample is contaminated when ≥ this share of its n-grams is held out
NEAR_DUP_THRESHOLD = 0.8          # MinHash Jaccard estimate above which samples are grouped together


class DatasetSpecError(ValueError):
    """A bad filter spec: the message names the key and the valid values."""


def _list(key: str, value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    raise DatasetSpecError(f"{key}: expected a list or a comma-separated string, got {value!r}")


def _float(key: str, value: Any, lo: float, hi: float) -> float | None:
    if value in (None, ""):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise DatasetSpecError(f"{key}: expected a number between {lo} and {hi}, got {value!r}") from None
    if not lo <= f <= hi:
        raise DatasetSpecError(f"{key}: {f} is outside {lo}…{hi}")
    return f


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (None, ""):
        return False
    s = str(value).strip().lower()
    if s in ("1", "true", "yes", "on", "y"):
        return True
    if s in ("0", "false", "no", "off", "n"):
        return False
    raise DatasetSpecError(f"{key}: expected true/false, got {value!r}")


def _int(key: str, value: Any, lo: int, hi: int) -> int:
    try:
        i = int(value)
    except (TypeError, ValueError):
        raise DatasetSpecError(f"{key}: expected a whole number, got {value!r}") from None
    if not lo <= i <= hi:
        raise DatasetSpecError(f"{key}: {i} is outside {lo}…{hi}")
    return i


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    origins: list[str] = dataclasses.field(default_factory=list)      # empty = all
    labels: list[str] = dataclasses.field(default_factory=list)       # adjudicated/final labels to keep
    min_agreement: float | None = None
    adjudicated_only: bool = False
    min_quality: float | None = None
    languages: list[str] = dataclasses.field(default_factory=list)
    domains: list[str] = dataclasses.field(default_factory=list)
    pipeline_run: str = ""            # "" = none, "latest", or a run id
    seed: int = DEFAULT_SEED
    validation_ratio: float = DEFAULT_VALIDATION_RATIO
    test_ratio: float = DEFAULT_TEST_RATIO
    cot: str = "keep"
    ngram: int = DEFAULT_NGRAM
    max_overlap: float = DEFAULT_OVERLAP
    eval_sets: list[str] = dataclasses.field(default_factory=list)    # EvaluationSet names

    KEYS = ("origins", "labels", "min_agreement", "adjudicated_only", "min_quality", "languages", "domains",
            "pipeline_run", "seed", "validation_ratio", "test_ratio", "cot", "ngram", "max_overlap", "eval_sets")
    ALIASES = {"origin": "origins", "label": "labels", "language": "languages", "lang": "languages",
               "domain": "domains", "run": "pipeline_run", "eval_set": "eval_sets", "adjudicated": "adjudicated_only"}

    @classmethod
    def parse(cls, data: dict[str, Any] | None) -> "DatasetSpec":
        data = dict(data or {})
        norm: dict[str, Any] = {}
        for key, value in data.items():
            k = cls.ALIASES.get(key, key)
            if k not in cls.KEYS:
                raise DatasetSpecError(f"Unknown filter {key!r}. Valid: {', '.join(cls.KEYS)}")
            norm[k] = value
        origins = _list("origins", norm.get("origins"))
        bad = [o for o in origins if o not in ORIGINS]
        if bad:
            raise DatasetSpecError(f"origins: unknown origin(s) {', '.join(bad)}; valid: {', '.join(ORIGINS)}")
        run = str(norm.get("pipeline_run") or "").strip()
        if run and run != "latest" and not run.isdigit():
            raise DatasetSpecError(f"pipeline_run: expected 'latest' or a run id, got {run!r}")
        cot = str(norm.get("cot") or "keep").strip()
        if cot not in COT_MODES:
            raise DatasetSpecError(f"cot: expected one of {', '.join(COT_MODES)}, got {cot!r}")
        val = _float("validation_ratio", norm.get("validation_ratio", DEFAULT_VALIDATION_RATIO), 0.0, 0.9)
        test = _float("test_ratio", norm.get("test_ratio", DEFAULT_TEST_RATIO), 0.0, 0.9)
        val = DEFAULT_VALIDATION_RATIO if val is None else val
        test = DEFAULT_TEST_RATIO if test is None else test
        if val + test >= 1.0:
            raise DatasetSpecError(f"validation_ratio + test_ratio must be below 1 (got {val} + {test})")
        overlap = _float("max_overlap", norm.get("max_overlap", DEFAULT_OVERLAP), 0.01, 1.0)
        return cls(
            origins=origins,
            labels=_list("labels", norm.get("labels")),
            min_agreement=_float("min_agreement", norm.get("min_agreement"), -1.0, 1.0),
            adjudicated_only=_bool("adjudicated_only", norm.get("adjudicated_only")),
            min_quality=_float("min_quality", norm.get("min_quality"), 1.0, 5.0),
            languages=_list("languages", norm.get("languages")),
            domains=_list("domains", norm.get("domains")),
            pipeline_run=run,
            seed=_int("seed", norm.get("seed", DEFAULT_SEED), 0, 2**31 - 1),
            validation_ratio=val,
            test_ratio=test,
            cot=cot,
            ngram=_int("ngram", norm.get("ngram", DEFAULT_NGRAM), 3, 50),
            max_overlap=DEFAULT_OVERLAP if overlap is None else overlap,
            eval_sets=_list("eval_sets", norm.get("eval_sets")),
        )

    @classmethod
    def from_pairs(cls, pairs: list[str]) -> "DatasetSpec":
        """``["origin=built,ingested", "min_quality=3"]`` (the CLI's ``--filter``) → a spec."""
        data: dict[str, Any] = {}
        for pair in pairs:
            if "=" not in pair:
                raise DatasetSpecError(f"--filter {pair!r}: expected KEY=VALUE")
            key, value = pair.split("=", 1)
            data[key.strip()] = value.strip()
        return cls.parse(data)

    @property
    def needs_labels(self) -> bool:
        return bool(self.labels or self.min_agreement is not None or self.adjudicated_only or self.min_quality is not None)

    @property
    def ratios(self) -> dict[str, float]:
        return {"train": 1.0 - self.validation_ratio - self.test_ratio, "validation": self.validation_ratio,
                "test": self.test_ratio}

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.KEYS}
