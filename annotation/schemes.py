"""Label schemes: the one source of truth for what annotators fill in.

A scheme is a list of fields. From it come: validation of a submitted label (built-in UI, API,
Label Studio pull), the Label Studio XML config, the conversion of Label Studio results to our
label dicts (and back), and which fields agreement is computed on, at which level.

Field types
- ``rating``   — ordinal 1..max (the SFT rubric: relevance / accuracy / fluency)
- ``choice``   — one of ``choices`` (intent classification …)
- ``decision`` — accept / reject / edit the response; "edit" requires the edited text in ``edit_field``
- ``spans``    — entity spans [{start, end, label}] over the displayed text
- ``taxonomy`` — hierarchical label, a path through ``tree`` such as "symptom / fever / rest"

A label is a dict: field name → value (plus ``edit_field`` → text when the decision is "edit").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

RUBRIC_FIELDS = ("relevance", "accuracy", "fluency")
DECISIONS = ("accept", "reject", "edit")
PATH_SEP = " / "
TEXT_NAME = "text"  # the Label Studio object every control points at ($text)
FIELD_TYPES = ("rating", "choice", "decision", "spans", "taxonomy")


class SchemeError(ValueError):
    """The scheme definition itself is invalid."""


class LabelError(ValueError):
    """A submitted label does not fit the scheme; ``errors`` maps field name → message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: str = ""
    required: bool = True
    max: int = 5                                  # rating
    choices: tuple[str, ...] = ()                 # choice / decision
    labels: tuple[str, ...] = ()                  # spans
    tree: dict = field(default_factory=dict)      # taxonomy: {"symptom": {"fever": {}, ...}, ...}
    edit_field: str = "edited_response"           # decision

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    @property
    def level(self) -> str | None:
        """Measurement level for agreement (None: not compared)."""
        return {"rating": "ordinal", "choice": "nominal", "decision": "nominal", "taxonomy": "nominal"}.get(self.type)

    @property
    def categories(self) -> list:
        if self.type == "rating":
            return list(range(1, self.max + 1))
        if self.type in ("choice", "decision"):
            return list(self.choices)
        if self.type == "taxonomy":
            return taxonomy_paths(self.tree)
        return []

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.label:
            d["label"] = self.label
        if not self.required:
            d["required"] = False
        if self.type == "rating":
            d["max"] = self.max
        if self.type in ("choice", "decision"):
            d["choices"] = list(self.choices)
        if self.type == "decision":
            d["edit_field"] = self.edit_field
        if self.type == "spans":
            d["labels"] = list(self.labels)
        if self.type == "taxonomy":
            d["tree"] = self.tree
        return d


def _normalise_tree(tree: Any, where: str) -> dict:
    """Accept {"a": {"b": {}}}, {"a": ["b", "c"]} or ["a", "b"]; return nested dicts."""
    if isinstance(tree, list):
        out = {}
        for x in tree:
            if not isinstance(x, str) or not x.strip():
                raise SchemeError(f"{where}: tree leaves must be non-empty strings, got {x!r}")
            out[x.strip()] = {}
        return out
    if isinstance(tree, dict):
        return {str(k).strip(): _normalise_tree(v or {}, f"{where}/{k}") for k, v in tree.items()}
    raise SchemeError(f"{where}: tree must be a dict or a list, got {type(tree).__name__}")


def taxonomy_paths(tree: dict, prefix: tuple[str, ...] = ()) -> list[str]:
    """Every node as a path ("symptom", "symptom / fever", …), depth first."""
    out = []
    for name, sub in tree.items():
        path = prefix + (name,)
        out.append(PATH_SEP.join(path))
        out.extend(taxonomy_paths(sub, path))
    return out


