"""Glossary and quality-classifier pages: curator flows, validation, role checks, and the steps using them."""
from __future__ import annotations

import hashlib
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from curation.models import Collection, Document, GlossaryTerm, QualityClassifier, QualityExample
from curation.pipeline.base import StepConfigError, build_step

from .helpers import reasons, run_step
from .test_quality import _examples


@pytest.fixture
def collection(db):
    return Collection.objects.create(name="med", title="Medical")


def _doc(collection, text, i):
    return Document.objects.create(collection=collection, text=text, record_index=i,
                                   content_hash=hashlib.sha256(text.encode()).hexdigest(), char_count=len(text))


def test_annotator_gets_403_everywhere(annotator_client, collection):
    term = GlossaryTerm.objects.create(collection=collection, canonical="高血压", variants=["高血壓"])
    doc = _doc(collection, "text", 1)
    pk = collection.pk
    gets = [reverse("curation:glossary", args=[pk]), reverse("curation:glossary_term_edit", args=[pk, term.pk]),
            reverse("curation:glossary_export", args=[pk]), reverse("curation:quality_classifier", args=[pk])]
    posts = gets[:2] + [reverse("curation:glossary_term_delete", args=[pk, term.pk]),
                        reverse("curation:glossary_import", args=[pk]),
                        reverse("curation:quality_label", args=[pk, doc.pk]), reverse("curation:quality_train", args=[pk])]
    for url in gets:
        assert annotator_client.get(url).status_code == 403, url
    for url in posts:
        assert annotator_client.post(url, {"canonical": "x", "label": "accepted"}).status_code == 403, url
    assert GlossaryTerm.objects.get().canonical == "高血压" and not QualityExample.objects.exists()


def test_anonymous_is_sent_to_login(client, collection):
    r = client.get(reverse("curation:glossary", args=[collection.pk]))
    assert r.status_code == 302 and "login" in r["Location"]


def test_curator_adds_edits_deletes_terms_with_validation(curator_client, collection):
    url = reverse("curation:glossary", args=[collection.pk])
    r = curator_client.post(url, {"canonical": "高血压", "variants": "高血壓, HBP，hypertension", "synonyms": "血压高"})
    assert r.status_code == 302
    term = GlossaryTerm.objects.get()
    assert term.variants == ["高血壓", "HBP", "hypertension"] and term.synonyms == ["血压高"]
    assert term.created_by.username == "curator"
    # duplicate canonical and a variant owned by another term are refused with a message, nothing written
    r = curator_client.post(url, {"canonical": "高血压", "variants": ""})
    assert r.status_code == 400 and "already in this glossary" in r.content.decode()
    r = curator_client.post(url, {"canonical": "血压升高", "variants": "hbp"})
    assert r.status_code == 400 and "already a variant of" in r.content.decode()
    r = curator_client.post(url, {"canonical": "", "variants": "x"})
    assert r.status_code == 400 and "required" in r.content.decode()
    assert GlossaryTerm.objects.count() == 1
    page = curator_client.get(url).content.decode()
    assert "高血壓" in page and "collection: med" in page
    edit = reverse("curation:glossary_term_edit", args=[collection.pk, term.pk])
    assert curator_client.post(edit, {"canonical": "高血压", "variants": "HBP", "synonyms": "HBP"}).status_code == 400
    assert curator_client.post(edit, {"canonical": "高血压病", "variants": "HBP"}).status_code == 302
    term.refresh_from_db()
    assert term.canonical == "高血压病" and term.variants == ["HBP"]
    assert curator_client.post(reverse("curation:glossary_term_delete", args=[collection.pk, term.pk])).status_code == 302
    assert not GlossaryTerm.objects.exists()


