"""Dataset versions: selection, group-aware deterministic splits, decontamination, files, lineage, immutability."""
from __future__ import annotations

import json
import random
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
    left_out = {e["id"] for e in v1.manifest["excluded_samples"]}
    for child in Sample.objects.filter(collection=collection, origin="augmented"):
        if sm[str(child.parent_id)] == "train":
            assert sm[str(child.pk)] == "train"
        else:
            assert str(child.pk) not in sm and str(child.pk) in left_out
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


def test_augmented_samples_never_in_validation_or_test(collection, curator):
    """Every original gets two augmented children; whatever the seed, held-out splits hold originals only."""
    from curation.models import Sample

    parents = list(Sample.objects.filter(collection=collection, origin="ingested"))
    for p in parents:
        for n in (1, 2):
            m = p.messages
            make_sample(collection, [*m[:-2], {"role": "user", "content": f"{m[-2]['content']} (variant {n})"}, m[-1]],
                        origin="augmented", method="paraphrase", parent=p, domain=p.domain, language=p.language)
    children = list(Sample.objects.filter(collection=collection, origin="augmented"))
    for seed in (1, 2):
        v = dataset_version_create(collection=collection, spec={"seed": seed}, user=curator)
        sm = split_map(v)
        manifest = json.loads((v.folder / "manifest.json").read_text())
        left_out = {e["id"]: e for e in manifest["excluded_samples"]}
        held_out_parents = 0
        for child in children:
            parent_split = sm.get(str(child.parent_id))
            if parent_split in ("validation", "test"):
                held_out_parents += 1
                assert str(child.pk) not in sm
                assert left_out[str(child.pk)] == {"id": str(child.pk), "reason": "augmented from held-out sample",
                                                   "parent": child.parent_id, "split": parent_split}
            else:
                assert sm[str(child.pk)] == "train" and str(child.pk) not in left_out
        assert held_out_parents >= 6  # the rule was exercised
        by_id = {str(s.pk): s for s in Sample.objects.filter(collection=collection)}
        for split in ("validation", "test"):
            assert all(by_id[r["id"]].origin != "augmented" for r in records(v, split))
        assert manifest["counts"]["excluded"]["augmented from held-out sample"] == len(left_out)
        assert manifest["splits"]["augmented_left_out"] == len(left_out)
        assert sum(manifest["counts"]["splits"].values()) + len(left_out) + 0 == manifest["counts"]["selected"] - \
            manifest["counts"]["excluded"].get("contaminated", 0)
        # held-out shares are measured on originals: augmentation does not skew which originals are held out
        originals = [sid for sid in sm if by_id[sid].origin != "augmented"]
        assert 0.05 < sum(sm[i] == "test" for i in originals) / len(originals) < 0.2
    # only augmented samples selected (their parents filtered out): nothing is held out for them, all train
    only = dataset_version_create(collection=collection, spec={"origins": "augmented"}, user=curator)
    assert only.n_validation == only.n_test == 0 and only.n_train == len(children)
    # an augmented sample pinned to a held-out split is left out, never placed there
    pinned = children[0]
    Sample.objects.filter(pk=pinned.pk).update(split="test")
    v = dataset_version_create(collection=collection, spec={}, user=curator)
    assert str(pinned.pk) not in split_map(v)
    assert {"id": str(pinned.pk), "reason": "augmented sample pinned to a held-out split", "parent": pinned.parent_id,
            "split": "test"} in v.manifest["excluded_samples"]


