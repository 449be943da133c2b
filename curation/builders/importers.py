"""jsonl/csv records → Sample messages or Document text: the one place that knows record shapes.

Instruction records (→ Sample), checked in this order:

* ``{"messages": [{"role", "content"}, ...]}`` (OpenAI chat format)
* conversations: ``{"conversations"|"conversation"|"dialogue"|"turns"|"utterances": [...]}`` where each
  utterance has a role (``role``/``speaker``/``from``) and text (``text``/``content``/``value``), with
  optional per-utterance annotations ``intent`` and ``entities`` (ShareGPT's from/value works too)
* ``{"instruction", "input"?, "output"}`` (Alpaca)
* ``{"prompt"|"question"|"query", "response"|"completion"|"answer"|"output"}``

Any of them may carry ``system``, ``id``, ``intent``, ``entities``, ``domain``, ``language``; other fields
go to ``meta``. Document records: a text field ``text``/``content``/``body`` (+ optional ``title``).

Entities are normalised to ``{type: [value, ...]}``; the annotated spans (with ``utterance``, the index
of the message they are in) are kept in ``extra["meta"]["entity_spans"]``. Per-utterance intents, when
utterances differ, go to ``extra["meta"]["utterance_intents"]``: one entry per message ("" for none).
"""
from __future__ import annotations

import json
from typing import Any

ROLE_ALIASES = {
    "system": "system",
    "user": "user", "human": "user", "customer": "user", "client": "user", "patient": "user", "question": "user",
    "assistant": "assistant", "gpt": "assistant", "bot": "assistant", "agent": "assistant", "support": "assistant",
    "doctor": "assistant", "advisor": "assistant", "model": "assistant", "answer": "assistant",
}
CONVERSATION_KEYS = ("conversations", "conversation", "dialogue", "turns", "utterances")
MESSAGE_ROLE_KEYS = ("role", "speaker", "from")
MESSAGE_TEXT_KEYS = ("content", "text", "value", "utterance")
PROMPT_KEYS = ("prompt", "question", "query")
RESPONSE_KEYS = ("response", "completion", "answer", "output")
DOCUMENT_TEXT_KEYS = ("text", "content", "body")
# Fields consumed by the mapping (everything else is kept in meta).
_KNOWN = set(CONVERSATION_KEYS) | set(PROMPT_KEYS) | set(RESPONSE_KEYS) | {
    "messages", "instruction", "input", "system", "id", "intent", "entities", "domain", "language", "title",
} | set(DOCUMENT_TEXT_KEYS)


class RecordError(ValueError):
    """The record looks like an instruction/document record but is malformed; the message says how."""


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)):
        return str(value)
    raise RecordError(f"expected text, got {type(value).__name__}")


def _first(record: dict, keys) -> tuple[str | None, str]:
    for key in keys:
        if key in record and _str(record[key]) != "":
            return key, _str(record[key])
    return None, ""


def _entities(value: Any, *, spans: list, utterance: int | None = None) -> dict[str, list[str]]:
    """Normalise entity annotations ({type: value(s)} or [{type|label|entity, value|text, start, end}])."""
    out: dict[str, list[str]] = {}
    if value in (None, "", [], {}):
        return out
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise RecordError("entities must be a JSON object or list") from None
    if isinstance(value, dict):
        for etype, vals in value.items():
            for v in vals if isinstance(vals, list) else [vals]:
                out.setdefault(str(etype), []).append(_str(v))
        return out
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, dict):
                raise RecordError("each entity must be an object with a type and a value")
            etype = item.get("type") or item.get("label") or item.get("entity")
            val = item.get("value") if item.get("value") is not None else item.get("text")
            if not etype or val is None:
                raise RecordError("each entity needs a type (type/label/entity) and a value (value/text)")
            out.setdefault(str(etype), []).append(_str(val))
            span = {"type": str(etype), "value": _str(val)}
            for k in ("start", "end"):
                if k in item:
                    span[k] = item[k]
            if utterance is not None:
                span["utterance"] = utterance
            spans.append(span)
        return out
    raise RecordError("entities must be an object or a list")