def test_output_is_escaped(curator_client, collection):
    GlossaryTerm.objects.create(collection=collection, canonical="<script>alert(1)</script>", variants=["<b>x</b>"])
    page = curator_client.get(reverse("curation:glossary", args=[collection.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_export_import_round_trip_and_bad_file_writes_nothing(curator_client, collection, tmp_path):
    GlossaryTerm.objects.create(collection=collection, canonical="心肌梗死", variants=["心梗", "MI"], synonyms=["心脏病发作"])
    r = curator_client.get(reverse("curation:glossary_export", args=[collection.pk]))
    exported = json.loads(r.content)
    assert exported == [{"canonical": "心肌梗死", "variants": ["心梗", "MI"], "synonyms": ["心脏病发作"]}]
    other = Collection.objects.create(name="other")
    imp = reverse("curation:glossary_import", args=[other.pk])
    r = curator_client.post(imp, {"file": SimpleUploadedFile("g.json", r.content, "application/json")})
    assert r.status_code == 302
    assert [t.as_dict() for t in GlossaryTerm.objects.filter(collection=other)] == exported
    # a bad item in the middle: nothing from the file is written
    bad = json.dumps([{"canonical": "新词", "variants": ["x"]}, {"variants": ["no canonical"]}]).encode()
    r = curator_client.post(imp, {"file": SimpleUploadedFile("bad.json", bad, "application/json")}, follow=True)
    assert "item 2 needs a non-empty" in r.content.decode() and "Nothing was imported" in r.content.decode()
    r = curator_client.post(imp, {"file": SimpleUploadedFile("bad.json", b"{oops", "application/json")}, follow=True)
    assert "not valid JSON: line 1" in r.content.decode()
    assert GlossaryTerm.objects.filter(collection=other).count() == 1
    # the exported file drives the step headless
    path = tmp_path / "terms.json"
    path.write_bytes(json.dumps(exported, ensure_ascii=False).encode())
    kept, _, step = run_step("glossary", [{"id": "1", "text": "患者心梗后入院，MI 复查，心脏病发作史。"}], terms_file=str(path))
    assert kept[0]["text"] == "患者心肌梗死后入院，心肌梗死 复查，心脏病发作史。"
    assert step.stats.counters["心肌梗死"] == 2


def test_glossary_step_reads_the_collection_from_the_database(collection):
    GlossaryTerm.objects.create(collection=collection, canonical="blood pressure", variants=["BP", "b.p."])
    kept, _, _ = run_step("glossary", [{"id": "1", "text": "Check BP daily; b.p. above 140 needs review. BPM is fine."}],
                          collection="med")
    assert kept[0]["text"] == "Check blood pressure daily; blood pressure above 140 needs review. BPM is fine."
    with pytest.raises(StepConfigError, match="no collection named 'nope'"):
        build_step("glossary", {"collection": "nope"}).ensure_setup()


def test_glossary_step_leaves_placeholders_and_synonyms_alone():
    terms = [{"canonical": "customer", "variants": ["person", "client"], "synonyms": ["patron"]}]
    kept, _, _ = run_step("glossary", [{"id": "1", "text": "[PERSON_1] is a person and a patron. Clients?"}], terms=terms)
    assert kept[0]["text"] == "[PERSON_1] is a customer and a patron. Clients?"
    kept, _, _ = run_step("glossary", [{"id": "1", "text": "a patron"}], terms=terms, replace_synonyms=True)
    assert kept[0]["text"] == "a customer"


def test_glossary_messages_records():
    rec = {"id": "s", "messages": [{"role": "user", "content": "我的信用咭丢了"}, {"role": "assistant", "content": "请挂失信用咭。"}]}
    kept, _, _ = run_step("glossary", [rec], terms=[{"canonical": "信用卡", "variants": ["信用咭"]}])
    assert [m["content"] for m in kept[0]["messages"]] == ["我的信用卡丢了", "请挂失信用卡。"]


def test_curator_labels_trains_and_the_step_uses_the_classifier(curator_client, collection):
    texts, labels = _examples()
    docs = [_doc(collection, t, i) for i, t in enumerate(texts, 1)]
    page = reverse("curation:quality_classifier", args=[collection.pk])
    train = reverse("curation:quality_train", args=[collection.pk])
    # too few examples: a clear message, no classifier
    r = curator_client.post(train, follow=True)
    assert "Need at least 3 accepted and 3 rejected" in r.content.decode()
    assert not QualityClassifier.objects.exists()
    for doc, y in zip(docs, labels):
        r = curator_client.post(reverse("curation:quality_label", args=[collection.pk, doc.pk]),
                                {"label": "accepted" if y else "rejected"}, HTTP_HX_REQUEST="true")
        assert r.status_code == 200 and f'id="qdoc-{doc.pk}"' in r.content.decode()
    assert QualityExample.objects.filter(label="accepted").count() == 6
    bad = curator_client.post(reverse("curation:quality_label", args=[collection.pk, docs[0].pk]), {"label": "maybe"})
    assert bad.status_code == 400
    r = curator_client.post(train, follow=True)
    clf = QualityClassifier.objects.get()
    assert clf.is_active and clf.n_accepted == 6 and clf.n_rejected == 6 and len(clf.cv_scores) == 5
    assert "cross-validated accuracy" in r.content.decode()
    body = curator_client.get(page).content.decode()
    assert "chart-folds" in body and f"{clf.cv_accuracy:.3f}" in body
    # retraining deactivates the old one
    curator_client.post(train)
    assert QualityClassifier.objects.filter(is_active=True).count() == 1
    # the quality step picks the collection's active classifier
    recs = [{"id": "ok", "text": texts[0]}, {"id": "spam", "text": "CLICK HERE!!! Win free prize!!! 点击领取红包！！！"}]
    kept, rejected, _ = run_step("quality", recs, classifier_collection="med", classifier_threshold=0.6)
    assert [r["id"] for r in kept] == ["ok"] and reasons(rejected) == {"spam": "classifier"}
    # clearing a mark removes the example
    curator_client.post(reverse("curation:quality_label", args=[collection.pk, docs[0].pk]), {"label": ""})
    assert QualityExample.objects.count() == 11
    unl = curator_client.get(page + "?label=unlabelled").content.decode()
    assert f'id="qdoc-{docs[0].pk}"' in unl and f'id="qdoc-{docs[1].pk}"' not in unl


def test_quality_step_without_a_trained_classifier_says_so(collection):
    with pytest.raises(StepConfigError, match="has no trained quality classifier"):
        build_step("quality", {"classifier_collection": "med"}).ensure_setup()
