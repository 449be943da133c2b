"""Web pipeline: config editor with validation, a run end to end through the job, dashboards, roles."""
from __future__ import annotations

import pytest
from django.urls import reverse

from curation import selectors
from curation.models import Collection, Document, PipelineConfig, PipelineRun, RunOutput, RunRejection, Sample
from curation.pipeline.services import pipeline_config_create, pipeline_run_create, pipeline_run_execute

from .corpus import corpus

YAML = """steps:
  - normalize
  - length: {min_words: 3}
  - exact_dedup
  - near_dedup: {threshold: 0.7}
"""


@pytest.fixture
def collection(db):
    coll = Collection.objects.create(name="clinic")
    for i, rec in enumerate(corpus(60)):
        Document.objects.create(collection=coll, record_index=i, text=rec["text"], content_hash=f"h{i}", language="en")
    Document.objects.create(collection=coll, record_index=999, text="EXCLUDED text here ok", content_hash="x",
                            status=Document.Status.EXCLUDED)
    Sample.objects.create(collection=coll, content_hash="s1", messages=[
        {"role": "user", "content": "What  is   the dose?"}, {"role": "assistant", "content": "Take two tablets daily."}])
    return coll


def _run_via_web(client, config, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(reverse("curation:pipeline_run", args=[config.pk]), {"executor": "local"})
    assert resp.status_code == 302
    run = PipelineRun.objects.latest("id")
    assert resp["Location"] == reverse("curation:run_detail", args=[run.pk])
    return run


@pytest.mark.django_db
def test_create_edit_validate_run_and_dashboards(curator_client, collection, django_capture_on_commit_callbacks):
    resp = curator_client.post(reverse("curation:pipeline_create"), {"collection": collection.pk, "name": "strict", "yaml": YAML})
    config = PipelineConfig.objects.get(name="strict")
    assert resp["Location"] == reverse("curation:pipeline_edit", args=[config.pk])
    assert config.steps[1] == {"step": "length", "options": {"min_words": 3}}

    # Validation: unknown step / option → 400 with the valid names; nothing saved.
    bad = curator_client.post(reverse("curation:pipeline_edit", args=[config.pk]), {"yaml": "steps:\n  - normalize\n  - nope\n"})
    assert bad.status_code == 400 and "Unknown step &#x27;nope&#x27;" in bad.content.decode() and "near_dedup" in bad.content.decode()
    bad = curator_client.post(reverse("curation:pipeline_edit", args=[config.pk]), {"yaml": "steps:\n  - length: {min_wordz: 3}\n"})
    assert bad.status_code == 400 and "Valid options:" in bad.content.decode()
    bad = curator_client.post(reverse("curation:pipeline_edit", args=[config.pk]), {"yaml": "steps: [normalize\n"})
    assert bad.status_code == 400 and "not valid" in bad.content.decode()
    config.refresh_from_db()
    assert [s["step"] for s in config.steps] == ["normalize", "length", "exact_dedup", "near_dedup"]

    exported = curator_client.get(reverse("curation:pipeline_export", args=[config.pk]))
    assert exported.status_code == 200 and b"near_dedup" in exported.content and b"threshold: 0.7" in exported.content

    run = _run_via_web(curator_client, config, django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    assert run.job.status == "succeeded"
    assert run.n_input == 61  # 60 active documents + 1 sample; the excluded document is not read
    assert run.n_output + run.n_rejected == run.n_input
    assert RunOutput.objects.filter(run=run).count() == run.n_output
    assert RunRejection.objects.filter(run=run).count() == run.n_rejected
    dup = RunRejection.objects.filter(run=run).exclude(duplicate_of="").first()
    assert dup is not None and dup.duplicate_of.startswith("d")

    # Non-destructive: ingested text untouched; the run's output holds the normalised sample.
    assert Sample.objects.get().messages[0]["content"] == "What  is   the dose?"
    assert selectors.pipeline_run_latest(collection=collection) == run
    samples = selectors.run_sample_outputs(run=run)
    assert list(samples.values())[0][0]["content"] == "What is the dose?"
    docs = selectors.run_document_outputs(run=run)
    assert len(docs) == run.n_output - 1 and all(isinstance(t, str) and t for t in docs.values())

    page = curator_client.get(reverse("curation:run_detail", args=[run.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and 'id="fig-funnel"' in html and "plotly/plotly.min.js" in html
    assert f'action="{reverse("curation:pipeline_run", args=[config.pk])}"' in html  # run again
    assert '"type": "funnel"' in html and "near_duplicate" in html
    partial = curator_client.get(reverse("curation:run_detail", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert 'data-run-status="succeeded"' in partial.content.decode() and "<h1>" not in partial.content.decode()

    rej = curator_client.get(reverse("curation:run_rejections", args=[run.pk]), {"step": "length", "reason": "too_short"})
    assert rej.status_code == 200 and '<mark class="reason">too_short</mark>' in rej.content.decode()
    assert "<mark>short</mark>" in rej.content.decode()  # details.match: the offending text is highlighted

    clusters = curator_client.get(reverse("curation:run_duplicates", args=[run.pk]))
    assert dup.duplicate_of in clusters.content.decode()
    cluster = curator_client.get(reverse("curation:run_duplicates", args=[run.pk]), {"of": dup.duplicate_of})
    assert cluster.status_code == 200 and 'class="diff-ins"' in cluster.content.decode()

    # A second run with a looser config, compared with the first.
    config.steps = [{"step": "normalize", "options": {}}]
    config.save()
    run2 = _run_via_web(curator_client, config, django_capture_on_commit_callbacks)
    assert PipelineRun.objects.get(pk=run2.pk).n_output > run.n_output
    run2.refresh_from_db()
    cmp = curator_client.get(reverse("curation:run_compare"), {"a": run.pk, "b": run2.pk})
    html = cmp.content.decode()
    assert cmp.status_code == 200 and f'id="only-b">{run2.n_output - run.n_output}<' in html and 'id="only-a">0<' in html
    assert "too_short" in html or "near_duplicate" in html or "exact_duplicate" in html
    assert selectors.pipeline_run_latest(collection=collection).pk == run2.pk

    listing = curator_client.get(reverse("curation:pipeline_list"))
    assert "strict" in listing.content.decode() and f"#{run2.pk}" in listing.content.decode()


@pytest.mark.django_db
def test_a_failed_run_leaves_the_previous_run_intact_and_can_be_rerun(collection, monkeypatch):
    config = pipeline_config_create(collection=collection, name="p", yaml_text=YAML)
    good = pipeline_run_execute(run=pipeline_run_create(collection=collection, config=config, executor="local"))
    n_rows = RunOutput.objects.filter(run=good).count()

    from curation.pipeline.steps import near_dedup

    def boom(self, records):
        for i, _ in enumerate(records):
            if i == 5:
                raise RuntimeError("disk on fire")

    monkeypatch.setattr(near_dedup.NearDedup, "fit", boom)
    bad = pipeline_run_create(collection=collection, config=config, executor="local")
    with pytest.raises(RuntimeError):
        pipeline_run_execute(run=bad)
    bad.refresh_from_db()
    assert bad.status == PipelineRun.Status.FAILED and "disk on fire" in bad.error
    assert not RunOutput.objects.filter(run=bad).exists() and not RunRejection.objects.filter(run=bad).exists()
    assert RunOutput.objects.filter(run=good).count() == n_rows
    assert selectors.pipeline_run_latest(collection=collection) == good
    monkeypatch.undo()
    again = pipeline_run_execute(run=pipeline_run_create(collection=collection, config=config, executor="local"))
    assert again.status == PipelineRun.Status.SUCCEEDED and again.n_output == good.n_output


@pytest.mark.django_db
def test_run_cancelled_midway_writes_nothing(collection, curator, monkeypatch, settings):
    from curation.pipeline.steps import near_dedup
    from refinery.jobs import job_create, job_execute
    from refinery.models import Job

    config = pipeline_config_create(collection=collection, name="p", yaml_text=YAML)
    run = pipeline_run_create(collection=collection, config=config, executor="local")
    job = job_create(kind="curation.pipeline_run", title="t", params={"run_id": run.pk}, user=curator)
    real_fit = near_dedup.NearDedup.fit

    def fit_then_user_cancels(self, records):
        real_fit(self, records)
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)  # the user presses Cancel mid-run

    monkeypatch.setattr(near_dedup.NearDedup, "fit", fit_then_user_cancels)
    job = job_execute(job.pk)
    assert job.status == "cancelled"
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.CANCELLED and run.finished_at
    assert not run.report or run.report.get("live")  # only live stats, never a final report
    assert not RunOutput.objects.filter(run=run).exists() and not RunRejection.objects.filter(run=run).exists()
    run_dir = settings.PIPELINE_DIR / f"run-{run.pk}"
    assert not any(run_dir.iterdir())  # spill and part files removed


@pytest.mark.django_db
def test_annotators_cannot_see_or_run_pipelines(annotator_client, collection):
    config = pipeline_config_create(collection=collection, name="p", yaml_text=YAML)
    run = pipeline_run_execute(run=pipeline_run_create(collection=collection, config=config, executor="local"))
    for url in [reverse("curation:pipeline_list"), reverse("curation:pipeline_edit", args=[config.pk]),
                reverse("curation:pipeline_export", args=[config.pk]), reverse("curation:run_detail", args=[run.pk]),
                reverse("curation:run_rejections", args=[run.pk]), reverse("curation:run_duplicates", args=[run.pk]),
                reverse("curation:run_compare") + f"?a={run.pk}&b={run.pk}"]:
        assert annotator_client.get(url).status_code == 403, url
    assert annotator_client.post(reverse("curation:pipeline_run", args=[config.pk])).status_code == 403
    assert annotator_client.post(reverse("curation:pipeline_create"), {"collection": collection.pk, "name": "x"}).status_code == 403
    assert PipelineRun.objects.count() == 1 and PipelineConfig.objects.count() == 1


@pytest.mark.django_db
def test_pii_dashboard_shows_counts_by_type_and_masked_examples(curator_client, db):
    coll = Collection.objects.create(name="pii")
    texts = ["请联系张伟，手机13912345678，邮箱zhang.wei@example.com，谢谢。",
             "Please email john.smith@example.org or call the clinic about the results of the test."]
    for i, t in enumerate(texts):
        Document.objects.create(collection=coll, record_index=i, text=t, content_hash=str(i))
    config = pipeline_config_create(collection=coll, name="p", yaml_text="steps: [normalize, pii]\n")
    run = pipeline_run_execute(run=pipeline_run_create(collection=coll, config=config, executor="local"))
    outputs = selectors.run_document_outputs(run=run)
    assert all("example.org" not in t and "example.com" not in t and "13912345678" not in t for t in outputs.values())
    html = curator_client.get(reverse("curation:run_detail", args=[run.pk])).content.decode()
    assert 'id="fig-pii"' in html and 'id="pii-types"' in html
    assert "<strong>EMAIL</strong>" in html and "<strong>PHONE</strong>" in html
    assert "[EMAIL_1]" in html  # scrubbed text examples show the placeholders
    assert "john.smith@example.org" not in html and "13912345678" not in html


@pytest.mark.django_db
def test_collection_run_gives_the_glossary_step_its_collection(db):
    from curation.models import GlossaryTerm

    coll = Collection.objects.create(name="med")
    other = Collection.objects.create(name="other")
    GlossaryTerm.objects.create(collection=coll, canonical="高血压", variants=["高血壓", "HBP"])
    GlossaryTerm.objects.create(collection=other, canonical="WRONG", variants=["patient"])
    Document.objects.create(collection=coll, record_index=0, text="The patient has HBP and 高血壓.", content_hash="a")
    config = pipeline_config_create(collection=coll, name="g", yaml_text="steps: [normalize, glossary]\n")
    run = pipeline_run_execute(run=pipeline_run_create(collection=coll, config=config, executor="local"))
    assert list(selectors.run_document_outputs(run=run).values()) == ["The patient has 高血压 and 高血压."]
    assert run.steps[1] == {"step": "glossary", "options": {}}  # the snapshot stays as configured


@pytest.mark.django_db
def test_new_records_from_augmenter_steps_do_not_clobber_outputs(db):
    coll = Collection.objects.create(name="aug")
    msgs = [{"role": "user", "content": "Please list three symptoms of influenza in short bullet points."},
            {"role": "assistant", "content": "Fever, cough and muscle aches."}]
    sample = Sample.objects.create(collection=coll, content_hash="a", messages=msgs)
    config = pipeline_config_create(collection=coll, name="a", yaml_text="steps: [normalize, perturb, exact_dedup]\n")
    run = pipeline_run_execute(run=pipeline_run_create(collection=coll, config=config, executor="local"))
    assert run.status == PipelineRun.Status.SUCCEEDED
    assert run.report["derived_records"] >= 1 and run.n_output == 1 + run.report["derived_records"]
    assert selectors.run_sample_outputs(run=run) == {sample.pk: msgs}  # the original, not a variant
    assert RunOutput.objects.filter(run=run).count() == 1


@pytest.mark.django_db
def test_run_cancelled_while_queued_shows_as_cancelled(curator_client, collection):
    from refinery.jobs import job_cancel

    config = pipeline_config_create(collection=collection, name="q", yaml_text=YAML)
    from curation.pipeline.services import pipeline_run_start

    run = pipeline_run_start(collection=collection, config=config)  # queued; no commit → no worker yet
    job_cancel(job=run.job)
    page = curator_client.get(reverse("curation:run_detail", args=[run.pk]))
    assert 'data-run-status="cancelled"' in page.content.decode()
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.CANCELLED and not RunOutput.objects.filter(run=run).exists()


@pytest.mark.django_db
def test_create_refuses_bad_input_with_a_message(curator_client, collection):
    for data in ({"collection": "abc", "name": "x"}, {"collection": collection.pk, "name": "bad name!"},
                 {"collection": collection.pk, "name": "x", "yaml": "steps: []"}):
        resp = curator_client.post(reverse("curation:pipeline_create"), data, follow=True)
        assert resp.status_code == 200 and 'class="msg-error"' in resp.content.decode(), data
    pipeline_config_create(collection=collection, name="dup", yaml_text=YAML)
    resp = curator_client.post(reverse("curation:pipeline_create"), {"collection": collection.pk, "name": "dup", "yaml": YAML}, follow=True)
    assert "already has a pipeline named" in resp.content.decode()
    assert PipelineConfig.objects.count() == 1


@pytest.mark.django_db
def test_yaml_export_then_import_round_trips(curator_client, collection):
    from django.core.files.uploadedfile import SimpleUploadedFile

    config = pipeline_config_create(collection=collection, name="orig", yaml_text=YAML)
    exported = curator_client.get(reverse("curation:pipeline_export", args=[config.pk])).content
    resp = curator_client.post(reverse("curation:pipeline_create"), {
        "collection": collection.pk, "name": "copy", "yaml_file": SimpleUploadedFile("p.yaml", exported)})
    assert resp.status_code == 302
    assert PipelineConfig.objects.get(name="copy").steps == config.steps


@pytest.mark.django_db
def test_nan_attributes_are_stored_as_null(collection, monkeypatch):
    from curation.pipeline.steps import length

    real_verdict = length.Length._verdict  # what keep() and the batched process() both decide with

    def verdict_with_nan(self, record, *args):
        record.setdefault("attrs", {})["score"] = float("nan")
        return real_verdict(self, record, *args)

    monkeypatch.setattr(length.Length, "_verdict", verdict_with_nan)
    config = pipeline_config_create(collection=collection, name="n", yaml_text=YAML)
    run = pipeline_run_execute(run=pipeline_run_create(collection=collection, config=config, executor="local"))
    out = RunOutput.objects.filter(run=run).first()
    assert out.attributes["score"] is None and out.attributes["length"]["value"] > 0