def _merge(into: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for k, vals in more.items():
        bucket = into.setdefault(k, [])
        bucket.extend(v for v in vals if v not in bucket)


def _role(value: Any, index: int) -> str:
    role = ROLE_ALIASES.get(_str(value).lower())
    if role is None:
        raise RecordError(f"message {index + 1}: unknown role {value!r} (use system/user/assistant or "
                          f"{', '.join(sorted(k for k in ROLE_ALIASES if k not in ('system', 'user', 'assistant')))})")
    return role


def _conversation(turns: Any, *, spans: list) -> tuple[list[dict], dict[str, list[str]], list[str]]:
    if isinstance(turns, str):
        try:
            turns = json.loads(turns)
        except json.JSONDecodeError:
            raise RecordError("messages/conversation must be a JSON list") from None
    if not isinstance(turns, list) or not turns:
        raise RecordError("messages/conversation must be a non-empty list")
    messages, entities, intents = [], {}, []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise RecordError(f"message {i + 1}: expected an object with a role and text")
        role_key = next((k for k in MESSAGE_ROLE_KEYS if k in turn), None)
        text_key = next((k for k in MESSAGE_TEXT_KEYS if k in turn), None)
        if role_key is None or text_key is None:
            raise RecordError(f"message {i + 1}: needs a role ({'/'.join(MESSAGE_ROLE_KEYS)}) and text "
                              f"({'/'.join(MESSAGE_TEXT_KEYS)})")
        content = _str(turn[text_key])
        if not content:
            raise RecordError(f"message {i + 1}: empty text")
        messages.append({"role": _role(turn[role_key], i), "content": content})
        intents.append(_str(turn.get("intent")))
        _merge(entities, _entities(turn.get("entities"), spans=spans, utterance=i))
    if not any(m["role"] == "user" for m in messages) or not any(m["role"] == "assistant" for m in messages):
        raise RecordError("a conversation needs at least one user and one assistant message")
    return messages, entities, intents


def _extra(record: dict, *, entities: dict, spans: list, intents: list[str]) -> dict:
    meta = {k: v for k, v in record.items() if k not in _KNOWN}
    if spans:
        meta["entity_spans"] = spans
    if len({i for i in intents if i}) > 1:
        meta["utterance_intents"] = intents
    return {
        "external_id": _str(record.get("id"))[:200],
        "intent": (_str(record.get("intent")) or next((i for i in intents if i), ""))[:100],
        "entities": entities,
        "domain": _str(record.get("domain"))[:50],
        "language": _str(record.get("language"))[:16],
        "meta": meta,
    }


def record_to_messages(record: dict) -> tuple[list[dict], dict] | None:
    """Map an instruction record to ``(messages, extra_fields)``; None if it is not one.

    ``extra_fields`` has external_id, intent, entities, domain, language, meta (Sample field names).
    Raises RecordError when the record is an instruction record but malformed.
    """
    if not isinstance(record, dict):
        raise RecordError(f"expected a JSON object, got {type(record).__name__}")
    spans: list = []
    entities = _entities(record.get("entities"), spans=spans)
    intents: list[str] = []
    system = _str(record.get("system"))
    conv_key = "messages" if "messages" in record else next((k for k in CONVERSATION_KEYS if k in record), None)
    if conv_key is not None:
        messages, conv_entities, intents = _conversation(record[conv_key], spans=spans)
        _merge(entities, conv_entities)
    elif _str(record.get("instruction")):
        _, output = _first(record, RESPONSE_KEYS)
        if not output:
            raise RecordError("an instruction record needs an output (output/response/answer)")
        user = _str(record["instruction"])
        if _str(record.get("input")):
            user = f"{user}\n\n{_str(record['input'])}"
        messages = [{"role": "user", "content": user}, {"role": "assistant", "content": output}]
    else:
        pkey, prompt = _first(record, PROMPT_KEYS)
        rkey, response = _first(record, RESPONSE_KEYS)
        if pkey is None and rkey is None:
            return None
        if not prompt or not response:
            missing = "response (response/completion/answer/output)" if prompt else "prompt (prompt/question/query)"
            raise RecordError(f"a prompt/response record needs a {missing}")
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
    if system and not any(m["role"] == "system" for m in messages):
        messages.insert(0, {"role": "system", "content": system})
        for span in spans:  # utterance indexes count messages
            if "utterance" in span:
                span["utterance"] += 1
        if intents:
            intents.insert(0, "")
    return messages, _extra(record, entities=entities, spans=spans, intents=intents)


def record_to_document(record: dict) -> tuple[str, dict] | None:
    """Map a document record to ``(text, extra_fields)`` (title, external_id, language, domain, meta); None if no text field."""
    if not isinstance(record, dict):
        raise RecordError(f"expected a JSON object, got {type(record).__name__}")
    key, text = _first(record, DOCUMENT_TEXT_KEYS)
    if key is None:
        return None
    meta = {k: v for k, v in record.items() if k not in _KNOWN}
    return text, {
        "title": _str(record.get("title"))[:500],
        "external_id": _str(record.get("id"))[:200],
        "language": _str(record.get("language"))[:16],
        "domain": _str(record.get("domain"))[:50],
        "meta": meta,
    }


def record_map(record: dict) -> tuple[str, Any, dict]:
    """``("sample", messages, extra)`` or ``("document", text, extra)``; RecordError when neither fits."""
    mapped = record_to_messages(record)
    if mapped is not None:
        return "sample", mapped[0], mapped[1]
    doc = record_to_document(record)
    if doc is not None:
        return "document", doc[0], doc[1]
    raise RecordError("no text field (text/content/body) and no instruction fields (messages, conversation, "
                      "instruction/output, prompt/response)")
