"""curation.builders.importers: record shapes → messages / document text, malformed records → RecordError."""
import pytest

from curation.builders.importers import RecordError, record_map, record_to_document, record_to_messages


def test_prompt_response_aliases():
    for rec in ({"prompt": "P", "response": "R"}, {"question": "P", "answer": "R"}, {"query": "P", "completion": "R"}):
        messages, extra = record_to_messages(rec)
        assert messages == [{"role": "user", "content": "P"}, {"role": "assistant", "content": "R"}]


def test_entities_as_dict_or_list_are_normalised_and_merged():
    rec = {"entities": {"person": "王佳"}, "utterances": [
        {"speaker": "patient", "utterance": "我想挂号", "intent": "booking", "entities": [{"label": "dept", "text": "内科"}]},
        {"speaker": "doctor", "utterance": "好的", "intent": "confirm"}]}
    messages, extra = record_to_messages(rec)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert extra["entities"] == {"person": ["王佳"], "dept": ["内科"]}
    assert extra["intent"] == "booking" and extra["meta"]["utterance_intents"] == ["booking", "confirm"]


def test_document_records_and_neither():
    text, extra = record_to_document({"body": "Body text", "title": "T", "id": 7, "tags": ["a"]})
    assert text == "Body text" and extra["title"] == "T" and extra["external_id"] == "7" and extra["meta"] == {"tags": ["a"]}
    assert record_to_messages({"text": "x"}) is None
    with pytest.raises(RecordError, match="no text field"):
        record_map({"foo": "bar"})


@pytest.mark.parametrize("record,message", [
    ({"prompt": "P"}, "response"),
    ({"response": "R"}, "prompt"),
    ({"instruction": "do"}, "output"),
    ({"messages": "not json"}, "JSON list"),
    ({"messages": []}, "non-empty"),
    ({"messages": [{"role": "user", "content": "only user"}]}, "assistant"),
    ({"messages": [{"role": "user"}]}, "needs a role"),
    ({"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "x"}]}, "empty text"),
    ({"conversation": [{"role": "x", "text": "a"}]}, "unknown role"),
    ({"prompt": "P", "response": "R", "entities": [{"type": "t"}]}, "value"),
    ({"prompt": {"a": 1}, "response": "R"}, "expected text"),
])
def test_malformed_records(record, message):
    with pytest.raises(RecordError, match=message):
        record_to_messages(record)
