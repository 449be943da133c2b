from collections import Counter

import pytest

from annotation import selectors, services
from annotation.models import Adjudication, Annotation, Assignment
from annotation.schemes import PRESETS, LabelError
from annotation.summary import SampleLabelSummary

from .helpers import make_collection, sft_label


@pytest.fixture
def project(db, curator, annotator, annotator2, django_user_model):
    from tests.conftest import _make_user

    third = _make_user(django_user_model, "annotator3", "annotator")
    col = make_collection(n=6)
    first = col.samples.order_by("id").first()
    return services.project_create(
        name="Review", collection=col, scheme=PRESETS["sft_review"], overlap=2,
        annotators=[annotator, annotator2, third], user=curator,
        gold={first.pk: sft_label(5, "accept")},
    )


def test_assignment_is_balanced_with_overlap_and_gold_to_all(project, annotator, annotator2):
    assert project.items.count() == 6
    per_item = Counter(Assignment.objects.filter(item__project=project).values_list("item_id", flat=True))
    gold = project.items.get(is_gold=True)
    assert per_item[gold.pk] == 3
    assert all(n == 2 for i, n in per_item.items() if i != gold.pk)
    load = Counter(Assignment.objects.filter(item__project=project).values_list("annotator_id", flat=True))
    assert max(load.values()) - min(load.values()) <= 1
    # idempotent
    assert services.project_assign(project=project) == 0


def test_queue_shows_only_own_assignments(project, annotator, annotator2):
    mine = selectors.annotator_queue(user=annotator, project=project)
    assert mine.exists()
    assert set(mine.values_list("annotator_id", flat=True)) == {annotator.pk}
    other = Assignment.objects.filter(annotator=annotator2).first()
    with pytest.raises(Assignment.DoesNotExist):
        selectors.assignment_get(user=annotator, pk=other.pk)


def test_submit_validates_and_summary(project, annotator, annotator2, curator):
    a1 = selectors.annotator_queue(user=annotator, project=project)
    item = a1.first().item
    with pytest.raises(LabelError) as exc:
        services.annotation_submit(item=item, annotator=annotator, label={"relevance": 9, "decision": "edit"})
    assert "relevance" in exc.value.errors and "edited_response" in exc.value.errors
    assert not Annotation.objects.exists()
    # both annotators of a shared item label it "edit" with the same correction
    shared = next(a.item for a in a1 if not a.item.is_gold
                  and Assignment.objects.filter(item=a.item, annotator=annotator2).exists())
    for u, r in ((annotator, 4), (annotator2, 4)):
        services.annotation_submit(item=shared, annotator=u, label=sft_label(r, "edit", "Better answer."), lead_time=3)
    assert Assignment.objects.get(item=shared, annotator=annotator).status == "done"
    summary = selectors.sample_label_summaries(sample_ids=[shared.sample_id, 999999])
    assert set(summary) == {shared.sample_id}
    s = summary[shared.sample_id]
    assert isinstance(s, SampleLabelSummary)
    assert s.adjudicated is False and s.decision == "edit" and s.quality_rating == 4.0 and s.agreement == 1.0
    assert s.edited_messages[-1] == {"role": "assistant", "content": "Better answer."}
    assert s.project_ids == [project.pk]
    counts = services.project_adjudicate_majority(project=project, user=curator)
    assert counts["gold"] == 1 and counts["majority"] == 1
    adj = Adjudication.objects.get(item=shared)
    assert adj.method == "majority" and adj.decided_by == curator
    s = selectors.sample_label_summaries(sample_ids=[shared.sample_id])[shared.sample_id]
    assert s.adjudicated and s.final_label["edited_response"] == "Better answer."