@dataclass(frozen=True)
class Scheme:
    fields: tuple[Field, ...]

    # ---------------------------------------------------------------------------- parse / dump
    @classmethod
    def from_dict(cls, data: dict) -> "Scheme":
        if not isinstance(data, dict) or not isinstance(data.get("fields"), list) or not data["fields"]:
            raise SchemeError("A scheme needs a non-empty 'fields' list.")
        fields, seen = [], set()
        for i, raw in enumerate(data["fields"]):
            where = f"fields[{i}]"
            if not isinstance(raw, dict):
                raise SchemeError(f"{where}: must be an object")
            name = str(raw.get("name", "")).strip()
            ftype = raw.get("type")
            if not name.isidentifier():
                raise SchemeError(f"{where}: name {name!r} must be an identifier (letters, digits, _)")
            if ftype not in FIELD_TYPES:
                raise SchemeError(f"{where} ({name}): type must be one of {', '.join(FIELD_TYPES)}")
            kw: dict[str, Any] = {"name": name, "type": ftype, "label": str(raw.get("label", "")),
                                  "required": bool(raw.get("required", True))}
            if ftype == "rating":
                mx = raw.get("max", 5)
                if not isinstance(mx, int) or not 2 <= mx <= 10:
                    raise SchemeError(f"{where} ({name}): max must be an integer 2–10")
                kw["max"] = mx
            elif ftype == "choice":
                choices = [str(c).strip() for c in raw.get("choices", [])]
                if len(choices) < 2 or len(set(choices)) != len(choices) or not all(choices):
                    raise SchemeError(f"{where} ({name}): needs at least two distinct, non-empty choices")
                kw["choices"] = tuple(choices)
            elif ftype == "decision":
                kw["choices"] = DECISIONS
                kw["edit_field"] = str(raw.get("edit_field", "edited_response"))
                if not kw["edit_field"].isidentifier():
                    raise SchemeError(f"{where} ({name}): edit_field must be an identifier")
            elif ftype == "spans":
                labels = [str(c).strip() for c in raw.get("labels", [])]
                if not labels or len(set(labels)) != len(labels) or not all(labels):
                    raise SchemeError(f"{where} ({name}): needs a list of distinct span labels")
                kw["labels"] = tuple(labels)
            elif ftype == "taxonomy":
                tree = _normalise_tree(raw.get("tree") or {}, f"{where} ({name})")
                if not tree:
                    raise SchemeError(f"{where} ({name}): needs a non-empty tree")
                kw["tree"] = tree
            f = Field(**kw)
            names = {f.name} | ({f.edit_field} if f.type == "decision" else set())
            if names & seen:
                raise SchemeError(f"{where}: duplicate field name {sorted(names & seen)[0]!r}")
            seen |= names
            fields.append(f)
        return cls(tuple(fields))

    def to_dict(self) -> dict:
        return {"fields": [f.to_dict() for f in self.fields]}

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def decision_field(self) -> Field | None:
        return next((f for f in self.fields if f.type == "decision"), None)

    @property
    def rubric_fields(self) -> list[Field]:
        return [f for f in self.fields if f.type == "rating" and f.name in RUBRIC_FIELDS]

    @property
    def agreement_fields(self) -> list[Field]:
        """Fields compared as categories (rating / choice / decision / taxonomy)."""
        return [f for f in self.fields if f.level is not None]

    @property
    def span_fields(self) -> list[Field]:
        """Entity-span fields (compared by span F1 and character-level agreement)."""
        return [f for f in self.fields if f.type == "spans"]

    # ------------------------------------------------------------------------------- validate
    def validate_label(self, label: dict, *, text: str = "") -> dict:
        """Return the cleaned label or raise LabelError naming each bad field."""
        if not isinstance(label, dict):
            raise LabelError({"__all__": "label must be an object"})
        errors: dict[str, str] = {}
        out: dict[str, Any] = {}
        for f in self.fields:
            value = label.get(f.name)
            empty = value is None or value == "" or value == []
            if empty:
                if f.required:
                    errors[f.name] = "This field is required."
                continue
            if f.type == "rating":
                try:
                    v = int(value)
                    if str(v) != str(value).strip() and v != value:
                        raise ValueError
                except (TypeError, ValueError):
                    errors[f.name] = f"Must be a whole number 1–{f.max}."
                    continue
                if not 1 <= v <= f.max:
                    errors[f.name] = f"Must be between 1 and {f.max}."
                    continue
                out[f.name] = v
            elif f.type in ("choice", "decision", "taxonomy"):
                allowed = f.categories
                if value not in allowed:
                    errors[f.name] = f"{value!r} is not one of: {', '.join(map(str, allowed))}."
                    continue
                out[f.name] = value
                if f.type == "decision":
                    edited = label.get(f.edit_field)
                    if value == "edit":
                        if not isinstance(edited, str) or not edited.strip():
                            errors[f.edit_field] = "Write the corrected response when choosing “edit”."
                            continue
                        out[f.edit_field] = edited.strip()
            elif f.type == "spans":
                if not isinstance(value, list):
                    errors[f.name] = "Must be a list of {start, end, label}."
                    continue
                spans = []
                for j, s in enumerate(value):
                    try:
                        start, end, lab = int(s["start"]), int(s["end"]), str(s["label"])
                    except (KeyError, TypeError, ValueError):
                        errors[f.name] = f"Span {j + 1}: needs integer start, end and a label."
                        break
                    if lab not in f.labels:
                        errors[f.name] = f"Span {j + 1}: label {lab!r} is not one of {', '.join(f.labels)}."
                        break
                    if not (0 <= start < end <= (len(text) if text else end)):
                        errors[f.name] = f"Span {j + 1}: offsets {start}–{end} are outside the text."
                        break
                    spans.append({"start": start, "end": end, "label": lab,
                                  **({"text": text[start:end]} if text else {})})
                else:
                    out[f.name] = sorted(spans, key=lambda s: (s["start"], s["end"], s["label"]))
        if errors:
            raise LabelError(errors)
        return out

    # ---------------------------------------------------------------------------- Label Studio
    def to_labelstudio_xml(self) -> str:
        """The Label Studio labelling config for this scheme."""
        q = quoteattr
        parts = ["<View>", f'  <Text name="{TEXT_NAME}" value="${TEXT_NAME}"/>']
        for f in self.fields:
            req = ' required="true"' if f.required else ""
            parts.append(f"  <Header value={q(f.title)}/>")
            if f.type == "rating":
                parts.append(f'  <Rating name={q(f.name)} toName="{TEXT_NAME}" maxRating="{f.max}"{req}/>')
            elif f.type in ("choice", "decision"):
                parts.append(f'  <Choices name={q(f.name)} toName="{TEXT_NAME}" choice="single"{req}>')
                parts += [f"    <Choice value={q(c)}/>" for c in f.choices]
                parts.append("  </Choices>")
                if f.type == "decision":
                    parts.append(f'  <TextArea name={q(f.edit_field)} toName="{TEXT_NAME}" '
                                 f'placeholder="Corrected response (when editing)" maxSubmissions="1" editable="true"/>')
            elif f.type == "spans":
                parts.append(f'  <Labels name={q(f.name)} toName="{TEXT_NAME}">')
                parts += [f"    <Label value={q(c)}/>" for c in f.labels]
                parts.append("  </Labels>")
            elif f.type == "taxonomy":
                parts.append(f'  <Taxonomy name={q(f.name)} toName="{TEXT_NAME}" maxUsages="1"{req}>')

                def walk(tree: dict, depth: int) -> None:
                    pad = "    " * depth
                    for name, sub in tree.items():
                        if sub:
                            parts.append(f"{pad}<Choice value={q(name)}>")
                            walk(sub, depth + 1)
                            parts.append(f"{pad}</Choice>")
                        else:
                            parts.append(f"{pad}<Choice value={q(name)}/>")

                walk(f.tree, 1)
                parts.append("  </Taxonomy>")
        parts.append("</View>")
        return "\n".join(parts)

    def to_labelstudio_result(self, label: dict) -> list[dict]:
        """Our label dict → a Label Studio annotation ``result`` list."""
        res: list[dict] = []

        def item(name: str, typ: str, value: dict) -> dict:
            return {"from_name": name, "to_name": TEXT_NAME, "type": typ, "value": value}

        for f in self.fields:
            v = label.get(f.name)
            if v is None:
                continue
            if f.type == "rating":
                res.append(item(f.name, "rating", {"rating": int(v)}))
            elif f.type in ("choice", "decision"):
                res.append(item(f.name, "choices", {"choices": [v]}))
                if f.type == "decision" and label.get(f.edit_field):
                    res.append(item(f.edit_field, "textarea", {"text": [label[f.edit_field]]}))
            elif f.type == "spans":
                for j, s in enumerate(v):
                    r = item(f.name, "labels", {"start": s["start"], "end": s["end"], "labels": [s["label"]],
                                                **({"text": s["text"]} if "text" in s else {})})
                    r["id"] = f"{f.name}-{j}"
                    res.append(r)
            elif f.type == "taxonomy":
                res.append(item(f.name, "taxonomy", {"taxonomy": [v.split(PATH_SEP)]}))
        return res

    def from_labelstudio_result(self, result: list[dict]) -> dict:
        """A Label Studio ``result`` list → our (unvalidated) label dict."""
        by_name: dict[str, list[dict]] = {}
        for r in result or []:
            by_name.setdefault(r.get("from_name", ""), []).append(r.get("value") or {})
        label: dict[str, Any] = {}
        for f in self.fields:
            vals = by_name.get(f.name, [])
            if f.type == "rating" and vals:
                label[f.name] = vals[0].get("rating")
            elif f.type in ("choice", "decision") and vals:
                choices = vals[0].get("choices") or []
                label[f.name] = choices[0] if choices else None
                if f.type == "decision":
                    texts = (by_name.get(f.edit_field) or [{}])[0].get("text") or []
                    if texts:
                        label[f.edit_field] = texts[0]
            elif f.type == "spans" and vals:
                # Label Studio's ``text`` (the selected characters) is kept so the sync can check the offsets
                label[f.name] = [{"start": v.get("start"), "end": v.get("end"), "label": (v.get("labels") or [None])[0],
                                  **({"text": v["text"]} if isinstance(v.get("text"), str) else {})}
                                 for v in vals]
            elif f.type == "taxonomy" and vals:
                paths = vals[0].get("taxonomy") or []
                label[f.name] = PATH_SEP.join(paths[0]) if paths else None
        return label


