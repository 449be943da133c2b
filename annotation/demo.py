"""Demo data for `manage.py bootstrap`: a review project over the demo collection's samples (idempotent)."""
from __future__ import annotations

from curation.models import Collection

from . import services
from .models import LabelingProject
from .schemes import PRESETS

DEMO_PROJECT = "Demo review (SFT rubric)"
DEMO_ITEMS = 20


def load(stdout, users) -> LabelingProject | None:
    if LabelingProject.objects.filter(name=DEMO_PROJECT).exists():
        stdout.write("- annotation: demo project already present\n")
        return None
    collection = Collection.objects.filter(name="demo").first()
    annotators = [u for name, u in sorted((users or {}).items()) if name.startswith("annotator")]
    if collection is None or not collection.samples.exists() or len(annotators) < 2:
        stdout.write("- annotation: no demo samples or annotators; demo project skipped\n")
        return None
    ids = list(collection.samples.order_by("id").values_list("id", flat=True)[:DEMO_ITEMS])
    project = services.project_create(
        name=DEMO_PROJECT, collection=collection, scheme=PRESETS["sft_review"], overlap=2, annotators=annotators,
        sample_ids=ids, user=(users or {}).get("curator"),
        instructions="Rate relevance, accuracy and fluency 1–5, then accept, reject or edit the answer.")
    stdout.write(f"- annotation: demo project “{project.name}” with {len(ids)} samples for "
                 f"{', '.join(u.username for u in annotators)}\n")
    return project
