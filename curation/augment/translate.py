"""Translation backends for back-translation, batched, behind a persistent cache.

Backends (pick with a spec string, ``translator_from_spec``):

* ``lm`` / ``lm:<generator spec>`` — few-shot prompting of a text generator (``curation.generation``):
  ``lm`` is the bundled multilingual small LM (offline default); ``lm:openai:http://host/v1#model``
  sends the same few-shot chat to an OpenAI-compatible endpoint.
* ``seq2seq:<folder>`` or ``seq2seq:zh-en=<folder>,en-zh=<folder>`` — a transformers seq2seq model from
  a local path (Marian, NLLB). One folder serves every direction (multilingual models), or one folder
  per direction.

``CachedTranslator`` wraps any backend with ``TranslationCache`` (SQLite under ``DATA_DIR/cache``):
repeated sentences are never translated twice, across runs and processes. The cache key holds the
backend's ``cache_key``: for local models a fingerprint of the folder's contents
(``curation.generation.model_fingerprint``), so a retrained or replaced model never gets old outputs.
"""
from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path
from typing import Protocol

from django.conf import settings

LANGUAGE_NAMES = {"zh": "Chinese", "en": "English"}
PIVOT = {"zh": "en", "en": "zh"}
TRANSLATE_MAX_NEW_TOKENS = 96
SEQ2SEQ_BATCH_SIZE = 16
# Few-shot pairs for LM translation (customer service, medical, finance — the app's domains).
FEW_SHOT = [
    ("我的信用卡丢了,怎么办?", "I lost my credit card, what should I do?"),
    ("请问这个药一天吃几次?", "How many times a day should I take this medicine?"),
    ("我想把订单的收货地址改一下。", "I would like to change the shipping address of my order."),
]


def parroted_example(source: str, translation: str) -> bool:
    """True when a few-shot LM answered with one of the prompt's examples instead of translating."""
    flat = " ".join(translation.split())
    return any(flat in pair and " ".join(source.split()) not in pair for pair in FEW_SHOT)


class TranslationError(RuntimeError):
    pass


class Translator(Protocol):
    key: str

    def translate(self, texts: list[str], *, src: str, tgt: str) -> list[str]: ...


def _check_pair(src: str, tgt: str) -> None:
    if src not in LANGUAGE_NAMES or tgt not in LANGUAGE_NAMES or src == tgt:
        raise TranslationError(f"Unsupported translation direction {src}->{tgt} (supported: zh<->en)")


def few_shot_chat(text: str, *, src: str, tgt: str) -> list[dict[str, str]]:
    """The few-shot prompt: an instruction, example pairs as turns, then the text."""
    _check_pair(src, tgt)
    idx = (0, 1) if src == "zh" else (1, 0)
    chat = [{"role": "system", "content": f"Translate {LANGUAGE_NAMES[src]} to {LANGUAGE_NAMES[tgt]}. "
                                          "Keep numbers and bracketed placeholders unchanged."}]
    for pair in FEW_SHOT:
        chat += [{"role": "user", "content": pair[idx[0]]}, {"role": "assistant", "content": pair[idx[1]]}]
    chat.append({"role": "user", "content": text})
    return chat


def few_shot_completion(text: str, *, src: str, tgt: str) -> str:
    """The same examples as a labelled transcript for base (non-chat) LMs: ``Chinese: …\nEnglish:``."""
    _check_pair(src, tgt)
    idx = (0, 1) if src == "zh" else (1, 0)
    s_name, t_name = LANGUAGE_NAMES[src], LANGUAGE_NAMES[tgt]
    shots = "".join(f"{s_name}: {pair[idx[0]]}\n{t_name}: {pair[idx[1]]}\n\n" for pair in FEW_SHOT)
    return f"{shots}{s_name}: {text}\n{t_name}:"


class LMTranslator:
    """Translate by few-shot prompting a generator (bundled LM or an OpenAI-compatible endpoint)."""

    def __init__(self, generator_spec: str = ""):
        from curation.generation import get_generator

        self.generator = get_generator(generator_spec or None)
        self.key = f"lm/{self.generator.key}"
        fingerprint = getattr(self.generator, "fingerprint", "")
        self.cache_key = f"{self.key}@{fingerprint}" if fingerprint else self.key

    def translate(self, texts: list[str], *, src: str, tgt: str) -> list[str]:
        flat = [" ".join(t.split()) for t in texts]
        if hasattr(self.generator, "complete") and not self.generator.is_chat_model:
            prompts = [few_shot_completion(t, src=src, tgt=tgt) for t in flat]
            return self.generator.complete(prompts, max_new_tokens=TRANSLATE_MAX_NEW_TOKENS)
        prompts = [few_shot_chat(t, src=src, tgt=tgt) for t in flat]
        return self.generator.generate(prompts, max_new_tokens=TRANSLATE_MAX_NEW_TOKENS)


