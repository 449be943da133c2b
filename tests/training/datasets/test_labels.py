"""Label filters with real annotation data: adjudication, agreement, quality, decisions (reject / edit)."""
from __future__ import annotations

import json

from training.export.base import iter_jsonl
from training.models import SPLITS
from training.services.datasets import dataset_version_create

SCHEME = {"fields": [
    {"name": "intent", "type": "choice", "choices": ["advice", "billing"]},
    {"name": "decision", "type": "decision"},
    {"name": "relevance", "type": "rating"},
]}


def _written(version) -> dict[str, dict]:
    return {r["id"]: r for s in SPLITS for r in iter_jsonl(version.split_file(s))}


def test_label_filters_use_annotation_summaries(collection, curator, annotator, annotator2):
    from annotation.models import Item
    from annotation.services import annotation_submit, item_adjudicate, project_create

    ids = list(collection.samples.filter(origin="ingested").order_by("id").values_list("id", flat=True)[:10])
    project = project_create(name="review", collection=collection, scheme=SCHEME, user=curator, overlap=2,
                             annotators=[annotator, annotator2], sample_ids=ids)
    items = {it.sample_id: it for it in Item.objects.filter(project=project)}
    for n, sid in enumerate(ids):
        intent = "billing" if n % 2 else "advice"
        annotation_submit(item=items[sid], annotator=annotator, label={"intent": intent, "decision": "accept", "relevance": 5})
        # annotator2 agrees on the first 6, disagrees on the intent of the rest, and rates lower
        other = intent if n < 6 else ("advice" if intent == "billing" else "billing")
        annotation_submit(item=items[sid], annotator=annotator2, label={"intent": other, "decision": "accept", "relevance": 3})
    rejected, edited = ids[0], ids[1]
    for sid in ids[:6]:
        item_adjudicate(item=items[sid], method="majority", user=curator)
    item_adjudicate(item=items[rejected], method="curator", user=curator,
                    final_label={"intent": "advice", "decision": "reject", "relevance": 1})
    item_adjudicate(item=items[edited], method="curator", user=curator,
                    final_label={"intent": "billing", "decision": "edit", "relevance": 4,
                                 "edited_response": "A corrected, reviewed answer."})

    v = dataset_version_create(collection=collection, spec={"adjudicated_only": True}, user=curator)
    rows = _written(v)
    manifest = json.loads((v.folder / "manifest.json").read_text())
    assert set(rows) == {str(i) for i in ids[1:6]}  # adjudicated, minus the rejected one
    assert manifest["counts"]["excluded"]["rejected in review"] == 1
    assert rows[str(edited)]["messages"][-1]["content"] == "A corrected, reviewed answer."
    assert rows[str(edited)]["meta"]["label"] == "billing"
    assert manifest["labelling_projects"] == [project.pk]
    labels = {k: n for split in manifest["label_distribution"].values() for k, n in split.items()}
    assert set(labels) == {"advice", "billing"}
    assert manifest["splits"]["stratified_by"] == "label"

    v2 = dataset_version_create(collection=collection, spec={"labels": "billing"}, user=curator)
    assert {r["meta"]["label"] for r in _written(v2).values()} == {"billing"}

    everything = _written(dataset_version_create(collection=collection, spec={}, user=curator))
    agreement = {i: everything[str(i)]["meta"]["agreement"] for i in ids[1:]}
    assert min(agreement[i] for i in ids[1:6]) > max(agreement[i] for i in ids[6:])  # intent agreed on the first 6
    threshold = min(agreement[i] for i in ids[1:6])
    v3 = dataset_version_create(collection=collection, spec={"min_agreement": threshold}, user=curator)
    assert set(_written(v3)) == {str(i) for i in ids[1:6]}

    quality = {k: r["meta"]["quality"] for k, r in everything.items() if r["meta"]["quality"] is not None}
    assert quality[str(edited)] == 4.0  # the curator's final rating
    v4 = dataset_version_create(collection=collection, spec={"min_quality": 4.0}, user=curator)
    assert set(_written(v4)) == {k for k, q in quality.items() if q >= 4.0}
    assert v4.manifest["quality"]["n"] == len(_written(v4)) and v4.manifest["quality"]["min"] >= 4.0


def test_diff_counts_label_and_quality_changes(collection, curator, annotator):
    from annotation.models import Item
    from annotation.services import item_adjudicate, project_create

    from training.services.datasets import dataset_version_diff

    ids = list(collection.samples.filter(origin="ingested").order_by("id").values_list("id", flat=True)[:3])
    project = project_create(name="relabel", collection=collection, scheme=SCHEME, user=curator, overlap=1,
                             annotators=[annotator], sample_ids=ids)
    items = {it.sample_id: it for it in Item.objects.filter(project=project)}
    for sid in ids:
        item_adjudicate(item=items[sid], method="curator", user=curator,
                        final_label={"intent": "advice", "decision": "accept", "relevance": 4})
    v1 = dataset_version_create(collection=collection, spec={}, user=curator)
    # same messages; one sample relabelled, one re-rated, one left alone
    item_adjudicate(item=items[ids[0]], method="curator", user=curator,
                    final_label={"intent": "billing", "decision": "accept", "relevance": 4})
    item_adjudicate(item=items[ids[1]], method="curator", user=curator,
                    final_label={"intent": "advice", "decision": "accept", "relevance": 2})
    v2 = dataset_version_create(collection=collection, spec={}, user=curator)
    diff = dataset_version_diff(a=v1, b=v2)
    assert set(diff.changed) == {str(ids[0]), str(ids[1])}
    assert diff.changed_fields == {"label": 1, "quality": 1}
    data = diff.as_dict()
    assert data["changed_fields"] == {"messages": 0, "label": 1, "quality": 1}
    assert data["counts"]["unchanged"] == v1.n_total - 2 - data["counts"]["moved"]
