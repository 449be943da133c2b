"""Serving adapters: load base (+ adapter) once per process, answer chats (playground and /v1/chat/completions).

For production serving use vLLM with ``--enable-lora`` (see README); this in-process server is for the
playground, the augmentation backends and small deployments.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict

from .basemodels import BUNDLED_NAME, base_model_resolve
from .models.runs import Adapter

MAX_LOADED = 2          # models kept in memory per process
MAX_NEW_TOKENS_LIMIT = 1024
_lock = threading.Lock()
_loaded: OrderedDict[str, tuple] = OrderedDict()


class ServingError(Exception):
    """Bad request to the serving layer (unknown model, bad messages); the message says what."""


def serving_resolve(model: str | None) -> tuple[str, Adapter | None]:
    """``model`` → (base model name, adapter or None). Empty/"default" = the most recently promoted adapter;
    ``<collection>-a<N>`` = that adapter; a base model name = the base alone."""
    name = (model or "").strip()
    if name in ("", "default"):
        adapter = Adapter.objects.filter(promoted=True, status=Adapter.Status.READY).order_by("-promoted_at").first()
        if adapter is None:
            raise ServingError("No promoted adapter; promote one on the Adapters page or name a model.")
        return adapter.base_model, adapter
    for adapter in Adapter.objects.filter(status=Adapter.Status.READY).select_related("collection"):
        if adapter.serve_name == name:
            return adapter.base_model, adapter
    if name == BUNDLED_NAME:
        return name, None
    raise ServingError(f"Unknown model {name!r}; use a promoted adapter name like 'collection-a1' or '{BUNDLED_NAME}'.")


def model_load(base_name: str, adapter: Adapter | None):
    """(model in eval mode, tokenizer) for a base model alone or with an adapter on it — uncached.

    A full fine-tune is its own folder; a LoRA adapter goes on its base. The tokenizer is the one the
    trainer saved beside the adapter (its pad token and chat template are what training used).
    """
    from .trainer.modeling import load_model, load_tokenizer

    if adapter is not None and adapter.method == "full":
        model = load_model(adapter.folder)
    else:
        model = load_model(base_model_resolve(base_name))
        if adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter.folder))
    tok, _ = load_tokenizer(adapter.folder if adapter is not None else base_model_resolve(base_name))
    return model.eval(), tok


def _load(base_name: str, adapter: Adapter | None):
    key = f"{base_name}|{adapter.pk if adapter else ''}|{adapter.path if adapter else ''}"
    with _lock:
        if key in _loaded:
            _loaded.move_to_end(key)
            return _loaded[key]
        model, tok = model_load(base_name, adapter)
        _loaded[key] = (model, tok)
        while len(_loaded) > MAX_LOADED:
            _loaded.popitem(last=False)
        return model, tok


def validate_messages(messages) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise ServingError("messages: a non-empty list of {role, content}")
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant") \
                or not isinstance(m.get("content"), str):
            raise ServingError(f"messages[{i}]: needs role system/user/assistant and string content")
        out.append({"role": m["role"], "content": m["content"]})
    if out[-1]["role"] != "user":
        raise ServingError("the last message must be the user's")
    return out


def chat_generate(*, base_name: str, adapter: Adapter | None, conversations: list[list[dict]],
                  max_tokens: int = 128, temperature: float = 0.0) -> list[str]:
    from .trainer.modeling import generate_replies

    model, tok = _load(base_name, adapter)
    with _lock:  # one generation at a time per process (CPU-bound anyway)
        return generate_replies(model, tok, conversations, max_new_tokens=max_tokens, temperature=temperature)


def chat_completion(*, model: str | None, messages, max_tokens: int = 128, temperature: float = 0.0) -> dict:
    """An OpenAI ``chat.completion`` object for one request."""
    msgs = validate_messages(messages)
    if not isinstance(max_tokens, int) or not 1 <= max_tokens <= MAX_NEW_TOKENS_LIMIT:
        raise ServingError(f"max_tokens: an integer from 1 to {MAX_NEW_TOKENS_LIMIT}")
    try:
        temperature = float(temperature)
    except (TypeError, ValueError):
        raise ServingError("temperature: a number") from None
    base_name, adapter = serving_resolve(model)
    _, tok = _load(base_name, adapter)
    reply = chat_generate(base_name=base_name, adapter=adapter, conversations=[msgs], max_tokens=max_tokens,
                          temperature=temperature)[0]
    prompt_text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    prompt_tokens = len(tok(prompt_text, add_special_tokens=False)["input_ids"])
    completion_tokens = len(tok(reply, add_special_tokens=False)["input_ids"])
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
        "model": adapter.serve_name if adapter else base_name,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                     "finish_reason": "length" if completion_tokens >= max_tokens else "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def served_models() -> list[dict]:
    out = [{"id": BUNDLED_NAME, "object": "model", "owned_by": "refinery"}]
    for a in Adapter.objects.filter(status=Adapter.Status.READY).select_related("collection"):
        out.append({"id": a.serve_name, "object": "model", "owned_by": "refinery", "promoted": a.promoted})
    return out
