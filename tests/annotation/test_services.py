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


GATE_SCHEME = {"fields": [
    {"name": "intent", "type": "choice", "choices": ["question", "complaint", "request"]},
    {"name": "decision", "type": "decision"},
]}


def test_review_gate_above_and_below_the_threshold(db, curator, annotator, annotator2):
    """passes_gate on both sides of the threshold, and what a project below it may hand the exporter."""
    from training.services.datasets import dataset_samples_select

    col = make_collection(name="gate", n=7)
    project = services.project_create(name="Gate", collection=col, scheme=GATE_SCHEME, overlap=2,
                                      annotators=[annotator, annotator2], user=curator)
    items = list(project.items.order_by("position"))
    intents = ["question", "complaint", "request", "question", "complaint"]

    def label(intent, decision="accept"):
        out = {"intent": intent, "decision": decision}
        if decision == "edit":
            out["edited_response"] = "Better."
        return out

    # both annotators agree on items 0-4 (item 4: the same edit); items 5 and 6 are not labelled yet
    for i, intent in enumerate(intents):
        for u in (annotator, annotator2):
            services.annotation_submit(item=items[i], annotator=u, label=label(intent, "edit" if i == 4 else "accept"))
    report = selectors.project_agreement_report(user=curator, project=project, bootstrap=False)
    assert report["passes_gate"] is True and report["overall_alpha"] == 1.0 and report["gate"]["status"] == "passes"
    assert {f["field"]: f["level"] for f in report["gate"]["fields"]} == {"intent": "nominal", "decision": "nominal"}
    assert "Krippendorff" in report["gate"]["metric"]
    counts = services.project_adjudicate_majority(project=project, user=curator)
    assert counts == {"majority": 5, "review": 2, "gate": "passes"}
    assert Adjudication.objects.filter(item__project=project, automatic=True).count() == 5
    sids = [it.sample_id for it in items]
    s = selectors.sample_label_summaries(sample_ids=sids)
    assert all(s[sid].adjudicated and not s[sid].in_review for sid in sids[:5])
    assert s[sids[4]].decision == "edit" and s[sids[4]].edited_messages[-1]["content"] == "Better."
    assert selectors.review_queue(user=curator) == []

    # annotator2 changes their mind on items 2 and 3 and disagrees on item 6: the project drops below 0.8
    services.annotation_submit(item=items[2], annotator=annotator2, label=label("question"))
    services.annotation_submit(item=items[3], annotator=annotator2, label=label("request"))
    for u in (annotator, annotator2):  # ... while both reject item 5
        services.annotation_submit(item=items[5], annotator=u, label=label("question", "reject"))
    services.annotation_submit(item=items[6], annotator=annotator, label=label("question"))
    services.annotation_submit(item=items[6], annotator=annotator2, label=label("complaint"))
    report = selectors.project_agreement_report(user=curator, project=project, bootstrap=False)
    assert report["passes_gate"] is False and report["overall_alpha"] < 0.8
    assert report["gate"]["status"] == "below" and report["gate"]["in_review"] is True
    gate = selectors.project_gate(project)
    assert gate.in_review and gate.value == report["overall_alpha"] and gate.threshold == 0.8

    # the bulk majority vote decides nothing more; the project is in the review queue with its items
    assert services.project_adjudicate_majority(project=project, user=curator) == {"review": 2, "gate": "below"}
    queue = selectors.review_queue(user=curator)
    assert [r["project"].pk for r in queue] == [project.pk]
    assert queue[0]["gate"].value == gate.value and queue[0]["failing_fields"][0][0] == "intent"
    assert {q["item_id"] for q in queue[0]["low_items"]} == {items[6].pk}  # 2 and 3 were decided by majority

    # a curator decides item 2, and takes the majority for item 0 on its own page
    services.item_adjudicate(item=items[2], method="curator", user=curator, final_label=label("question"))
    services.item_adjudicate(item=items[0], method="majority", user=curator)
    s = selectors.sample_label_summaries(sample_ids=sids)
    assert [s[sid].adjudicated for sid in sids] == [True, False, True, False, False, False, False]
    assert [s[sid].in_review for sid in sids] == [False, True, False, True, True, True, True]
    assert "below its agreement gate" in s[sids[1]].review_reason
    assert s[sids[4]].decision == "" and s[sids[4]].edited_messages is None  # the bulk-voted edit is withheld
    assert s[sids[1]].decision == "" and s[sids[5]].decision == "reject"  # accept withheld, reject kept
    chosen = dataset_samples_select(collection=col, spec={"adjudicated_only": True})
    assert sorted(c.sample_id for c in chosen.candidates) == [sids[0], sids[2]]

    # a curator accepts the project below the gate (with a reason): the majority decisions count again
    with pytest.raises(services.AnnotationError, match="note is required"):
        services.project_gate_accept(project=project, user=curator, note=" ")
    services.project_gate_accept(project=project, user=curator, note="pilot batch, intent guide rewritten")
    project.refresh_from_db()
    gate = selectors.project_gate(project)
    assert gate.status == "accepted" and not gate.in_review and gate.accepted_by == "curator"
    assert project.gate_accepted_value == pytest.approx(report["overall_alpha"])
    assert selectors.review_queue(user=curator) == []
    s = selectors.sample_label_summaries(sample_ids=sids)
    assert [s[sid].adjudicated for sid in sids] == [True, True, True, True, True, False, False]
    assert s[sids[4]].decision == "edit" and s[sids[4]].edited_messages is not None
    services.project_gate_revoke(project=project, user=curator)
    project.refresh_from_db()
    assert selectors.project_gate(project).in_review
    assert not selectors.sample_label_summaries(sample_ids=[sids[1]])[sids[1]].adjudicated


