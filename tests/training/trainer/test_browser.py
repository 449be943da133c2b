"""One click in headless Chromium: dataset version page → Train → live run page → run completes."""
import pytest

from tests.conftest import browser_login
from training.models import Adapter, TrainingRun

from .conftest import FAST_CONFIG, learnable_records, make_version


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_one_click_train_from_version_page(page, curator, settings):
    from curation.models import Collection

    settings.TRAINING_QUICKSTART = {**FAST_CONFIG, "max_steps": 3, "eval_every": 3}
    collection = Collection.objects.create(name="oneclick", title="One click")
    version = make_version(collection, train=learnable_records(8), validation=learnable_records(2, start=8))
    browser_login(page, "curator")
    page.goto(f"/datasets/{version.pk}/")
    # with the immediate task backend the run finishes inside this request: allow the click a long wait
    page.click("#train-form button[type=submit]", timeout=600_000)
    page.wait_for_url("**/training/runs/*/", timeout=600_000)
    run = TrainingRun.objects.get()
    assert page.url.endswith(f"/training/runs/{run.pk}/")
    page.wait_for_function("document.getElementById('run-step').textContent.trim() === '3 / 3'", timeout=60_000)
    assert page.text_content("#run-status").strip() == "succeeded"
    assert page.text_content("#run-eta").strip() == "done"
    page.wait_for_selector("#loss-chart .main-svg")  # plotly drew the loss curve
    assert "→" in page.text_content("#run-loss")
    assert Adapter.objects.filter(run=run).exists()
    assert page.is_visible("#adapter-link")