def test_duplicates_never_straddle_splits(collection, curator):
    """Exact copies (short ones too), and Chinese / English edit chains, each land in one split."""
    from curation.models import Sample

    families: list[list[int]] = []
    for i in range(24):  # exact copies too short for MinHash: two tokens, or none at all
        q, a, lang = [(f"Thanks{i}", "OK", "en"), (f"谢{i}", "👍", "zh"), ("?" * (i + 1), "👍", "en")][i % 3]
        families.append([make_sample(collection, qa(q, a), origin="ingested", language=lang,
                                     domain="customer-service").pk for _ in range(2)])
    zh = "患者应按时服药并定期复查血压如有头晕或胸闷等不适症状请及时就医不要自行停药或更改剂量饮食宜清淡少盐"
    for i in range(12):  # Chinese edit chains: each text one character away from the previous one
        text = "".join(random.Random(i).sample(zh, len(zh)))
        chain = []
        for step in range(4):
            pos = (7 * step + i) % len(text)
            text = text[:pos] + "药" + text[pos + 1:]
            chain.append(make_sample(collection, qa(text, f"好的，第{i}条已记录。"), origin="ingested", language="zh",
                                     domain="medical").pk)
        families.append(chain)
    for seed in (3, 4, 5):
        v = dataset_version_create(collection=collection, spec={"seed": seed, "validation_ratio": 0.25,
                                                                 "test_ratio": 0.25}, user=curator)
        sm = split_map(v)
        for fam in families:
            assert len({sm.get(str(pk)) for pk in fam}) == 1, (seed, fam, [sm.get(str(pk)) for pk in fam])
        assert len({sm[str(fam[0])] for fam in families}) == 3  # the families are spread over all splits
    assert Sample.objects.filter(pk__in=[pk for f in families for pk in f]).count() == 24 * 2 + 12 * 4


def test_versions_are_never_deleted_and_numbers_never_reused(collection, curator):
    from django.contrib import admin
    from django.test import RequestFactory

    from training.models.datasets import VersionDeleteError

    v1 = dataset_version_create(collection=collection, spec={}, user=curator)
    with pytest.raises(VersionDeleteError, match="cannot be deleted"):
        v1.delete()
    with pytest.raises(VersionDeleteError, match="cannot be deleted"):
        DatasetVersion.objects.filter(collection=collection).delete()
    # the admin's bulk delete goes through the queryset and is refused the same way
    model_admin = admin.site._registry[DatasetVersion]
    request = RequestFactory().post("/admin/")
    request.user = curator
    with pytest.raises(VersionDeleteError):
        model_admin.delete_queryset(request, DatasetVersion.objects.all())
    assert DatasetVersion.objects.filter(pk=v1.pk).exists() and v1.folder.is_dir()
    DatasetVersion.objects.none().delete()  # deleting nothing is fine
    # a folder left by a build that died before its row was committed keeps its number taken
    (v1.folder.parent / "v2").mkdir()
    v = dataset_version_create(collection=collection, spec={}, user=curator)
    assert v.name == "v3" and v.parent == v1


def test_several_leading_system_messages_are_merged(collection, curator, tmp_path):
    from training.services.datasets import dataset_version_export

    s = make_sample(collection, [{"role": "system", "content": "You are a nurse."},
                                 {"role": "system", "content": "Answer in one sentence."},
                                 {"role": "user", "content": "Is a fever of 38.5 dangerous for an adult?"},
                                 {"role": "assistant", "content": "Usually not; rest, drink water, and watch it."}],
                    origin="built", language="en", domain="medical")
    v = dataset_version_create(collection=collection, spec={"origins": "built"}, user=curator)
    row = next(r for r in records(v) if r["id"] == str(s.pk))
    assert row["messages"][0] == {"role": "system", "content": "You are a nurse.\n\nAnswer in one sentence."}
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert v.manifest["counts"]["system_messages_merged"] == 1
    dataset_version_export(version=v, fmt="sharegpt", out_dir=tmp_path / "sg")
    conv = next(r for s_ in SPLITS for r in iter_jsonl(tmp_path / "sg" / f"{s_}.jsonl") if r["id"] == str(s.pk))
    assert conv["system"] == "You are a nurse.\n\nAnswer in one sentence." and len(conv["conversations"]) == 2