def test_gold_accuracy_scores_imperfect_annotators(db, curator, annotator, annotator2, django_user_model):
    from tests.conftest import _make_user

    third = _make_user(django_user_model, "annotator3", "annotator")
    col = make_collection(name="gold-acc", n=3)
    samples = list(col.samples.order_by("id"))
    gold = dict(zip((s.pk for s in samples), ("question", "complaint", "request")))
    project = services.project_create(name="Gold accuracy", collection=col, scheme=PRESETS["intent"], overlap=1,
                                      annotators=[annotator, annotator2, third], user=curator,
                                      gold={pk: {"intent": g} for pk, g in gold.items()})
    answers = {annotator: ("question", "complaint", "request"),   # 3 of 3
               annotator2: ("question", "complaint", "feedback"),  # 2 of 3
               third: ("other", "other", "request")}               # 1 of 3
    for user, labels in answers.items():
        for sample, lab in zip(samples, labels):
            services.annotation_submit(item=project.items.get(sample=sample), annotator=user, label={"intent": lab})
    acc = {s["username"]: s["gold_accuracy"] for s in selectors.annotator_stats(user=curator, project=project)}
    assert acc == {"annotator1": 1.0, "annotator2": pytest.approx(2 / 3), "annotator3": pytest.approx(1 / 3)}

    # several fields: every compared field of every gold item counts (3 of the 4 fields right)
    col2 = make_collection(name="gold-fields", n=1)
    p2 = services.project_create(name="Gold fields", collection=col2, scheme=PRESETS["sft_review"], overlap=1,
                                 annotators=[annotator], user=curator,
                                 gold={col2.samples.get().pk: sft_label(5, "accept")})
    services.annotation_submit(item=p2.items.get(), annotator=annotator,
                               label={**sft_label(5, "accept"), "accuracy": 3})
    assert selectors.annotator_stats(user=curator, project=p2)[0]["gold_accuracy"] == 0.75


def test_gate_is_computed_once_until_the_labels_change(db, curator, annotator, annotator2,
                                                       django_assert_max_num_queries):
    """The exporter asks chunk by chunk: the project's agreement is not recomputed for every chunk."""
    col = make_collection(name="gate-cache", n=3)
    project = services.project_create(name="Cache", collection=col, scheme=PRESETS["intent"], overlap=2,
                                      annotators=[annotator, annotator2], user=curator)
    items = list(project.items.order_by("position"))
    for item, (x, y) in zip(items, (("question", "question"), ("complaint", "complaint"), ("request", "other"))):
        services.annotation_submit(item=item, annotator=annotator, label={"intent": x})
        services.annotation_submit(item=item, annotator=annotator2, label={"intent": y})
    first = selectors.project_gate(project)
    with django_assert_max_num_queries(1):  # only the project row: the cached state is reused
        assert selectors.project_gate(project) == first
    services.annotation_submit(item=items[2], annotator=annotator2, label={"intent": "request"})
    assert first.status == "below" and selectors.project_gate(project).status == "passes"
    services.annotation_delete(annotation=Annotation.objects.get(item=items[0], annotator=annotator2))
    assert selectors.project_gate(project).value == selectors.project_agreement_report(
        user=curator, project=project, bootstrap=False)["overall_alpha"]
