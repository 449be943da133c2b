"""Dataset versions: selection, group-aware deterministic splits, decontamination, files, lineage, immutability."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.dataset_spec import DatasetSpec, DatasetSpecError
from training.export.base import iter_jsonl
from training.models import SPLITS, DatasetVersion
from training.services.datasets import DatasetError, dataset_preview_count, dataset_version_create

from .conftest import make_sample, qa


def records(version, split=None):
    splits = [split] if split else SPLITS
    return [r for s in splits for r in iter_jsonl(version.split_file(s))]


def split_map(version):
    return {r["id"]: s for s in SPLITS for r in iter_jsonl(version.split_file(s))}


def test_version_files_manifest_and_names(collection, curator):
    v1 = dataset_version_create(collection=collection, spec={}, user=curator)
    assert v1.name == "v1" and v1.status == DatasetVersion.Status.READY
    folder = v1.folder
    for rel in ("data/train.jsonl", "data/validation.jsonl", "data/test.jsonl", "manifest.json", "lineage.jsonl",
                "dataset_info.json", "README.md", "alpaca/train.jsonl", "sharegpt/train.jsonl", "parquet/train.parquet"):
        assert (folder / rel).is_file(), rel
    manifest = json.loads((folder / "manifest.json").read_text())
    # 60 + 6 augmented + 2 near-dups + 1 pinned valid; the one-message feedback sample is invalid
    assert manifest["counts"]["selected"] == 69
    assert manifest["counts"]["excluded"]["invalid messages: needs user/assistant pairs"] == 1
    assert sum(manifest["counts"]["splits"].values()) == v1.n_total == manifest["counts"]["written"]
    assert manifest["created_by"] == "curator" and manifest["parent"] is None
    assert set(manifest["language_distribution"]) == {"en", "zh"}
    assert manifest["source_files"][0]["name"] == "faq.jsonl"
    # content-hashed: every file's hash is recorded and matches
    import hashlib
    for rel, info in manifest["files"].items():
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == info["sha256"], rel
    v2 = dataset_version_create(collection=collection, spec={"origins": "ingested"}, user=curator)
    assert v2.name == "v2" and v2.parent == v1
    assert json.loads((v2.folder / "manifest.json").read_text())["parent"] == "v1"
    assert all(r["meta"]["origin"] == "ingested" for r in records(v2))


def test_splits_deterministic_grouped_and_pinned(collection, curator):
    v1 = dataset_version_create(collection=collection, spec={"seed": 7}, user=curator)
    v2 = dataset_version_create(collection=collection, spec={"seed": 7}, user=curator)
    assert split_map(v1) == split_map(v2)
    assert v1.content_hash == v2.content_hash  # same spec, same data → identical files
    v3 = dataset_version_create(collection=collection, spec={"seed": 8}, user=curator)
    assert split_map(v3) != split_map(v1)

    from curation.models import Sample

    sm = split_map(v1)
    for child in Sample.objects.filter(collection=collection, origin="augmented"):
        assert sm[str(child.pk)] == sm[str(child.parent_id)]
    near = Sample.objects.filter(collection=collection, messages__icontains="variable rate mortgage")
    assert near.count() == 2
    assert len({sm[str(s.pk)] for s in near}) == 1
    pinned = Sample.objects.get(collection=collection, split="test")
    assert sm[str(pinned.pk)] == "test"
    # no sample in two splits; every split non-empty; proportions near 80/10/10
    ids = [r["id"] for r in records(v1)]
    assert len(ids) == len(set(ids))
    assert v1.n_validation >= 4 and v1.n_test >= 4 and v1.n_train >= 50


def test_stratified_by_domain(collection, curator):
    v = dataset_version_create(collection=collection, spec={"validation_ratio": 0.2, "test_ratio": 0.2}, user=curator)
    for split in ("validation", "test"):
        domains = {r["meta"]["domain"] for r in records(v, split)}
        assert {"medical", "finance", "customer-service"} <= domains, split


def test_decontamination_against_heldout_and_eval_set(collection, curator, tmp_path):
    from training.services.datasets import evaluation_set_create

    from curation.models import Sample

    # an evaluation set holding one training sample's question verbatim
    target = Sample.objects.filter(collection=collection, origin="ingested", language="en").order_by("id")[3]
    v0 = dataset_version_create(collection=collection, spec={}, user=curator)
    evalfile = tmp_path / "bench.jsonl"
    evalfile.write_text(json.dumps({"question": target.messages[1]["content"], "answer": target.messages[2]["content"]}) + "\n"
                        + json.dumps({"messages": [{"role": "user", "content": "unrelated zebra question"}]}) + "\n")
    ev = evaluation_set_create(name="Med Bench", path=evalfile, original_name="bench.jsonl", user=curator)
    assert ev.name == "med-bench" and ev.n_items == 2
    # a new train-pinned sample that repeats a validation sample and adds new text: too different to be a
    # near-duplicate (so not grouped with it), too overlapping to train on → contaminated
    from training.splits import tokens
    val_rec = records(v0, "validation")[0]
    val_text = val_rec["messages"][1]["content"] + " " + val_rec["messages"][2]["content"]
    extra = " ".join(f"word{i}" for i in range(int(len(tokens(val_text)) * 0.6)))
    leak = make_sample(collection, [{"role": "user", "content": val_rec["messages"][1]["content"]},
                                    {"role": "assistant", "content": val_rec["messages"][2]["content"] + " " + extra}],
                       origin="built", domain="zz-leak", language=val_rec["meta"]["language"], split="train")
    v = dataset_version_create(collection=collection, spec={"eval_sets": "med-bench"}, user=curator)
    manifest = json.loads((v.folder / "manifest.json").read_text())
    excluded = {e["id"]: e for e in manifest["decontamination"]["excluded"]}
    sm = split_map(v)
    assert str(leak.pk) in excluded and str(leak.pk) not in sm
    if str(target.pk) in excluded:
        assert excluded[str(target.pk)]["against"] == "eval:med-bench"
    else:  # the target landed in a held-out split, where eval-set overlap is allowed
        assert sm[str(target.pk)] in ("validation", "test")
    for e in excluded.values():
        assert e["overlap"] >= manifest["decontamination"]["max_overlap"]
    assert manifest["counts"]["excluded"]["contaminated"] == len(excluded)
    # and no remaining train sample overlaps validation/test at the threshold
    from training.decontam import HeldOutIndex, messages_text
    idx = HeldOutIndex(manifest["spec"]["ngram"])
    for r in records(v, "validation") + records(v, "test"):
        idx.add(messages_text(r["messages"]), "held")
    for r in records(v, "train"):
        assert idx.overlap(messages_text(r["messages"]))[0] < manifest["spec"]["max_overlap"]


def test_lineage_traces_every_sample(collection, curator):
    v = dataset_version_create(collection=collection, spec={}, user=curator)
    lineage = {r["id"]: r for r in iter_jsonl(v.folder / "lineage.jsonl")}
    from curation.models import Sample

    for r in records(v):
        s = Sample.objects.get(pk=int(r["id"]))
        line = lineage[r["id"]]
        assert line["split"] in SPLITS
        assert (line["source_file"] or {}).get("id") == s.source_file_id
        assert r["meta"]["source_file"] == s.source_file_id
        assert "pipeline_run" in line and line["pipeline_run"] is None  # no run chosen


def test_spec_errors_and_empty_selection(collection, curator):
    with pytest.raises(DatasetSpecError, match="origins: unknown origin"):
        DatasetSpec.parse({"origins": "scraped"})
    with pytest.raises(DatasetSpecError, match="Unknown filter 'colour'"):
        DatasetSpec.parse({"colour": "red"})
    with pytest.raises(DatasetSpecError, match="validation_ratio \\+ test_ratio"):
        DatasetSpec.parse({"validation_ratio": 0.5, "test_ratio": 0.5})
    with pytest.raises(DatasetSpecError, match="cot"):
        DatasetSpec.from_pairs(["cot=maybe"])
    assert DatasetSpec.from_pairs(["origin=built,ingested", "lang=zh"]).languages == ["zh"]
    with pytest.raises(DatasetError, match="No samples match"):
        dataset_version_create(collection=collection, spec={"languages": "fr"}, user=curator)
    assert DatasetVersion.objects.count() == 0
    from django.conf import settings
    leftovers = list((Path(settings.EXPORTS_DIR) / collection.name).glob("*"))
    assert leftovers == []  # the temp build folder is gone, nothing half-written
    preview = dataset_preview_count(collection=collection, spec={"languages": "zh"})
    assert preview["selected"] == 30 + 3 and preview["languages"] == {"zh": 33}


def test_cot_strip_and_keep(collection, curator):
    reasoning, answer = "First, check the symptoms. Then compare with guidelines.", "See a doctor within 24 hours."
    s = make_sample(collection, qa("Chest pain after exercise, what now?", f"<think>{reasoning}</think>\n{answer}"),
                    origin="built", method="cot", domain="medical", language="en",
                    meta={"cot": {"reasoning": reasoning, "answer": answer}})
    s2 = make_sample(collection, qa("Dizzy when standing, what now?", f"{reasoning}\n\nDrink water and stand up slowly."),
                     origin="built", method="cot", domain="medical", language="en",
                     meta={"cot": {"reasoning": reasoning, "answer": "Drink water and stand up slowly."}})
    keep = dataset_version_create(collection=collection, spec={"origins": "built", "cot": "keep"}, user=curator)
    strip = dataset_version_create(collection=collection, spec={"origins": "built", "cot": "strip"}, user=curator)
    kept = {r["id"]: r["messages"][-1]["content"] for r in records(keep)}
    stripped = {r["id"]: r["messages"][-1]["content"] for r in records(strip)}
    assert reasoning in kept[str(s.pk)] and reasoning in kept[str(s2.pk)]
    assert stripped[str(s.pk)] == answer
    assert stripped[str(s2.pk)] == "Drink water and stand up slowly."
    assert json.loads((strip.folder / "manifest.json").read_text())["counts"]["chain_of_thought_stripped"] == 2


def test_ready_version_is_immutable(collection, curator):
    v = dataset_version_create(collection=collection, spec={}, user=curator)
    v.notes = "reviewed"
    v.save()  # notes may change
    v.n_train = 1
    with pytest.raises(ValueError, match="immutable; cannot change n_train"):
        v.save()
    v.refresh_from_db()
    v.spec = {"origins": ["built"]}
    with pytest.raises(ValueError, match="immutable; cannot change spec"):
        v.save()
    assert DatasetVersion.objects.get(pk=v.pk).spec["origins"] == []
    assert DatasetVersion.objects.get(pk=v.pk).notes == "reviewed"
