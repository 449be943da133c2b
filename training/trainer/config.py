"""Run configuration: the single definition of every training setting and its default.

A config is a plain dict on disk (``config.json``), editable as YAML in the run form, overridable with
``--set lora.r=8``. :func:`config_validate` turns a dict into a checked :class:`RunConfig` or raises
:class:`ConfigError` naming the field.
"""
from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

METHODS = ("lora", "full", "qlora")
SCHEDULERS = ("cosine", "linear", "constant")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
TARGET_PRESETS = {"attention": ["q_proj", "v_proj"], "all-linear": "all-linear"}


class ConfigError(ValueError):
    """A bad setting; the message names the field."""


@dataclass
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.1
    target_modules: Any = field(default_factory=lambda: ["q_proj", "v_proj"])  # list or "all-linear"
    layers: list[int] | None = None  # restrict LoRA to these decoder layers (layer-importance suggestion)


@dataclass
class RunConfig:
    # what to train
    base_model: str = ""             # folder or hub id (resolved by the web app before launch)
    train_file: str = ""
    validation_file: str = ""
    test_file: str = ""
    output_dir: str = ""
    cache_dir: str = ""              # tokenised-dataset cache (keyed by data + tokenizer + settings)
    method: str = "lora"             # lora | full | qlora (GPU only)
    lora: LoraSettings = field(default_factory=LoraSettings)
    # optimisation
    learning_rate: float = 1e-4
    scheduler: str = "cosine"
    warmup_ratio: float = 0.05
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    batch_size: int = 4              # packed rows of max_seq_len tokens per micro-batch
    grad_accum: int = 1
    epochs: float = 3.0
    max_steps: int = 0               # > 0 overrides epochs
    max_seq_len: int = 512
    packing: bool = True             # padding-free packing, no cross-contamination
    label_smoothing: float = 0.0
    precision: str = "auto"          # auto = bf16 on GPUs that support it, else fp32
    gradient_checkpointing: bool = False
    early_stopping_patience: int = 3  # evaluations without val-loss improvement; 0 = off
    eval_every: int = 0              # steps between validation evaluations; 0 = about 5 per run
    save_every: int = 50             # steps between checkpoints
    keep_checkpoints: int = 2
    seed: int = 42
    device: str = "auto"             # auto | cpu | cuda
    # evaluation
    eval_max_samples: int = 64       # loss/perplexity on at most this many samples per split
    eval_generate_samples: int = 8   # BLEU/ROUGE/EM/F1 on this many generated answers
    eval_max_new_tokens: int = 64
    # execution
    resume: bool = False             # continue from the last checkpoint in output_dir

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULTS = RunConfig().to_dict()
USER_FIELDS = [k for k in DEFAULTS if k not in ("base_model", "train_file", "validation_file", "test_file",
                                                "output_dir", "cache_dir", "resume")]


def _coerce(value: Any, default: Any, name: str) -> Any:
    if default is None or value is None:
        return value
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if isinstance(default, int):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, str):
            return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected {type(default).__name__}, got {value!r}") from None
    return value


def config_validate(data: dict) -> RunConfig:
    """A dict (possibly partial) → checked RunConfig. Unknown keys are errors (typos must not pass)."""
    data = copy.deepcopy(data or {})
    unknown = set(data) - set(DEFAULTS)
    if unknown:
        raise ConfigError(f"Unknown setting(s): {', '.join(sorted(unknown))}")
    lora_in = data.pop("lora", None) or {}
    if not isinstance(lora_in, dict):
        raise ConfigError("lora: expected a mapping")
    unknown = set(lora_in) - set(DEFAULTS["lora"])
    if unknown:
        raise ConfigError(f"Unknown setting(s): {', '.join('lora.' + k for k in sorted(unknown))}")
    lora = LoraSettings()
    for f in fields(LoraSettings):
        if f.name in lora_in:
            setattr(lora, f.name, _coerce(lora_in[f.name], getattr(lora, f.name), f"lora.{f.name}"))
    cfg = RunConfig(lora=lora)
    for f in fields(RunConfig):
        if f.name in data:
            setattr(cfg, f.name, _coerce(data[f.name], getattr(cfg, f.name), f.name))
    _check(cfg)
    return cfg


