"""Text generation backends for instruction building and augmentation.

``get_generator(spec).generate(prompts) -> list[str]`` where a prompt is a user message (str) or a full
chat (``[{"role", "content"}, ...]``, e.g. few-shot turns). Specs:

* ``local`` / ``local:gemma3-270m`` — the bundled multilingual small LM (offline default);
* ``local:smollm2-135m-instruct`` or ``local:/path/to/transformers/folder`` — any local causal LM;
* ``openai:http://host:port/v1#model`` — an OpenAI-compatible ``/chat/completions`` endpoint (vLLM,
  DeepSeek, Ollama, Refinery's own ``/v1``); the API key comes from ``REFINERY_GENERATOR_API_KEY``.

Generation is greedy (deterministic) and batched for local models: left padding, prompts grouped by
length, each sequence stopping on its own (``bench/augment.py`` measures what batching and the
translation cache buy).
"""
from __future__ import annotations

import dataclasses
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

Chat = list[dict[str, str]]
Prompt = str | Chat

DEFAULT_SPEC = "local:gemma3-270m"
DEFAULT_MAX_NEW_TOKENS = 128
LOCAL_BATCH_SIZE = 8
HTTP_TIMEOUT_SECONDS = 300  # local CPU servers (and the first request that loads the model) are slow
HTTP_CONCURRENCY = 4
API_KEY_ENV = "REFINERY_GENERATOR_API_KEY"


class GenerationError(RuntimeError):
    """A backend failed (bad spec, unreachable endpoint, missing model); the message says which."""


class Generator(Protocol):
    key: str

    def generate(self, prompts: list[Prompt], *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> list[str]: ...


@dataclasses.dataclass(frozen=True)
class GeneratorSpec:
    kind: str  # "local" | "openai"
    model: str  # local model name/path, or the remote model name
    base_url: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.base_url}#{self.model}" if self.base_url else f"{self.kind}:{self.model}"


def parse_spec(spec: str) -> GeneratorSpec:
    spec = (spec or "").strip() or DEFAULT_SPEC
    kind, _, rest = spec.partition(":")
    if kind == "local":
        return GeneratorSpec("local", rest.strip() or DEFAULT_SPEC.partition(":")[2])
    if kind == "openai":
        url, _, model = rest.partition("#")
        if not url.startswith(("http://", "https://")):
            raise GenerationError(f"Generator spec {spec!r}: expected openai:http(s)://host[:port]/v1#model")
        return GeneratorSpec("openai", model.strip() or "default", url.rstrip("/"))
    raise GenerationError(f"Unknown generator spec {spec!r}: use 'local[:model-or-path]' or 'openai:URL#model'")


def local_model_path(name: str) -> Path:
    """Resolve a bundled model name (preparing it once when needed) or a folder path."""
    from curation import assets

    if name == assets.MULTILINGUAL_LM:
        path = assets.multilingual_lm_dir()
        if not (path / "config.json").exists():
            assets.setup_multilingual_lm()
        return path
    candidate = Path(name)
    if candidate.is_absolute() or os.sep in name:
        if not (candidate / "config.json").exists():
            raise GenerationError(f"No transformers model folder at {candidate} (config.json missing)")
        return candidate
    path = Path(settings.MODELS_DIR) / name
    if not (path / "config.json").exists():
        try:  # the training app prepares its bundled base model on demand
            from training.selectors import base_model_path

            return Path(base_model_path(name=name))
        except ImportError:
            pass
        raise GenerationError(f"Model {name!r} not found in {settings.MODELS_DIR} (run manage.py setup_assets)")
    return path


