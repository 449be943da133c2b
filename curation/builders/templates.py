"""Record templates: ``{field}`` placeholders filled from a structured record (one source of the format).

``用户年龄:{age},症状:{symptoms}`` with ``{"age": 45, "symptoms": ["头痛", "发烧"]}`` → ``用户年龄:45,症状:头痛、发烧``.
Nested fields use dots (``{patient.age}``). Lists are joined with ``、`` in Chinese templates and ``, ``
otherwise. A missing field is an error naming the field; ``{{`` / ``}}`` are literal braces.
"""
from __future__ import annotations

import dataclasses
import string
from typing import Any

from .cot import cot_format



class TemplateError(ValueError):
    """A template cannot be rendered for a record (missing field, bad syntax); the message says which."""


def template_fields(template: str) -> list[str]:
    try:
        return [f for _, f, _, _ in string.Formatter().parse(template) if f]
    except ValueError as exc:
        raise TemplateError(f"bad template syntax: {exc}") from None


def _lookup(record: dict, field: str) -> Any:
    value: Any = record
    for part in field.strip().split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise TemplateError(f"missing field '{field}'")
    return value


def _text(value: Any, cjk: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ("、" if cjk else ", ").join(_text(v, cjk) for v in value)
    if isinstance(value, dict):
        return ("，" if cjk else ", ").join(f"{k}: {_text(v, cjk)}" for k, v in value.items())
    return str(value).strip()


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def render(template: str, record: dict) -> str:
    cjk = has_cjk(template)
    fields = template_fields(template)
    values = {f: _text(_lookup(record, f), cjk) for f in fields}
    out = []
    for literal, field, spec, conv in string.Formatter().parse(template):
        out.append(literal)
        if field:
            out.append(values[field])
    return "".join(out)


@dataclasses.dataclass
class TemplateSpec:
    instruction: str
    response: str = ""
    system: str = ""
    intent_field: str = ""
    cot: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_model(cls, obj) -> "TemplateSpec":
        return cls(obj.instruction, obj.response, obj.system, obj.intent_field, dict(obj.cot or {}))

    def validate(self) -> None:
        if not self.instruction.strip():
            raise TemplateError("the instruction template is empty")
        for part in (self.instruction, self.response, self.system):
            template_fields(part)
        if not self.response.strip() and not self.cot:
            raise TemplateError("give a response template or chain-of-thought fields")


@dataclasses.dataclass
class Built:
    messages: list[dict[str, str]]
    intent: str = ""
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)


def build_from_record(spec: TemplateSpec, record: dict) -> Built:
    """One sample's messages from one record; ``meta["cot"]`` when the response is chain-of-thought."""
    messages = []
    if spec.system.strip():
        messages.append({"role": "system", "content": render(spec.system, record)})
    instruction = render(spec.instruction, record)
    messages.append({"role": "user", "content": instruction})
    meta: dict[str, Any] = {"record": record}
    if spec.cot:
        response, cot = cot_format(record, spec.cot, chinese=has_cjk(spec.instruction))
        meta["cot"] = cot
        if spec.response.strip():  # a response template wraps the conclusion
            response = f"{response}\n{render(spec.response, record)}"
            meta["cot"]["answer"] = f"{cot['answer']}\n{render(spec.response, record)}"
    else:
        response = render(spec.response, record)
    if not instruction.strip() or not response.strip():
        raise TemplateError("the rendered instruction or response is empty")
    messages.append({"role": "assistant", "content": response})
    intent = _text(_lookup(record, spec.intent_field), False) if spec.intent_field else ""
    return Built(messages, intent[:100], meta)