def _check(c: RunConfig) -> None:
    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise ConfigError(msg)

    need(c.method in METHODS, f"method: one of {', '.join(METHODS)}")
    need(c.scheduler in SCHEDULERS, f"scheduler: one of {', '.join(SCHEDULERS)}")
    need(c.precision in PRECISIONS, f"precision: one of {', '.join(PRECISIONS)}")
    need(c.device in ("auto", "cpu", "cuda"), "device: auto, cpu or cuda")
    need(0 < c.learning_rate < 1, "learning_rate: must be between 0 and 1")
    need(0 <= c.warmup_ratio < 1, "warmup_ratio: must be in [0, 1)")
    need(c.weight_decay >= 0, "weight_decay: must be ≥ 0")
    need(c.max_grad_norm >= 0, "max_grad_norm: must be ≥ 0 (0 = no clipping)")
    need(c.batch_size >= 1, "batch_size: must be ≥ 1")
    need(c.grad_accum >= 1, "grad_accum: must be ≥ 1")
    need(c.max_steps > 0 or c.epochs > 0, "epochs or max_steps must be > 0")
    need(16 <= c.max_seq_len <= 131072, "max_seq_len: must be between 16 and 131072")
    need(0 <= c.label_smoothing < 1, "label_smoothing: must be in [0, 1)")
    need(c.early_stopping_patience >= 0, "early_stopping_patience: must be ≥ 0")
    need(c.save_every >= 1, "save_every: must be ≥ 1")
    need(c.keep_checkpoints >= 1, "keep_checkpoints: must be ≥ 1")
    need(c.eval_every >= 0, "eval_every: must be ≥ 0")
    if c.method in ("lora", "qlora"):
        need(c.lora.r >= 1, "lora.r: must be ≥ 1")
        need(c.lora.alpha >= 1, "lora.alpha: must be ≥ 1")
        need(0 <= c.lora.dropout < 1, "lora.dropout: must be in [0, 1)")
        tm = c.lora.target_modules
        if isinstance(tm, str):
            tm = TARGET_PRESETS.get(tm, tm)
            if tm != "all-linear":
                tm = [t.strip() for t in tm.split(",") if t.strip()]
            c.lora.target_modules = tm
        need(tm == "all-linear" or (isinstance(tm, list) and tm and all(isinstance(t, str) for t in tm)),
             "lora.target_modules: a list of module names or 'all-linear'")
        if c.lora.layers is not None:
            need(isinstance(c.lora.layers, list) and all(isinstance(i, int) and i >= 0 for i in c.lora.layers),
                 "lora.layers: a list of layer indices")
    if c.method == "qlora":
        need(c.device != "cpu", "method qlora needs a CUDA GPU (bitsandbytes 4-bit); use lora on CPU")
        import importlib.util

        need(importlib.util.find_spec("bitsandbytes") is not None, "method qlora needs the bitsandbytes package")
        try:
            import torch

            need(torch.cuda.is_available(), "method qlora needs a CUDA GPU; none is available here")
        except ImportError:  # pragma: no cover
            raise ConfigError("method qlora needs torch with CUDA") from None
    if c.precision in ("bf16", "fp16"):
        import torch

        need(torch.cuda.is_available(), f"precision {c.precision}: needs a GPU; use fp32 or auto on CPU")


def config_apply_overrides(data: dict, assignments: list[str]) -> dict:
    """Apply ``key.sub=value`` strings (values parsed as YAML scalars/lists) to a config dict."""
    import yaml

    out = copy.deepcopy(data)
    for item in assignments or []:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ConfigError(f"--set {item!r}: empty key")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: {exc}") from None
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item!r}: {p} is not a mapping")
        node[parts[-1]] = value
    return out


def config_from_yaml(text: str) -> dict:
    import yaml

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError("YAML: expected a mapping of settings")
    return data


def config_to_yaml(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def config_load(path) -> RunConfig:
    with open(path, encoding="utf-8") as fh:
        return config_validate(json.load(fh))
