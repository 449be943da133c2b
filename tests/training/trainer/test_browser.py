"""One click in headless Chromium, for real: create the version with the "Create version" form → Train on the
version page → the run's live page, polled while a task worker (django-tasks-db's worker, in a thread on the
live server's database) runs the job → progress advances through intermediate values → run completes."""
import pytest

from tests.conftest import browser_login
from training.models import Adapter, DatasetVersion, TrainingRun

from .conftest import COLOURS, FAST_CONFIG, THINGS, in_background, join

INTERMEDIATE_PROGRESS = """() => {
  const [s, n] = document.getElementById('run-step').textContent.split('/').map(x => parseInt(x));
  const width = parseFloat(document.getElementById('run-bar').style.width);
  return n > 0 && s > 0 && s < n ? [s, n, width] : false;
}"""


def _samples(collection, n: int) -> None:
    from curation.hashing import messages_hash
    from curation.models import Sample

    for i in range(n):
        msgs = [{"role": "user", "content": f"Question {i}: what colour is the {THINGS[i % len(THINGS)]} "
                                            f"with tag {i * 7919}?"},
                {"role": "assistant", "content": f"Refinery code {COLOURS[i % len(COLOURS)].upper()} "
                                                 f"for tag {i * 104729}."}]
        Sample.objects.create(collection=collection, messages=msgs, content_hash=messages_hash(msgs),
                              origin="ingested", language="en")


def _worker_once():
    """django-tasks-db's worker, as `manage.py db_worker --batch` runs it: every queued task, then exit."""
    from django_tasks_db.management.commands.db_worker import Worker

    Worker(queue_names=["default"], interval=0.2, batch=True, backend_name="default", startup_delay=False,
           max_tasks=None, worker_id="browser-test-worker", excluded_queue_names=[]).run()


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_one_click_train_with_live_progress(page, curator, settings):
    from curation.models import Collection

    settings.TRAINING_QUICKSTART = {**FAST_CONFIG, "max_steps": 8, "eval_every": 4, "eval_generate_samples": 1,
                                    "eval_max_new_tokens": 4}
    collection = Collection.objects.create(name="oneclick", title="One click")
    _samples(collection, 20)
    browser_login(page, "curator")

    # 1) create the version through the UI (the build job runs at once: immediate backend)
    page.goto(f"/datasets/new/?collection={collection.pk}")
    page.wait_for_function("document.querySelector('#preview-count') && "
                           "document.querySelector('#preview-count').textContent === '20'")
    page.click("#create-submit")
    page.wait_for_selector("[data-job-status=succeeded]", timeout=120_000)
    version = DatasetVersion.objects.get(collection=collection)
    assert version.status == DatasetVersion.Status.READY and version.n_train > 0
    page.goto(f"/datasets/{version.pk}/")

    # 2) from here on jobs go to the database queue and a real worker runs them asynchronously
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    page.click("#train-form button[type=submit]")
    page.wait_for_url("**/training/runs/*/")
    run_pk = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert page.text_content("#run-status").strip() in ("queued", "Queued")  # nothing ran inside the click
    worker = in_background(_worker_once)  # from now until join(), only the browser and the worker use the DB

    # 3) the live page's polling shows progress advancing: an intermediate value, then completion
    seen = page.wait_for_function(INTERMEDIATE_PROGRESS, polling=100, timeout=600_000).json_value()
    step, total, width = seen
    assert 0 < step < total == 8 and 0 < width < 100
    page.wait_for_function("document.getElementById('run-status').textContent.trim() === 'succeeded'",
                           polling=100, timeout=600_000)
    page.wait_for_selector("#adapter-link", timeout=60_000)  # the page reloads once to link the adapter
    page.wait_for_function("document.getElementById('run-loss').textContent.includes('→')",
                           polling=100, timeout=60_000)  # the reloaded page's first poll has filled the cards
    join(worker)

    assert page.text_content("#run-step").strip() == "8 / 8"
    assert page.text_content("#run-eta").strip() == "done"
    assert "→" in page.text_content("#run-loss") and "test split" in page.text_content("#run-eval-split")
    page.wait_for_selector("#loss-chart .main-svg")  # plotly drew the loss curve
    run = TrainingRun.objects.get(pk=run_pk)
    assert run.status == TrainingRun.Status.SUCCEEDED and run.job.status == "succeeded"
    assert run.dataset_version == version and run.steps_done == 8
    adapter = Adapter.objects.get(run=run)
    page.click("#adapter-link")
    page.wait_for_url(f"**/training/adapters/{adapter.pk}/")

    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
