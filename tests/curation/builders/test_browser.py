"""In a real browser: the template editor's live preview updates as the curator types (htmx), and the
augmentation page shows acceptance charts drawn by the local plotly.js."""
from __future__ import annotations

import json

import pytest

from curation.augment.services import samples_augment
from curation.hashing import messages_hash
from curation.ingest.services import ingest_paths
from curation.models import Collection, Sample
from tests.conftest import browser_login


@pytest.fixture
def collection(transactional_db, tmp_path):
    coll = Collection.objects.create(name="clinic", domain="medical")
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps({"text": "45岁,头痛发烧", "age": 45, "symptoms": ["头痛", "发烧"],
                                "diagnosis": "普通感冒"}, ensure_ascii=False) + "\n", encoding="utf-8")
    ingest_paths(collection=coll, paths=[path])
    msgs = [{"role": "user", "content": "How can I close my savings account quickly?"},
            {"role": "assistant", "content": "Visit any branch."}]
    Sample.objects.create(collection=coll, messages=msgs, content_hash=messages_hash(msgs), language="en")
    return coll


def test_live_preview_and_acceptance_charts(page, curator, collection):
    browser_login(page, "curator")
    page.goto(f"/collections/{collection.pk}/builders/")
    # the name is still empty (required on save): the preview must not wait for a valid form
    page.fill("textarea[name=instruction]", "用户年龄:{age},症状:{symptoms}")
    page.fill("textarea[name=response]", "{diagnosis}")
    page.wait_for_selector("#template-preview :text('用户年龄:45,症状:头痛、发烧')")
    assert "普通感冒" in page.inner_text("#template-preview")
    page.fill("textarea[name=response]", "{weight}")
    page.wait_for_selector("#template-preview :text(\"missing field 'weight'\")")

    page.goto(f"/collections/{collection.pk}/augment/")
    page.check("input[value=synonym]")
    page.fill("input[name=ratio]", "1")
    page.set_default_timeout(120_000)  # the job runs inside the request here (immediate task backend)
    page.click("#augment-form button")
    page.wait_for_url("**/jobs/*/")
    page.goto(f"/collections/{collection.pk}/augment/")
    page.wait_for_selector("#fig-acceptance .main-svg")
    assert Sample.objects.filter(origin="augmented", method="synonym").count() == 1
