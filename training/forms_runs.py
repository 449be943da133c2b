"""The run form: the main settings as fields, everything else as YAML — one effective config.

The effective config is ``defaults ← YAML ← fields``: a field always wins over the same key in the YAML
(the form's YAML box is pre-filled with the settings that have no field). :meth:`RunForm.effective_config`
is what the live preview shows and what ``run_create`` receives; it is validated by the trainer's own
``config_validate``, and each error is put on the field it is about.
"""
from __future__ import annotations

import copy

from django import forms

from .basemodels import BUNDLED_NAME
from .models.datasets import DatasetVersion
from .trainer.config import METHODS, ConfigError, config_from_yaml, config_to_yaml

# form field → config key (dotted for lora.*)
FIELD_KEYS = {
    "method": "method", "lora_r": "lora.r", "lora_alpha": "lora.alpha", "lora_dropout": "lora.dropout",
    "lora_target_modules": "lora.target_modules", "learning_rate": "learning_rate", "epochs": "epochs",
    "max_steps": "max_steps", "batch_size": "batch_size", "grad_accum": "grad_accum",
    "max_seq_len": "max_seq_len", "packing": "packing", "seed": "seed",
}
METHOD_LABELS = {"lora": "LoRA", "full": "Full fine-tuning", "qlora": "QLoRA (4-bit, CUDA GPU only)"}


def _get(cfg: dict, dotted: str):
    node = cfg
    for part in dotted.split("."):
        node = node[part]
    return node


def _set(cfg: dict, dotted: str, value) -> None:
    parts = dotted.split(".")
    node = cfg
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def advanced_yaml(config: dict) -> str:
    """The settings without a form field, as YAML (what the YAML box starts with)."""
    rest = copy.deepcopy(config)
    for dotted in FIELD_KEYS.values():
        parts = dotted.split(".")
        node = rest
        for part in parts[:-1]:
            node = node.get(part, {})
        node.pop(parts[-1], None)
    if isinstance(rest.get("lora"), dict) and not rest["lora"]:
        rest.pop("lora")
    return config_to_yaml(rest)


def targets_text(value) -> str:
    return value if isinstance(value, str) else ", ".join(value)


def field_initial(config: dict) -> dict:
    initial = {name: _get(config, key) for name, key in FIELD_KEYS.items()}
    initial["lora_target_modules"] = targets_text(initial["lora_target_modules"])
    return initial


class RunForm(forms.Form):
    dataset_version = forms.ModelChoiceField(queryset=DatasetVersion.objects.none(), label="Dataset version",
                                             error_messages={"required": "Pick a ready dataset version.",
                                                             "invalid_choice": "Pick a ready dataset version."})
    base_model = forms.CharField(initial=BUNDLED_NAME, max_length=500, label="Base model",
                                 help_text="registry name, a local transformers folder, or a hub id")
    method = forms.ChoiceField(choices=[(m, METHOD_LABELS[m]) for m in METHODS], label="Method")
    lora_r = forms.IntegerField(min_value=1, max_value=1024, label="LoRA r")
    lora_alpha = forms.IntegerField(min_value=1, max_value=4096, label="LoRA alpha")
    lora_dropout = forms.FloatField(min_value=0.0, max_value=0.99, label="LoRA dropout")
    lora_target_modules = forms.CharField(max_length=500, label="LoRA target modules",
                                          help_text="comma-separated module names, or all-linear")
    learning_rate = forms.FloatField(min_value=1e-9, max_value=0.99, label="Learning rate")
    epochs = forms.FloatField(min_value=0, max_value=1000, label="Epochs", help_text="used when max steps is 0")
    max_steps = forms.IntegerField(min_value=0, max_value=10_000_000, label="Max steps",
                                   help_text="> 0 overrides epochs")
    batch_size = forms.IntegerField(min_value=1, max_value=4096, label="Batch size",
                                    help_text="packed rows per micro-batch")
    grad_accum = forms.IntegerField(min_value=1, max_value=4096, label="Gradient accumulation")
    max_seq_len = forms.IntegerField(min_value=16, max_value=131072, label="Max sequence length")
    packing = forms.BooleanField(required=False, label="Packing (padding-free, no cross-contamination)")
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, label="Seed")
    config = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 18, "cols": 70,
                                                                           "style": "font-family:monospace"}),
                             label="Other settings (YAML)",
                             help_text="every other setting; a field above wins over the same key here")

    def __init__(self, *args, versions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset_version"].queryset = versions if versions is not None else DatasetVersion.objects.none()
        self.fields["dataset_version"].label_from_instance = lambda v: f"{v} ({v.n_train} train)"

    @classmethod
    def initial_for(cls, config: dict) -> dict:
        return {**field_initial(config), "config": advanced_yaml(config), "base_model": BUNDLED_NAME}

    def effective_config(self) -> dict:
        """defaults ← YAML ← fields (call after is_valid)."""
        try:
            cfg = config_from_yaml(self.cleaned_data.get("config") or "")
        except ConfigError as exc:
            raise forms.ValidationError({"config": str(exc)}) from None
        if "lora" in cfg and not isinstance(cfg["lora"], dict):
            raise forms.ValidationError({"config": "lora: expected a mapping"})
        for name, dotted in FIELD_KEYS.items():
            value = self.cleaned_data[name]
            if name == "lora_target_modules":
                text = value.strip()
                value = text if text in ("all-linear", "attention") else [t.strip() for t in text.split(",") if t.strip()]
            _set(cfg, dotted, value)
        return cfg

    def clean(self):
        cleaned = super().clean()
        if any(name in self.errors for name in (*FIELD_KEYS, "config")):
            return cleaned  # the field errors say it; the config is checked once they are fixed
        from .services.runs import RunError, run_user_config

        try:
            cleaned["effective"] = run_user_config(self.effective_config())
        except forms.ValidationError as exc:
            for field, errs in exc.error_dict.items():
                self.add_error(field, errs)
        except RunError as exc:
            self.add_error(self.field_of_error(str(exc)), str(exc))
        return cleaned

    def field_of_error(self, message: str) -> str | None:
        """The form field a config error names (``lora.r: must be ≥ 1`` → lora_r), else the YAML box."""
        key = message.split(":", 1)[0].strip()
        for name, dotted in FIELD_KEYS.items():
            if key == dotted:
                return name
        if message.startswith("method qlora"):
            return "method"
        if message.startswith("epochs or max_steps"):
            return "max_steps"
        return "config"