def model_fingerprint(path: str | Path) -> str:
    """A short id of a local model folder's exact contents as loaded: its resolved path and each file's
    name, size and modification time. Caches keyed by it never serve outputs of a replaced model."""
    import hashlib

    root = Path(path).resolve()
    h = hashlib.sha256(str(root).encode())
    for f in sorted(root.iterdir()):
        if f.is_file():
            st = f.stat()
            h.update(f"\x1f{f.name}\x1f{st.st_size}\x1f{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


class LocalGenerator:
    """A local causal LM through transformers (chat template, greedy, batched with left padding)."""

    def __init__(self, path: Path, *, batch_size: int = LOCAL_BATCH_SIZE):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.path = Path(path)
        self.key = f"local:{self.path.name}"
        self.fingerprint = model_fingerprint(self.path)
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path))
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(str(self.path), dtype=torch.float32)
        self.model.eval()
        self._lock = threading.Lock()
        self._torch = torch

    @property
    def is_chat_model(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def _render(self, prompt: Prompt) -> str:
        chat = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        if self.is_chat_model:
            return self.tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        return render_transcript(chat)

    def generate(self, prompts: list[Prompt], *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> list[str]:
        texts = [self._render(p) for p in prompts]
        return self._run(texts, max_new_tokens=max_new_tokens, first_line=not self.is_chat_model)

    def complete(self, texts: list[str], *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> list[str]:
        """Raw completion of few-shot text prompts (base models); each answer ends at its first newline."""
        return self._run(texts, max_new_tokens=max_new_tokens, first_line=True)

    def _newline_ids(self) -> list[int]:
        if getattr(self, "_nl_ids", None) is None:
            # "\n" (sentencepiece), "Ċ" (byte-level BPE) or the byte token <0x0A>
            tokens = self.tokenizer.convert_ids_to_tokens(list(range(len(self.tokenizer))))
            self._nl_ids = [i for i, t in enumerate(tokens) if t and ("\n" in t or "Ċ" in t or t == "<0x0A>")]
        return self._nl_ids

    def _run(self, texts: list[str], *, max_new_tokens: int, first_line: bool) -> list[str]:
        from transformers import StoppingCriteria, StoppingCriteriaList

        torch = self._torch
        out: list[str] = [""] * len(texts)
        # Batches of similar length waste less on padding: group by token count, answer in input order.
        special = not self.is_chat_model
        lengths = [len(ids) for ids in self.tokenizer(texts, add_special_tokens=special)["input_ids"]] if texts else []
        order = sorted(range(len(texts)), key=lambda k: lengths[k])

        class _NewlineStop(StoppingCriteria):  # per sequence: stop once it has produced a newline
            def __init__(self, nl_ids, prompt_len):
                self.nl = torch.tensor(nl_ids)
                self.prompt_len = prompt_len

            def __call__(self, input_ids, scores, **kwargs):
                return torch.isin(input_ids[:, self.prompt_len:], self.nl).any(dim=1)

        with self._lock, torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                index = order[start:start + self.batch_size]
                enc = self.tokenizer([texts[k] for k in index], return_tensors="pt", padding=True,
                                     add_special_tokens=special)
                prompt_len = enc["input_ids"].shape[1]
                stop = StoppingCriteriaList([_NewlineStop(self._newline_ids(), prompt_len)]) if first_line else None
                gen = self.model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                          pad_token_id=self.tokenizer.pad_token_id, stopping_criteria=stop)
                for k, text in zip(index, self.tokenizer.batch_decode(gen[:, prompt_len:], skip_special_tokens=True)):
                    out[k] = text.strip().split(TRANSCRIPT_STOP, 1)[0] if first_line else text
        return [t.strip() for t in out]


TRANSCRIPT_STOP = "\n"


def render_transcript(chat: Chat) -> str:
    """A chat as a plain few-shot transcript for base (non-chat) models; the answer ends at a newline.

    ``system`` text heads the transcript; user/assistant turns become ``Input:``/``Output:`` lines.
    """
    parts: list[str] = []
    for m in chat:
        content = " ".join(str(m.get("content", "")).split())
        if m.get("role") == "system":
            parts.append(content + "\n\n")
        elif m.get("role") == "assistant":
            parts.append(f"Output: {content}\n\n")
        else:
            parts.append(f"Input: {content}\n")
    return "".join(parts) + "Output:"


class OpenAIGenerator:
    """POST ``{base_url}/chat/completions`` (OpenAI JSON contract), a few requests in parallel."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.key = f"openai:{self.base_url}#{model}"
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")

    def _one(self, prompt: Prompt, max_new_tokens: int) -> str:
        import requests

        chat = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = f"{self.base_url}/chat/completions"
        try:
            resp = requests.post(url, json={"model": self.model, "messages": chat, "max_tokens": max_new_tokens,
                                            "temperature": 0}, headers=headers, timeout=HTTP_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise GenerationError(f"Generator endpoint {url} unreachable: {exc}") from exc
        if resp.status_code != 200:
            raise GenerationError(f"Generator endpoint {url} answered {resp.status_code}: {resp.text[:300]}")
        try:
            return str(resp.json()["choices"][0]["message"]["content"]).strip()
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GenerationError(f"Generator endpoint {url} returned no choices[0].message.content") from exc

    def generate(self, prompts: list[Prompt], *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> list[str]:
        if len(prompts) <= 1:
            return [self._one(p, max_new_tokens) for p in prompts]
        with ThreadPoolExecutor(max_workers=HTTP_CONCURRENCY) as pool:
            return list(pool.map(lambda p: self._one(p, max_new_tokens), prompts))


_CACHE: dict[str, Any] = {}
_CACHE_LOCK = threading.Lock()


def get_generator(spec: str | GeneratorSpec | None = None) -> Generator:
    """The generator for a spec; local models are loaded once per process."""
    parsed = spec if isinstance(spec, GeneratorSpec) else parse_spec(spec or "")
    if parsed.kind == "openai":
        return OpenAIGenerator(parsed.base_url, parsed.model)
    path = local_model_path(parsed.model)
    with _CACHE_LOCK:
        gen = _CACHE.get(str(path))
        if gen is None:
            gen = _CACHE[str(path)] = LocalGenerator(path)
        return gen
