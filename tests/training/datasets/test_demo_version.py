"""`make run`'s demo version v1 is built from the demo pipeline run: PII scrubbed, lineage to the run."""
import io
import re

import pytest


@pytest.mark.django_db
def test_demo_version_comes_from_the_scrubbed_pipeline_output(curator):
    from curation import demo as curation_demo
    from training import demo as training_demo
    from training.models import DatasetVersion

    users = {"curator": curator}
    collection = curation_demo.load(io.StringIO(), users)
    out = io.StringIO()
    training_demo._load_datasets(out, users)
    version = DatasetVersion.objects.get(collection=collection)
    assert version.status == DatasetVersion.Status.READY and "demo v1" in out.getvalue()
    assert version.spec.get("pipeline_run") not in (None, "")
    exported = "".join(version.split_file(s).read_text(encoding="utf-8") for s in ("train", "validation", "test"))
    raw = "\n".join(str(s.messages) for s in collection.samples.all())
    # phone numbers, card numbers, ID numbers and e-mail addresses in the raw demo samples
    # (order numbers like 20260315001 are not PII and are kept on purpose)
    values = set(re.findall(r"(?<!\d)(?:1[3-9]\d{9}|\d{16,19})(?!\d)|[\w.+-]+@[\w-]+\.[a-z]{2,}", raw))
    assert values, "the demo samples carry PII"
    assert not [v for v in values if v in exported]
    assert re.search(r"\[(PHONE|PERSON|CN_ID|CARD|EMAIL)_\d+\]", exported)