class Seq2SeqTranslator:
    """A transformers seq2seq model (Marian, NLLB …) from local folders, batched greedy decoding."""

    def __init__(self, paths: dict[tuple[str, str] | None, str | Path], *, batch_size: int = SEQ2SEQ_BATCH_SIZE):
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        from curation.generation import model_fingerprint

        self._torch = torch
        self.batch_size = batch_size
        self._models: dict[tuple[str, str] | None, tuple] = {}
        for direction, path in paths.items():
            path = Path(path)
            if not (path / "config.json").exists():
                raise TranslationError(f"No seq2seq model folder at {path} (config.json missing)")
            tok = AutoTokenizer.from_pretrained(str(path))
            model = AutoModelForSeq2SeqLM.from_pretrained(str(path))
            model.eval()
            self._models[direction] = (tok, model)
        ordered = sorted(paths.items(), key=lambda kv: str(kv[0]))
        self.key = "seq2seq/" + ",".join(f"{'-'.join(d) if d else '*'}={Path(p).name}" for d, p in ordered)
        self.cache_key = "seq2seq/" + ",".join(
            f"{'-'.join(d) if d else '*'}={model_fingerprint(p)}" for d, p in ordered)

    def translate(self, texts: list[str], *, src: str, tgt: str) -> list[str]:
        _check_pair(src, tgt)
        entry = self._models.get((src, tgt)) or self._models.get(None)
        if entry is None:
            raise TranslationError(f"No seq2seq model configured for {src}->{tgt}")
        tok, model = entry
        out: list[str] = [""] * len(texts)
        todo = [k for k, t in enumerate(texts) if t.strip()]  # an empty input would reach the model as 0 tokens
        with self._torch.inference_mode():
            for start in range(0, len(todo), self.batch_size):
                index = todo[start:start + self.batch_size]
                batch = [texts[k] for k in index]
                enc = tok(batch, return_tensors="pt", padding=True, truncation=True,
                          max_length=min(256, getattr(model.config, "max_position_embeddings", 256)))
                limit = getattr(model.config, "max_position_embeddings", None) or TRANSLATE_MAX_NEW_TOKENS + 1
                gen = model.generate(**enc, max_new_tokens=min(TRANSLATE_MAX_NEW_TOKENS, limit - 1), num_beams=1,
                                     do_sample=False)
                for k, t in zip(index, tok.batch_decode(gen, skip_special_tokens=True)):
                    out[k] = t.strip()
        return out


class TranslationCache:
    """Persistent (SQLite) cache: (backend key, src, tgt, text) -> translation."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else Path(settings.DATA_DIR) / "cache" / "translations.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS translation (key TEXT PRIMARY KEY, output TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        return con

    @staticmethod
    def make_key(backend: str, src: str, tgt: str, text: str) -> str:
        return hashlib.sha256(f"{backend}\x1f{src}\x1f{tgt}\x1f{text}".encode()).hexdigest()

    def get_many(self, keys: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._lock, self._connect() as con:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                rows = con.execute(f"SELECT key, output FROM translation WHERE key IN ({','.join('?' * len(chunk))})",
                                   chunk).fetchall()
                found.update(rows)
        return found

    def put_many(self, items: dict[str, str]) -> None:
        if not items:
            return
        with self._lock, self._connect() as con:
            con.executemany("INSERT OR REPLACE INTO translation (key, output) VALUES (?, ?)", list(items.items()))

    def __len__(self) -> int:
        with self._connect() as con:
            return con.execute("SELECT COUNT(*) FROM translation").fetchone()[0]


class CachedTranslator:
    """Any translator behind the persistent cache; counts hits and misses."""

    def __init__(self, inner: Translator, cache: TranslationCache | None = None):
        self.inner = inner
        self.cache = cache if cache is not None else TranslationCache()
        self.key = inner.key
        self.cache_key = getattr(inner, "cache_key", inner.key)
        self.hits = 0
        self.misses = 0

    def translate(self, texts: list[str], *, src: str, tgt: str) -> list[str]:
        keys = [TranslationCache.make_key(self.cache_key, src, tgt, t) for t in texts]
        known = self.cache.get_many(keys)
        todo: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k not in known and k not in todo:
                todo[k] = t
        self.hits += len(texts) - len(todo)
        self.misses += len(todo)
        if todo:
            outputs = self.inner.translate(list(todo.values()), src=src, tgt=tgt)
            fresh = dict(zip(todo.keys(), outputs))
            self.cache.put_many(fresh)
            known.update(fresh)
        return [known[k] for k in keys]


def _backend_spec(spec: str) -> tuple[str, str]:
    """(kind, rest) of a backend spec, checked without loading anything (raises TranslationError)."""
    kind, _, rest = (spec or "lm").strip().partition(":")
    if kind not in ("lm", "seq2seq"):
        raise TranslationError(f"Unknown translation backend {spec!r}: use lm[:generator], seq2seq:PATH")
    if kind == "seq2seq" and not rest:
        raise TranslationError("seq2seq backend needs a folder: seq2seq:/path or seq2seq:zh-en=/p1,en-zh=/p2")
    return kind, rest


def check_backend_spec(spec: str) -> None:
    """ValueError when ``spec`` is not a backend spec (the syntax only; models load on first use)."""
    try:
        _backend_spec(spec)
    except TranslationError as exc:
        raise ValueError(str(exc)) from None


def translator_from_spec(spec: str = "", *, cache: bool = True) -> Translator:
    kind, rest = _backend_spec(spec)
    if kind == "lm":
        inner: Translator = LMTranslator(rest)
    else:
        paths: dict[tuple[str, str] | None, str] = {}
        for part in rest.split(","):
            direction, eq, path = part.partition("=")
            if eq:
                s, _, t = direction.strip().partition("-")
                paths[(s, t)] = path.strip()
            else:
                paths[None] = direction.strip()
        inner = Seq2SeqTranslator(paths)
    return CachedTranslator(inner) if cache else inner


def detect_language(text: str) -> str:
    """zh when CJK characters dominate the letters, else en (the two languages we back-translate)."""
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return "zh" if cjk >= max(1, latin // 4) else "en"
