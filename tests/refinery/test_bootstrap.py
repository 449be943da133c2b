"""`manage.py bootstrap` (what `make run` calls): a demo step that failed once is not retried."""
import io
import time

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def _failed_demo_state(curator):
    """What a first `make run` leaves when the demo pipeline run and the demo training run failed."""
    from curation.models import Collection, PipelineRun
    from refinery.audit import acting_as
    from training.models import DatasetVersion, TrainingRun

    with acting_as(curator):
        demo = Collection.objects.create(name="demo", title="Demo")
        run = PipelineRun.objects.create(collection=demo, config_name="default", status=PipelineRun.Status.FAILED,
                                         error="Traceback ...\nMemoryError: out of memory in near_dedup")
        version = DatasetVersion.objects.create(collection=demo, number=1, status=DatasetVersion.Status.READY)
        training = TrainingRun.objects.create(dataset_version=version, base_model="smollm2-135m",
                                              status=TrainingRun.Status.FAILED, error="CUDA out of memory")
    return demo, run, training


def test_failed_demo_steps_are_reported_with_how_to_retry_and_not_run_again(curator):
    from curation.models import PipelineRun
    from training.models import TrainingRun

    demo, run, training = _failed_demo_state(curator)
    out = io.StringIO()
    started = time.monotonic()
    call_command("bootstrap", stdout=out)
    seconds = time.monotonic() - started
    text = out.getvalue()
    assert (f"- curation: demo pipeline run #{run.pk} failed earlier (MemoryError: out of memory in near_dedup); "
            "not retried automatically — retry with `.venv/bin/python manage.py bootstrap --retry-demo`") in text
    assert f"- training: demo run #{training.pk} failed earlier; not retried automatically" in text
    assert "--retry-demo" in text
    assert list(PipelineRun.objects.values_list("pk", flat=True)) == [run.pk]
    assert list(TrainingRun.objects.values_list("pk", flat=True)) == [training.pk]
    assert demo.documents.exists()  # the rest of the demo still loads
    assert seconds < 120, seconds


def test_retry_demo_reruns_the_failed_demo_pipeline(curator):
    from curation import demo as curation_demo
    from curation.models import PipelineRun

    demo, run, _ = _failed_demo_state(curator)
    out = io.StringIO()
    curation_demo.load(out, {"curator": curator}, retry_failed=True)
    new = PipelineRun.objects.exclude(pk=run.pk).get(collection=demo)
    assert new.status == PipelineRun.Status.SUCCEEDED, new.error
    assert f"demo pipeline run #{new.pk}: succeeded" in out.getvalue()
    again = io.StringIO()
    curation_demo.load(again, {"curator": curator})  # a succeeded run exists now: nothing to do or say
    assert "demo pipeline run" not in again.getvalue()
