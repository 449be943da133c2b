"""Label Studio span offsets: code points (Python, Label Studio's <Text>) ↔ UTF-16 units (JavaScript).

No Label Studio server here: the conversion, the check against Label Studio's saved text, and the
webhook path with a real database. test_labelstudio.py sends such spans through a real server.
"""
import pytest

from annotation import labelstudio, selectors, services
from annotation.models import Annotation, WebhookEvent
from annotation.schemes import PRESETS, LabelError, Scheme

from .helpers import make_collection, spans_of

ENTITIES = Scheme.from_dict(PRESETS["entities"])


ASTRAL = "a😀b𠀀c👩‍👩‍👧d"  # emoji, CJK Extension B, a ZWJ family (3 astral code points + 2 joiners)


def _utf16(text, i):
    return len(text[:i].encode("utf-16-le")) // 2


def test_offsets_code_points_to_utf16_and_back():
    cps = list(range(len(ASTRAL) + 1))
    units = labelstudio.codepoints_to_utf16(ASTRAL, cps)
    assert units == [_utf16(ASTRAL, i) for i in cps]
    assert units[:6] == [0, 1, 3, 4, 6, 7] and units[-1] == len(ASTRAL.encode("utf-16-le")) // 2
    assert labelstudio.utf16_to_codepoints(ASTRAL, units) == cps
    with pytest.raises(labelstudio.SpanOffsetError, match="splits the character '😀'"):
        labelstudio.utf16_to_codepoints(ASTRAL, [2])
    with pytest.raises(labelstudio.SpanOffsetError, match="outside"):
        labelstudio.utf16_to_codepoints(ASTRAL, [units[-1] + 1])
    with pytest.raises(labelstudio.SpanOffsetError, match="outside"):
        labelstudio.codepoints_to_utf16(ASTRAL, [len(ASTRAL) + 1])
    assert labelstudio.codepoints_to_utf16("plain ascii", [0, 5, 11]) == [0, 5, 11]


def test_a_label_studio_span_is_read_in_the_units_that_reproduce_its_text():
    text = "😀 Dr 𠀀 Alice Smith took aspirin"
    s = text.index("Alice Smith")
    e = s + len("Alice Smith")
    u_s, u_e = labelstudio.codepoints_to_utf16(text, [s, e])
    assert (u_s, u_e) == (s + 2, e + 2)
    assert labelstudio.span_from_labelstudio(text, s, e, "Alice Smith") == (s, e, "codepoints")
    assert labelstudio.span_from_labelstudio(text, u_s, u_e, "Alice Smith") == (s, e, "utf16")
    assert labelstudio.span_from_labelstudio(text, s, e, None) == (s, e, "codepoints")
    # a selection may render a line break as a space, but must not drop characters
    assert labelstudio.span_from_labelstudio("x 😀 Alice\nSmith", 4, 15, "Alice Smith") == (4, 15, "codepoints")
    # an emoji inside the span itself
    assert labelstudio.span_from_labelstudio(text, 0, 1, "😀") == (0, 1, "codepoints")
    assert labelstudio.span_from_labelstudio(text, 0, 2, "😀") == (0, 1, "utf16")
    with pytest.raises(labelstudio.SpanOffsetError) as exc:
        labelstudio.span_from_labelstudio(text, s, e, "Bob Jones")
    assert "'Bob Jones'" in str(exc.value) and "'Alice Smith' as code points" in str(exc.value)
    assert "changed since the push" in str(exc.value)


def test_label_studio_result_conversion_both_ways():
    text = "𠀀😀 Alice Smith took aspirin in Paris 😀"
    label = ENTITIES.validate_label({"entities": spans_of(text, ("Alice Smith", "PERSON"), ("Paris", "LOCATION"))},
                                    text=text)
    cp = labelstudio.label_to_labelstudio(ENTITIES, label, text)
    u16 = labelstudio.label_to_labelstudio(ENTITIES, label, text, units="utf16")
    assert [r["value"]["start"] for r in cp] == [s["start"] for s in label["entities"]]
    assert [r["value"]["start"] for r in u16] == [s["start"] + 2 for s in label["entities"]]
    assert [r["value"]["text"] for r in u16] == ["Alice Smith", "Paris"]
    for result in (cp, u16):
        back = labelstudio.label_from_labelstudio(ENTITIES, result, text)
        assert ENTITIES.validate_label(back, text=text) == label
    u16[1]["value"]["text"] = "London"
    with pytest.raises(LabelError) as exc:
        labelstudio.label_from_labelstudio(ENTITIES, u16, text)
    assert exc.value.errors["entities"].startswith("Span 2 (LOCATION): Label Studio's text 'London'")
    with pytest.raises(labelstudio.SpanOffsetError, match="is not the item's text"):
        labelstudio.label_to_labelstudio(ENTITIES, {"entities": [{**label["entities"][0], "text": "Bob"}]}, text)


def test_webhook_stores_utf16_spans_at_code_points_and_reports_bad_ones(db, curator, annotator, annotator2):
    col = make_collection(name="emoji", n=1)
    doc = col.documents.get()
    doc.text = "👩‍⚕️ 𠀀 Alice Smith took aspirin in Paris."
    doc.save()
    project = services.project_create(name="Emoji NER", collection=col, scheme=PRESETS["entities"],
                                      target="document", overlap=2, annotators=[annotator, annotator2], user=curator)
    project.ls_project_id = 41
    project.save()
    item = project.items.get()
    item.ls_task_id = 7
    item.save()
    text = selectors.item_text(item)
    u_s, u_e = labelstudio.codepoints_to_utf16(text, [text.index("Alice"), text.index("Alice") + 11])
    assert u_s == _utf16(text, text.index("Alice")) == text.index("Alice") + 2  # 👩 (in the ZWJ sequence) and 𠀀

    def event(ann_id, email, value):
        return labelstudio.webhook_record(payload={
            "action": "ANNOTATION_CREATED", "project": {"id": 41}, "task": {"id": 7},
            "annotation": {"id": ann_id, "task": 7, "completed_by": {"email": email},
                           "result": [{"from_name": "entities", "to_name": "text", "type": "labels",
                                       "value": {**value, "labels": ["PERSON"]}}]}})

    ok = labelstudio.webhook_handle(event=event(1, "annotator1@example.com",
                                                {"start": u_s, "end": u_e, "text": "Alice Smith"}))
    assert ok["stored"] == 1 and ok["errors"] == []
    stored = Annotation.objects.get(ls_annotation_id=1).label["entities"]
    assert stored == [{"start": text.index("Alice"), "end": text.index("Alice") + 11, "label": "PERSON",
                       "text": "Alice Smith"}]
    bad = labelstudio.webhook_handle(event=event(2, "annotator2@example.com",
                                                 {"start": u_s, "end": u_e, "text": "Alice Jones"}))
    assert bad["stored"] == 0 and bad["invalid"] == 1
    assert "Label Studio's text 'Alice Jones'" in bad["errors"][0] and "annotator2@example.com" in bad["errors"][0]
    assert not Annotation.objects.filter(ls_annotation_id=2).exists()
    assert "Alice Jones" in WebhookEvent.objects.get(payload__annotation__id=2).error
