"""Turn the built-in labelling form (and the project form) into service arguments."""
from __future__ import annotations

import json

from django import forms
from django.contrib.auth import get_user_model

from curation.models import Collection
from refinery.roles import ANNOTATOR

from .models import DEFAULT_AGREEMENT_THRESHOLD
from .schemes import PRESETS, LabelError, Scheme, SchemeError


def label_from_post(scheme: Scheme, data) -> dict:
    """Raw label dict from POST data (the scheme validates it afterwards)."""
    label: dict = {}
    for f in scheme.fields:
        raw = data.get(f.name, "")
        if f.type == "spans":
            if not raw:
                label[f.name] = []
                continue
            try:
                label[f.name] = json.loads(raw)
            except json.JSONDecodeError:
                raise LabelError({f.name: "Spans could not be read; reload the page."}) from None
        else:
            label[f.name] = raw.strip()
        if f.type == "decision":
            label[f.edit_field] = data.get(f.edit_field, "")
    return label


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=200)
    collection = forms.ModelChoiceField(queryset=Collection.objects.order_by("name"))
    target = forms.ChoiceField(choices=[("sample", "Samples"), ("document", "Documents")], initial="sample")
    preset = forms.ChoiceField(choices=[(k, k.replace("_", " ")) for k in PRESETS] + [("custom", "custom (JSON below)")],
                               initial="sft_review")
    scheme_json = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}),
                                  help_text='Only for "custom": {"fields": [{"name": ..., "type": "rating|choice|'
                                            'decision|spans|taxonomy", ...}]}')
    annotators = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.filter(groups__name=ANNOTATOR, is_active=True).order_by("username"),
        widget=forms.CheckboxSelectMultiple)
    overlap = forms.IntegerField(min_value=1, max_value=10, initial=2)
    agreement_threshold = forms.FloatField(min_value=0, max_value=1, initial=DEFAULT_AGREEMENT_THRESHOLD)
    limit = forms.IntegerField(min_value=1, required=False, help_text="Only the first N items (blank: all).")
    instructions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean(self):
        data = super().clean()
        if data.get("preset") == "custom":
            try:
                data["scheme"] = Scheme.from_dict(json.loads(data.get("scheme_json") or "null")).to_dict()
            except (json.JSONDecodeError, SchemeError) as exc:
                self.add_error("scheme_json", f"Invalid scheme: {exc}")
        elif data.get("preset"):
            data["scheme"] = PRESETS[data["preset"]]
        return data


def form_fields(scheme: Scheme, values: dict, errors: dict, *, response: str = "") -> list[dict]:
    """What the label form template renders for each scheme field (values and errors resolved)."""
    out = []
    for i, f in enumerate(scheme.fields):
        value = values.get(f.name)
        entry = {"f": f, "index": i, "error": errors.get(f.name, ""), "value": value}
        if f.type == "rating":
            entry["options"] = [{"value": str(v), "label": str(v), "checked": str(value) == str(v)}
                                for v in range(1, f.max + 1)]
        elif f.type in ("choice", "decision"):
            keys = {"accept": "a", "reject": "r", "edit": "e"} if f.type == "decision" else {}
            entry["options"] = [{"value": c, "label": c, "checked": value == c, "key": keys.get(c, str(j + 1))}
                                for j, c in enumerate(f.choices)]
        elif f.type == "taxonomy":
            entry["options"] = [{"value": p, "label": p, "checked": value == p, "depth": p.count(" / ")}
                                for p in f.categories]
        if f.type == "decision":
            entry["edit_name"] = f.edit_field
            entry["edit_value"] = values.get(f.edit_field) or response
            entry["edit_error"] = errors.get(f.edit_field, "")
        out.append(entry)
    return out
