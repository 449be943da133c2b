"""Entity spans: span F1, character-level agreement, the review gate and the consensus proposal."""
import json
import math

import krippendorff
import numpy as np
import pytest
from django.urls import reverse
from sklearn.metrics import cohen_kappa_score

from annotation import agreement as A
from annotation import selectors, services
from annotation.models import Adjudication, Annotation
from annotation.schemes import PRESETS
from tests.conftest import api_client_for

from .helpers import make_collection, spans_of


# ------------------------------------------------------------------------------------ span F1
def test_span_f1_exact_and_partial_by_hand():
    data = {
        "doc1": {"a": [(0, 5, "PER"), (10, 12, "LOC")], "b": [(0, 5, "PER"), (9, 12, "LOC")], "c": []},
        "doc2": {"a": [(3, 6, "PER")], "b": []},
        "doc3": {"a": [], "b": []},  # both marked nothing: agreement 1 for the item, nothing to pool
    }
    exact = A.span_f1(data, mode="exact")
    # matched / spans per pair: doc1 a-b 1/4, a-c 0/2, b-c 0/2; doc2 a-b 0/1 → 2·1 / 9
    assert exact["f1"] == pytest.approx(2 / 9)
    assert exact["pairs"] == pytest.approx({("a", "b"): 2 * 1 / 5, ("a", "c"): 0.0, ("b", "c"): 0.0})
    assert exact["per_item"] == pytest.approx({"doc1": (0.5 + 0 + 0) / 3, "doc2": 0.0, "doc3": 1.0})
    assert exact["per_label"] == pytest.approx({"LOC": 0.0, "PER": 2 * 1 / 5})
    partial = A.span_f1(data, mode="partial")  # 9–12 overlaps 10–12 with the same label
    assert partial["f1"] == pytest.approx(2 * 2 / 9)
    assert partial["per_label"]["LOC"] == pytest.approx(2 * 1 / 4)
    assert math.isnan(A.span_f1({"x": {"a": [], "b": []}})["f1"])


def test_partial_match_is_one_to_one_and_needs_the_same_label():
    long, shorts = [(0, 30, "PER")], [(0, 5, "PER"), (10, 15, "PER"), (20, 25, "PER")]
    assert len(A.span_matches(long, shorts, mode="partial")) == 1
    assert A.span_matches([(0, 5, "PER")], [(0, 5, "ORG")], mode="partial") == []
    assert A.span_matches([(0, 5, "PER")], [(5, 9, "PER")], mode="partial") == []  # touching is not overlapping
    # a greedy pass would pair a0 with b0 and leave a1 unmatched; the maximum matching pairs both
    a, b = [(0, 10, "X"), (8, 9, "X")], [(5, 9, "X"), (9, 12, "X")]
    assert len(A.span_matches(a, b, mode="partial")) == 2
    with pytest.raises(ValueError, match="mode"):
        A.span_matches(a, b, mode="fuzzy")


# ------------------------------------------------------------------------------- character level
def _per_character(data, labels, lengths):
    """Independent reference: one row per character, spans painted so the first-starting one wins."""
    anns = sorted({a for by in data.values() for a in by})
    code = {lab: k + 1 for k, lab in enumerate(labels)}
    rows = []
    for item, by in data.items():
        block = np.full((lengths[item], len(anns)), -1)
        for a, spans in by.items():
            col = np.zeros(lengths[item], dtype=int)
            for s, e, lab in sorted(spans, key=lambda t: (t[0], -t[1]), reverse=True):
                col[s:e] = code[lab]
            block[:, anns.index(a)] = col
        rows.append(block)
    return np.vstack(rows), anns


def _random_spans(rng, n_items=40, annotators="abcd", labels=("PER", "ORG", "LOC")):
    data, lengths = {}, {}
    for i in range(n_items):
        n = int(rng.integers(20, 120))
        lengths[i] = n
        truth = []
        for _ in range(int(rng.integers(0, 5))):
            s = int(rng.integers(0, n - 5))
            truth.append((s, s + int(rng.integers(1, 5)), str(rng.choice(labels))))
        by = {}
        for a in annotators:
            if rng.random() < 0.2:
                continue  # did not label this item
            spans = [t for t in truth if rng.random() < 0.8]
            if rng.random() < 0.3:  # a boundary or label slip, sometimes overlapping another span
                s = int(rng.integers(0, n - 6))
                spans.append((s, s + int(rng.integers(1, 6)), str(rng.choice(labels))))
            by[a] = spans
        if by:
            data[i] = by
    return data, lengths


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_character_level_matches_krippendorff_and_sklearn_per_character(seed):
    rng = np.random.default_rng(seed)
    labels = ("PER", "ORG", "LOC")
    data, lengths = _random_spans(rng)
    runs = A.char_runs(data, labels, lengths)
    X, anns = _per_character(data, labels, lengths)
    assert runs.annotators == anns and runs.weights.sum() == len(X) and len(runs.data) < len(X) / 4
    assert (runs.expand() == X).all()
    got = A.char_agreement(runs)
    ref = krippendorff.alpha(reliability_data=np.where(X < 0, np.nan, X).T.astype(float),
                             level_of_measurement="nominal", value_domain=list(range(4)))
    assert got["alpha"] == pytest.approx(ref, abs=1e-9)
    marked = (X > 0).any(1)
    ref_marked = krippendorff.alpha(reliability_data=np.where(X[marked] < 0, np.nan, X[marked]).T.astype(float),
                                    level_of_measurement="nominal", value_domain=list(range(4)))
    assert got["alpha_marked"] == pytest.approx(ref_marked, abs=1e-9)
    assert len(got["cohen"]) == 6
    for (a, b), kappa in got["cohen"].items():
        i, j = anns.index(a), anns.index(b)
        both = (X[:, i] >= 0) & (X[:, j] >= 0)
        assert kappa == pytest.approx(cohen_kappa_score(X[both, i], X[both, j], labels=list(range(4))), abs=1e-9)
    per = A.per_label_agreement(runs.data, 4, unit_weights=runs.weights)
    for d, ref_d in zip(per, A.per_label_agreement(X, 4)):
        assert d["share"] == pytest.approx(ref_d["share"]) and d["alpha"] == pytest.approx(ref_d["alpha"], nan_ok=True)


