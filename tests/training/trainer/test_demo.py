"""`make run`'s demo ends with one trained, promoted adapter (and a second load is a no-op)."""
import io

import pytest

from training.models import Adapter, TrainingRun

from .conftest import learnable_records, make_version


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_trains_one_adapter_once(curator):
    from curation.models import Collection
    from training import demo

    out = io.StringIO()
    demo._load_runs(out, {"curator": curator})  # no demo collection yet: skipped quietly
    assert not TrainingRun.objects.exists() and out.getvalue() == ""
    collection = Collection.objects.create(name="demo", title="Demo")
    make_version(collection, train=learnable_records(8), validation=learnable_records(2, start=8))
    demo._load_runs(out, {"curator": curator})
    adapter = Adapter.objects.get()
    assert adapter.promoted and adapter.run.status == TrainingRun.Status.SUCCEEDED
    assert adapter.run.steps_done == demo.DEMO_RUN_CONFIG["max_steps"]
    assert "promoted" in out.getvalue()
    demo._load_runs(out, {"curator": curator})
    assert TrainingRun.objects.count() == 1
