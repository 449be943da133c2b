"""Browser: a curator edits a pipeline, runs it, sees the plotly dashboards and drills into a drop reason."""
import pytest

from curation.models import Collection, Document, PipelineRun, RunRejection
from curation.pipeline.services import pipeline_config_create
from tests.conftest import browser_login

from .corpus import corpus


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_curator_runs_a_pipeline_and_reads_its_dashboard(page, curator):
    coll = Collection.objects.create(name="browser-pipe")
    for i, rec in enumerate(corpus(40)):
        Document.objects.create(collection=coll, record_index=i, text=rec["text"], content_hash=str(i))
    config = pipeline_config_create(collection=coll, name="first", yaml_text="steps: [normalize]\n")
    browser_login(page, "curator")
    page.goto("/pipelines/")
    page.click(f"#pipeline-configs >> text=first")
    page.fill("textarea[name=yaml]", "steps:\n  - normalize\n  - lenght\n")
    page.click("#pipeline-form button[type=submit]")
    assert "Unknown step 'lenght'" in page.locator("#config-error").inner_text()
    page.fill("textarea[name=yaml]", "steps:\n  - normalize\n")
    page.click(".add-step[data-step=exact_dedup]")
    assert page.input_value("textarea[name=yaml]") == "steps:\n  - normalize\n  - exact_dedup\n"
    page.fill("textarea[name=yaml]", "steps:\n  - normalize\n  - length: {min_words: 3}\n  - exact_dedup\n  - near_dedup: {threshold: 0.7}\n")
    page.click("#pipeline-form button[type=submit]")
    page.wait_for_selector("text=Pipeline first saved.")
    page.click("#run-form button[type=submit]")
    page.wait_for_selector("#run-status[data-run-status=succeeded]")
    run = PipelineRun.objects.get(config=config)
    assert page.url.endswith(f"/runs/{run.pk}/")
    page.wait_for_selector("#fig-funnel .main-svg")  # plotly drew the charts (served locally)
    page.wait_for_selector("#fig-reasons .main-svg")
    page.wait_for_selector("#fig-lengths .main-svg")
    assert page.locator("#step-stats").inner_text().count("\n") >= 4
    page.click("a:has-text(\"length: too_short\")")
    page.wait_for_selector("#rejections")
    assert page.locator("mark.reason").first.inner_text() == "too_short"
    page.click("text=← Run")
    page.click("text=Duplicate clusters")
    near = RunRejection.objects.filter(run=run, reason="near_duplicate").first()
    page.click(f"#clusters a:text-is('{near.duplicate_of}')")
    page.wait_for_selector(".cluster-pair .diff-ins")  # the near copy's extra words are highlighted
    assert near.record_id in page.locator("main").inner_text()