def test_character_level_overlaps_missing_annotators_and_unknown_length():
    data = {1: {"a": [(2, 8, "ORG"), (0, 4, "PER")], "b": [(0, 4, "PER"), (4, 8, "ORG")]},
            2: {"a": [(1, 3, "PER")]}}
    runs = A.char_runs(data, ["PER", "ORG"], {1: 10})
    # item 1: a's PER (starts first) wins on 2–4; item 2 has no length: it ends at its last span
    assert runs.expand()[:, 0].tolist() == [1, 1, 1, 1, 2, 2, 2, 2, 0, 0] + [0, 1, 1]
    assert runs.expand()[:, 1].tolist() == [1, 1, 1, 1, 2, 2, 2, 2, 0, 0] + [-1, -1, -1]
    assert A.char_agreement(runs)["alpha"] == 1.0


def test_span_consensus_is_a_strict_majority_of_annotators():
    alice, paris = {"start": 0, "end": 5, "label": "PER", "text": "Alice"}, {"start": 9, "end": 14, "label": "LOC"}
    assert A.span_consensus([[alice, paris], [alice], []]) == [{**alice, "votes": 2}]
    assert A.span_consensus([[alice], []]) == []  # one of two is no majority
    assert A.span_consensus([[alice, alice], [], []]) == []  # a duplicate is still one vote
    assert [s["votes"] for s in A.span_consensus([[alice, paris], [alice, paris], [paris]])] == [2, 3]


# ------------------------------------------------------------------------------- project level
@pytest.fixture
def ner_project(db, curator, annotator, annotator2, django_user_model):
    """Two documents, three annotators each: one item disagrees, the other agrees."""
    from tests.conftest import _make_user

    third = _make_user(django_user_model, "annotator3", "annotator")
    col = make_collection(name="ner", n=2)
    project = services.project_create(name="NER", collection=col, scheme=PRESETS["entities"], target="document",
                                      overlap=3, annotators=[annotator, annotator2, third], user=curator)
    doc_a, doc_b = project.items.order_by("position")
    ta, tb = selectors.item_text(doc_a), selectors.item_text(doc_b)
    labels = {
        (doc_a, annotator): spans_of(ta, ("Alice Smith", "PERSON"), ("aspirin", "DRUG"), ("Paris", "LOCATION")),
        (doc_a, annotator2): spans_of(ta, ("Alice Smith", "PERSON"), ("aspirin", "DRUG")),
        (doc_a, third): spans_of(ta, ("Alice", "PERSON"), ("aspirin", "DRUG"), ("Paris", "LOCATION")),
    }
    for u in (annotator, annotator2, third):
        labels[(doc_b, u)] = spans_of(tb, ("Alice Smith", "PERSON"))
    for (item, user), spans in labels.items():
        services.annotation_submit(item=item, annotator=user, label={"entities": spans})
    project.doc_a, project.doc_b, project.texts = doc_a, doc_b, (ta, tb)
    return project


