"""Browser (real Chromium): a curator builds a glossary, labels documents with htmx and trains the classifier."""
from __future__ import annotations

import hashlib

import pytest

from curation.models import Collection, Document, GlossaryTerm, QualityClassifier, QualityExample
from tests.conftest import browser_login

from .test_quality import _examples


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_curator_glossary_and_quality_classifier(page, curator):
    collection = Collection.objects.create(name="fin")
    texts, labels = _examples()
    docs = [Document.objects.create(collection=collection, text=t, record_index=i, char_count=len(t),
                                    content_hash=hashlib.sha256(t.encode()).hexdigest()) for i, t in enumerate(texts, 1)]
    browser_login(page, "curator")

    page.goto(f"/collections/{collection.pk}/glossary/")
    page.fill("#glossary-add [name=canonical]", "信用卡")
    page.fill("#glossary-add [name=variants]", "信用咭，credit card")
    page.click("#glossary-add button[type=submit]")
    page.wait_for_selector("#glossary-terms >> text=信用咭")
    page.fill("#glossary-add [name=canonical]", "信用卡")
    page.click("#glossary-add button[type=submit]")
    assert "already in this glossary" in page.inner_text("#glossary-add")
    assert GlossaryTerm.objects.get().variants == ["信用咭", "credit card"]

    page.goto(f"/collections/{collection.pk}/quality/")
    for doc, y in zip(docs, labels):
        row = f"#qdoc-{doc.pk}"
        page.click(f"{row} button[value={'accepted' if y else 'rejected'}]")
        page.wait_for_selector(f"{row} .badge:text('{'accepted' if y else 'rejected'}')")  # htmx swapped the row
    assert QualityExample.objects.count() == 12
    page.click("#quality-train button")
    page.wait_for_selector("#chart-folds .main-svg")  # plotly rendered the fold accuracies
    clf = QualityClassifier.objects.get()
    assert page.inner_text("#cv-accuracy") == f"{clf.cv_accuracy:.3f}"
