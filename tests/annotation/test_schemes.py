import pytest

from annotation.schemes import PRESETS, LabelError, Scheme, SchemeError, preset_scheme


@pytest.mark.parametrize("bad, message", [
    ({}, "non-empty 'fields'"),
    ({"fields": [{"name": "1x", "type": "rating"}]}, "must be an identifier"),
    ({"fields": [{"name": "x", "type": "stars"}]}, "type must be one of"),
    ({"fields": [{"name": "x", "type": "rating", "max": 50}]}, "max must be an integer 2–10"),
    ({"fields": [{"name": "x", "type": "choice", "choices": ["a"]}]}, "at least two distinct"),
    ({"fields": [{"name": "x", "type": "spans", "labels": []}]}, "distinct span labels"),
    ({"fields": [{"name": "x", "type": "taxonomy", "tree": {}}]}, "non-empty tree"),
    ({"fields": [{"name": "x", "type": "choice", "choices": ["a", "b"]},
                 {"name": "x", "type": "rating"}]}, "duplicate field name 'x'"),
])
def test_invalid_schemes_say_what_and_where(bad, message):
    with pytest.raises(SchemeError, match=message):
        Scheme.from_dict(bad)


def test_validation_messages_per_field():
    s = preset_scheme("sft_review")
    with pytest.raises(LabelError) as exc:
        s.validate_label({"relevance": "x", "accuracy": 6, "decision": "maybe"})
    assert exc.value.errors == {"relevance": "Must be a whole number 1–5.", "accuracy": "Must be between 1 and 5.",
                                "fluency": "This field is required.",
                                "decision": "'maybe' is not one of: accept, reject, edit."}
    ok = s.validate_label({"relevance": "4", "accuracy": 5, "fluency": 3, "decision": "accept", "stray": 1})
    assert ok == {"relevance": 4, "accuracy": 5, "fluency": 3, "decision": "accept"}


def test_taxonomy_paths_and_xml():
    s = preset_scheme("medical_hierarchy")
    f = s.fields[0]
    assert "fever" in f.categories and "fever / influenza / antivirals" in f.categories
    xml = s.to_labelstudio_xml()
    assert '<Taxonomy name="topic" toName="text"' in xml and '<Choice value="influenza">' in xml
    xml = preset_scheme("sft_review").to_labelstudio_xml()
    assert xml.count("<Rating ") == 3 and '<TextArea name="edited_response"' in xml
    assert '<Text name="text" value="$text"/>' in xml


@pytest.mark.parametrize("preset, label", [
    ("sft_review", {"relevance": 4, "accuracy": 2, "fluency": 5, "decision": "edit", "edited_response": "Better."}),
    ("intent", {"intent": "complaint"}),
    ("entities", {"entities": [{"start": 0, "end": 5, "label": "PERSON"}]}),
    ("medical_hierarchy", {"topic": "cough / asthma / inhaler"}),
])
def test_labelstudio_result_round_trip(preset, label):
    s = Scheme.from_dict(PRESETS[preset])
    assert s.from_labelstudio_result(s.to_labelstudio_result(label)) == label