def test_project_report_has_span_agreement(ner_project, curator):
    report = selectors.project_agreement_report(user=curator, project=ner_project)
    (f,) = report["fields"]
    assert f["field"] == "entities" and f["level"] == "spans" and f["n_items_compared"] == 2
    # exact: doc A pairs match 2/5, 2/6, 1/5 spans, doc B 1/2 for each of 3 pairs → 2·8 / 22
    assert f["span_f1_exact"] == pytest.approx(16 / 22, abs=1e-6)
    assert f["span_f1_partial"] == pytest.approx(20 / 22, abs=1e-6)  # "Alice" overlaps "Alice Smith"
    assert f["n_spans"] == 11 and set(f["annotators"]) == {"annotator1", "annotator2", "annotator3"}
    per_label = {d["label"]: d for d in f["span_f1_per_label"]}
    assert per_label["DRUG"]["exact"] == 1.0 and per_label["DISEASE"]["exact"] is None
    # character level against the krippendorff package on one row per character
    ta, tb = ner_project.texts
    users = sorted(set(Annotation.objects.values_list("annotator_id", flat=True)))
    X = []
    for item, text in ((ner_project.doc_a, ta), (ner_project.doc_b, tb)):
        block = np.zeros((len(text), 3))
        for ann in Annotation.objects.filter(item=item):
            for s in ann.label["entities"]:
                block[s["start"]:s["end"], users.index(ann.annotator_id)] = f["categories"].index(s["label"])
        X.append(block)
    X = np.vstack(X)
    assert f["n_characters"] == len(X)
    ref = krippendorff.alpha(reliability_data=X.T, level_of_measurement="nominal")
    assert f["krippendorff_alpha"] == pytest.approx(ref, abs=1e-6)
    assert report["overall_alpha"] == f["krippendorff_alpha"]
    k12 = f["cohen_kappa"]["annotator1|annotator2"]
    assert k12 == pytest.approx(cohen_kappa_score(X[:, 0], X[:, 1]), abs=1e-6)


def test_span_items_enter_the_review_gate_and_majority_takes_consensusspans_of(ner_project, curator):
    agreement = selectors.project_item_agreement(ner_project)
    assert agreement[ner_project.doc_a.pk] == pytest.approx((4 / 5 + 4 / 6 + 2 / 5) / 3)
    assert agreement[ner_project.doc_b.pk] == 1.0
    queue = selectors.low_agreement_queue(user=curator, project=ner_project)
    assert [q["item_id"] for q in queue] == [ner_project.doc_a.pk]
    counts = services.project_adjudicate_majority(project=ner_project, user=curator)
    assert counts == {"majority": 1, "review": 1, "gate": "passes"}
    final = Adjudication.objects.get(item=ner_project.doc_b).final_label["entities"]
    assert [(s["text"], s["label"]) for s in final] == [("Alice Smith", "PERSON")]
    # the curator may still take the majority on the disputed item: spans two of three marked
    adj = services.item_adjudicate(item=ner_project.doc_a, method="majority", user=curator)
    assert [(s["text"], s["label"]) for s in adj.final_label["entities"]] == [
        ("Alice Smith", "PERSON"), ("aspirin", "DRUG"), ("Paris", "LOCATION")]
    assert "votes" not in adj.final_label["entities"][0]


def test_project_page_api_and_adjudication_page_showspans_of(ner_project, curator_client, curator):
    r = curator_client.get(reverse("annotation:project_detail", args=[ner_project.pk]))
    assert r.status_code == 200
    assert b"span F1 exact 0.727273" in r.content and b"partial 0.909091" in r.content
    charts = json.loads(r.content.decode().split('type="application/json">')[1].split("</script>")[0])
    assert {"spanf1-entities", "heat-entities", "conf-entities"} <= {c["id"] for c in charts}
    report = api_client_for(curator).get(f"/api/labeling-projects/{ner_project.pk}/agreement/").json()
    assert report["fields"][0]["span_f1_exact"] == pytest.approx(16 / 22, abs=1e-6)

    r = curator_client.get(reverse("annotation:adjudicate", args=[ner_project.doc_a.pk]))
    assert r.status_code == 200
    votes = {(s["text"], s["votes"], s["majority"]) for s in r.context["span_votes"][0]["spans"]}
    assert votes == {("Alice Smith", 2, True), ("Alice", 1, False), ("aspirin", 3, True), ("Paris", 2, True)}
    proposal = json.loads(r.context["spans_json"])
    assert [s["text"] for s in proposal] == ["Alice Smith", "aspirin", "Paris"]
    assert b"span votes" in r.content and b"3 / 3" in r.content
    # saving the proposal as it is posts it back through the same form
    r = curator_client.post(reverse("annotation:adjudicate", args=[ner_project.doc_a.pk]),
                            {"method": "curator", "entities": json.dumps(proposal)})
    assert r.status_code == 302
    assert len(Adjudication.objects.get(item=ner_project.doc_a).final_label["entities"]) == 3


def test_sample_summary_carries_span_agreement_and_consensus(db, curator, annotator, annotator2):
    col = make_collection(name="ner-samples", n=1)
    project = services.project_create(name="Sample NER", collection=col, scheme=PRESETS["entities"], overlap=2,
                                      annotators=[annotator, annotator2], user=curator)
    item = project.items.get()
    text = selectors.item_text(item)
    both = spans_of(text, ("symptom 0", "DISEASE"))
    services.annotation_submit(item=item, annotator=annotator, label={"entities": both})
    services.annotation_submit(item=item, annotator=annotator2,
                               label={"entities": both + spans_of(text, ("Rest", "DRUG"))})
    s = selectors.sample_label_summaries(sample_ids=[item.sample_id])[item.sample_id]
    assert s.agreement == pytest.approx(2 * 1 / 3)  # 1 of 1 and 1 of 2 spans match
    assert [(x["text"], x["label"]) for x in s.final_label["entities"]] == [("symptom 0", "DISEASE")]
