"""The "Create version" form: fields map one-to-one onto DatasetSpec keys (validated by DatasetSpec.parse)."""
from __future__ import annotations

from django import forms

from .dataset_spec import COT_MODES, DEFAULT_NGRAM, DEFAULT_OVERLAP, DEFAULT_SEED, DEFAULT_TEST_RATIO, \
    DEFAULT_VALIDATION_RATIO, ORIGINS, DatasetSpec, DatasetSpecError
from .models import EvaluationSet


class DatasetVersionForm(forms.Form):
    collection = forms.ModelChoiceField(queryset=None, empty_label=None)
    origins = forms.MultipleChoiceField(choices=[(o, o) for o in ORIGINS], required=False,
                                        widget=forms.CheckboxSelectMultiple, help_text="None ticked = all origins")
    languages = forms.CharField(required=False, help_text="Comma-separated, e.g. zh,en (empty = all)")
    domains = forms.CharField(required=False, help_text="Comma-separated (empty = all)")
    labels = forms.CharField(required=False, help_text="Final labels to keep, comma-separated (empty = all)")
    adjudicated_only = forms.BooleanField(required=False)
    min_agreement = forms.FloatField(required=False, min_value=-1, max_value=1)
    min_quality = forms.FloatField(required=False, min_value=1, max_value=5, help_text="Mean 1–5 rubric rating")
    pipeline_run = forms.CharField(required=False, help_text="'latest', a run id, or empty for the raw samples")
    seed = forms.IntegerField(initial=DEFAULT_SEED, min_value=0)
    validation_ratio = forms.FloatField(initial=DEFAULT_VALIDATION_RATIO, min_value=0, max_value=0.9)
    test_ratio = forms.FloatField(initial=DEFAULT_TEST_RATIO, min_value=0, max_value=0.9)
    cot = forms.ChoiceField(choices=[(c, c) for c in COT_MODES], initial="keep", label="Chain of thought")
    ngram = forms.IntegerField(initial=DEFAULT_NGRAM, min_value=3, max_value=50, label="Decontamination n-gram")
    max_overlap = forms.FloatField(initial=DEFAULT_OVERLAP, min_value=0.01, max_value=1)
    eval_sets = forms.ModelMultipleChoiceField(queryset=None, required=False, to_field_name="name",
                                               widget=forms.CheckboxSelectMultiple,
                                               help_text="Exclude training samples that overlap these "
                                                         "(upload them under Datasets → Evaluation sets)")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        from curation.models import Collection

        super().__init__(*args, **kwargs)
        self.fields["collection"].queryset = Collection.objects.order_by("name")
        self.fields["eval_sets"].queryset = EvaluationSet.objects.order_by("name")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["spec"] = DatasetSpec.parse(self.spec_dict(data))
        except DatasetSpecError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data

    @staticmethod
    def spec_dict(data: dict) -> dict:
        spec = {k: data.get(k) for k in DatasetSpec.KEYS if k in data and k != "eval_sets"}
        spec["eval_sets"] = [e.name for e in data.get("eval_sets") or []]
        return {k: v for k, v in spec.items() if v not in (None, "", [])}


class EvaluationSetForm(forms.Form):
    name = forms.SlugField(max_length=100)
    description = forms.CharField(required=False)
    file = forms.FileField(help_text="JSONL (messages or question/answer fields) or .txt (one item per line)")
