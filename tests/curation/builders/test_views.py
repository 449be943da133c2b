"""Pages of the augment area: sample browser, parent diff, augmentation form + stats, template editor with
htmx live preview on a real ingested file, QA and build jobs; role checks."""
from __future__ import annotations

import json

import pytest
from django.urls import reverse

from curation.augment.services import samples_augment
from curation.hashing import messages_hash
from curation.ingest.services import ingest_paths
from curation.models import Collection, InstructionTemplate, Sample
from refinery.models import Job

CASES = [
    {"text": "45岁,头痛发烧三天", "age": 45, "symptoms": ["头痛", "发烧"], "diagnosis": "普通感冒"},
    {"text": "30岁,干咳一周", "age": 30, "symptoms": ["咳嗽"], "diagnosis": "支气管炎"},
]


@pytest.fixture
def collection(db):
    return Collection.objects.create(name="clinic", domain="medical")


@pytest.fixture
def ingested(collection, tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in CASES) + "\n", encoding="utf-8")
    ingest_paths(collection=collection, paths=[path])
    return collection.source_files.get()


@pytest.fixture
def augmented(collection):
    msgs = [{"role": "user", "content": "How can I close my savings account quickly?"},
            {"role": "assistant", "content": "Visit any branch."}]
    Sample.objects.create(collection=collection, messages=msgs, content_hash=messages_hash(msgs), language="en")
    held = [{"role": "user", "content": "What is the fee for a wire transfer?"}, {"role": "assistant", "content": "10 yuan."}]
    Sample.objects.create(collection=collection, messages=held, content_hash=messages_hash(held), split="test")
    samples_augment(collection=collection, methods=["synonym"], ratio=1.0)
    return Sample.objects.get(origin="augmented")


def test_pages_need_the_curator_role(annotator_client, collection):
    for name in ("sample_browser", "augment", "builders"):
        assert annotator_client.get(reverse(f"curation:{name}", args=[collection.pk])).status_code == 403


def test_sample_browser_filters_by_origin_and_method(curator_client, collection, augmented):
    url = reverse("curation:sample_browser", args=[collection.pk])
    page = curator_client.get(url).content.decode()
    assert "fig-origins" in page and "plotly.min.js" in page and "synonym (1)" in page
    only = curator_client.get(url, {"origin": "augmented", "method": "synonym"})
    assert list(only.context["page"]) == [augmented]
    assert list(curator_client.get(url, {"split": "test"}).context["page"])[0].split == "test"
    zh = [{"role": "user", "content": "我的信用卡丢了"}, {"role": "assistant", "content": "请挂失"}]
    mine = Sample.objects.create(collection=collection, messages=zh, content_hash=messages_hash(zh))
    assert list(curator_client.get(url, {"q": "信用卡"}).context["page"]) == [mine]


def test_diff_page_shows_changes_against_the_parent(curator_client, augmented):
    page = curator_client.get(reverse("curation:sample_diff", args=[augmented.pk])).content.decode()
    assert 'class="diff-del"' in page and 'class="diff-ins"' in page and "(unchanged)" in page
    replaced = augmented.meta["augment"]["replaced"][0]
    assert f'<span class="diff-del">{replaced["from"]}</span>' in page
    parent = curator_client.get(reverse("curation:sample_diff", args=[augmented.parent_id])).content.decode()
    assert reverse("curation:sample_diff", args=[augmented.pk]) in parent  # children listed


def test_augment_form_starts_a_job_and_shows_acceptance(curator_client, collection, augmented,
                                                       django_capture_on_commit_callbacks):
    url = reverse("curation:augment", args=[collection.pk])
    with django_capture_on_commit_callbacks(execute=True):
        resp = curator_client.post(url, {"methods": ["perturb", "dialogue"], "ratio": "1"})
    job = Job.objects.get(kind="curation.augment")
    assert resp.status_code == 302 and resp["Location"] == reverse("job_detail", args=[job.pk])
    assert job.status == "succeeded" and set(job.result["methods"]) == {"perturb", "dialogue"}
    page = curator_client.get(url)
    assert page.context["latest"] == job and set(page.context["figures"]) >= {"acceptance"}
    assert "held-out samples never touched" in page.content.decode()
    bad = curator_client.post(url, {"methods": ["perturb"], "ratio": "lots"})
    assert bad.status_code == 400 and "Ratio must be a number" in bad.content.decode()
    none = curator_client.post(url, {"ratio": "0.5"})
    assert none.status_code == 400 and "Valid methods" in none.content.decode()
    curator_client.post(reverse("curation:augment_entities", args=[collection.pk]),
                        {"entity_type": "card_type", "values": "金卡, 普卡\n白金卡"})
    assert collection.entity_lists.get().values == ["金卡", "普卡", "白金卡"]