# ------------------------------------------------------------------------------------ presets
PRESETS: dict[str, dict] = {
    "sft_review": {"fields": [
        {"name": "relevance", "type": "rating", "max": 5, "label": "Relevance"},
        {"name": "accuracy", "type": "rating", "max": 5, "label": "Accuracy"},
        {"name": "fluency", "type": "rating", "max": 5, "label": "Fluency"},
        {"name": "decision", "type": "decision", "label": "Accept / reject / edit the response"},
    ]},
    "intent": {"fields": [
        {"name": "intent", "type": "choice", "label": "Intent",
         "choices": ["question", "complaint", "request", "feedback", "other"]},
    ]},
    "entities": {"fields": [
        {"name": "entities", "type": "spans", "label": "Entities",
         "labels": ["PERSON", "ORG", "LOCATION", "DRUG", "DISEASE", "AMOUNT"], "required": False},
    ]},
    "medical_hierarchy": {"fields": [
        {"name": "topic", "type": "taxonomy", "label": "Symptom → disease → treatment",
         "tree": {"fever": {"influenza": ["rest and fluids", "antivirals"], "infection": ["antibiotics"]},
                  "cough": {"bronchitis": ["rest and fluids", "inhaler"], "asthma": ["inhaler"]},
                  "headache": {"migraine": ["analgesics"], "tension": ["rest and fluids"]}}},
    ]},
}


def preset_scheme(name: str) -> Scheme:
    try:
        return Scheme.from_dict(PRESETS[name])
    except KeyError:
        raise SchemeError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