def test_low_agreement_goes_to_review_and_curator_decides(project, annotator, annotator2, curator):
    mine = {a.item_id for a in selectors.annotator_queue(user=annotator, project=project)}
    theirs = {a.item_id for a in selectors.annotator_queue(user=annotator2, project=project)}
    item = project.items.filter(pk__in=mine & theirs, is_gold=False).first()
    services.annotation_submit(item=item, annotator=annotator, label=sft_label(5, "accept"))
    services.annotation_submit(item=item, annotator=annotator2, label=sft_label(1, "reject"))
    queue = selectors.low_agreement_queue(user=curator, project=project)
    assert [q["item_id"] for q in queue] == [item.pk]
    assert queue[0]["agreement"] < 0.8
    counts = services.project_adjudicate_majority(project=project, user=curator)
    assert counts["review"] >= 1
    assert not Adjudication.objects.filter(item=item).exists()
    with pytest.raises(services.AnnotationError):
        services.item_adjudicate(item=item, method="majority", user=curator)
    services.item_adjudicate(item=item, method="curator", user=curator, final_label=sft_label(3, "reject"))
    assert selectors.low_agreement_queue(user=curator, project=project) == []
    s = selectors.sample_label_summaries(sample_ids=[item.sample_id])[item.sample_id]
    assert s.adjudicated and s.decision == "reject" and s.quality_rating == 3.0


def test_document_project_with_spans(db, curator, annotator):
    col = make_collection(name="docs", n=2)
    p = services.project_create(name="NER", collection=col, scheme=PRESETS["entities"], target="document",
                                overlap=1, annotators=[annotator], user=curator)
    item = p.items.first()
    text = selectors.item_text(item)
    start = text.index("Alice")
    ann = services.annotation_submit(item=item, annotator=annotator,
                                     label={"entities": [{"start": start, "end": start + 11, "label": "PERSON"}]})
    assert ann.label["entities"][0]["text"] == "Alice Smith"
    with pytest.raises(LabelError):
        services.annotation_submit(item=item, annotator=annotator,
                                   label={"entities": [{"start": 0, "end": 9999, "label": "PERSON"}]})


def test_project_create_rejects_bad_input(db, curator, annotator):
    col = make_collection(name="bad", n=1)
    with pytest.raises(services.AnnotationError, match="overlap 2 needs at least 2"):
        services.project_create(name="x", collection=col, scheme=PRESETS["intent"], overlap=2, annotators=[annotator])
    with pytest.raises(services.AnnotationError, match="no annotator role"):
        services.project_create(name="x", collection=col, scheme=PRESETS["intent"], overlap=1,
                                annotators=[annotator, curator.__class__.objects.create(username="norole")])
    from annotation.models import LabelingProject
    assert not LabelingProject.objects.exists()


def test_demo_load_is_idempotent(db, curator, annotator, annotator2):
    import io

    from annotation import demo
    from annotation.models import LabelingProject

    make_collection(name="demo", n=3)
    users = {"curator": curator, "annotator1": annotator, "annotator2": annotator2}
    out = io.StringIO()
    project = demo.load(out, users)
    assert project.items.count() == 3 and "demo project" in out.getvalue()
    assert demo.load(out, users) is None
    assert LabelingProject.objects.count() == 1


def test_annotator_stats_counts(project, curator, annotator):
    stats = {s["username"]: s for s in selectors.annotator_stats(user=curator, project=project)}
    total = Assignment.objects.filter(item__project=project).count()
    assert sum(s["assigned"] for s in stats.values()) == total
    assert stats["annotator1"]["pending"] == stats["annotator1"]["assigned"]
    a = selectors.annotator_queue(user=annotator, project=project).first()
    gold = project.items.get(is_gold=True)
    services.annotation_submit(item=gold, annotator=annotator, label=sft_label(5, "accept"), lead_time=7)
    stats = {s["username"]: s for s in selectors.annotator_stats(user=curator, project=project)}
    assert stats["annotator1"]["done"] == 1 and stats["annotator1"]["gold_accuracy"] == 1.0
    assert stats["annotator1"]["median_seconds"] == 7
    assert a is not None