def test_augment_page_shows_a_running_jobs_acceptance_so_far(curator_client, collection, augmented, curator):
    from refinery.jobs import JobContext, job_create

    job = job_create(kind="curation.augment", title="Augment bank: perturb", params={}, user=curator, target=collection)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    job.refresh_from_db()
    samples_augment(collection=collection, methods=["perturb"], ratio=1.0, ctx=JobContext(job))
    url = reverse("curation:augment", args=[collection.pk])
    page = curator_client.get(url)
    assert page.context["active"].pk == job.pk
    html = page.content.decode()
    assert 'id="augment-live"' in html and f'?live={job.pk}"' in html and 'hx-trigger="every 2s"' in html
    live = curator_client.get(url, {"live": job.pk}, HTTP_HX_REQUEST="true").content.decode()
    attempted = Job.objects.get(pk=job.pk).result["methods"]["perturb"]["attempted"]
    assert '<tr data-method="perturb"><td>perturb</td><td>%d</td>' % attempted in live
    assert "So far" in live and "accepted" in live
    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED)  # finished: the card stops polling
    assert "hx-trigger" not in curator_client.get(url, {"live": job.pk}).content.decode()
    assert curator_client.get(url, {"live": "999999"}).status_code == 404


def test_template_editor_live_preview_save_and_build(curator_client, collection, ingested,
                                                     django_capture_on_commit_callbacks):
    url = reverse("curation:builders", args=[collection.pk])
    page = curator_client.get(url).content.decode()
    assert "{age}" in page and "{symptoms}" in page  # fields of the real records
    preview = curator_client.post(reverse("curation:builders_preview", args=[collection.pk]),
                                  {"instruction": "用户年龄:{age},症状:{symptoms}", "response": "{diagnosis}",
                                   "source": ingested.pk}, HTTP_HX_REQUEST="true")
    html = preview.content.decode()
    assert "用户年龄:45,症状:头痛、发烧" in html and "支气管炎" in html and "<html" not in html
    missing = curator_client.post(reverse("curation:builders_preview", args=[collection.pk]),
                                  {"instruction": "{weight}", "response": "{diagnosis}"}).content.decode()
    assert "line 1: missing field &#x27;weight&#x27;" in missing
    resp = curator_client.post(url, {"name": "triage", "instruction": "用户年龄:{age},症状:{symptoms}",
                                     "response": "", "cot_conclusion": "diagnosis"})
    assert resp.status_code == 302
    tpl = InstructionTemplate.objects.get(name="triage")
    assert tpl.cot == {"conclusion": "diagnosis"}
    with django_capture_on_commit_callbacks(execute=True):
        resp = curator_client.post(reverse("curation:builders_build", args=[collection.pk]),
                                   {"template_id": tpl.pk, "source": ingested.pk})
    job = Job.objects.get(kind="curation.build_template")
    assert job.status == "succeeded", job.error
    assert job.result["samples"] == 2
    built = Sample.objects.filter(origin="built", source_file=ingested).order_by("record_index")
    assert [s.meta["cot"]["answer"] for s in built] == ["普通感冒", "支气管炎"]
    bad = curator_client.post(url, {"name": "bad", "instruction": "{age}", "response": ""})
    assert bad.status_code == 400 and "give a response template" in bad.content.decode()


def test_qa_form_rejects_a_bad_generator_spec(curator_client, collection):
    resp = curator_client.post(reverse("curation:builders_qa", args=[collection.pk]), {"generator": "ftp:nope"},
                               follow=True)
    assert "QA generation not started" in resp.content.decode() and not Job.objects.exists()
