"""Exports: the files load with Hugging Face datasets, pass a real chat template, match LLaMA-Factory's schema."""
from __future__ import annotations

import json
import os

import pytest
from django.core.management import CommandError, call_command

from training.export.base import iter_jsonl
from training.models import SPLITS, DatasetVersion

from .conftest import tokenizer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

# LLaMA-Factory data/README: the keys a dataset description may have.
LF_KEYS = {"hf_hub_url", "ms_hub_url", "script_url", "file_name", "file_sha1", "subset", "folder", "ranking",
           "formatting", "split", "num_samples", "columns", "tags"}
LF_COLUMNS = {"prompt", "query", "response", "history", "messages", "system", "tools", "images", "chosen",
              "rejected", "kto_tag"}
LF_TAGS = {"role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag", "function_tag", "system_tag"}


def export(collection, fmt, out, *filters):
    call_command("export_dataset", "--collection", collection.name, "--format", fmt, "--out", str(out),
                 *[a for f in filters for a in ("--filter", f)], verbosity=0)
    return DatasetVersion.objects.filter(collection=collection).order_by("-number").first()


@pytest.mark.parametrize("fmt,columns", [
    ("messages", {"id", "messages"}),
    ("alpaca", {"id", "instruction", "input", "output", "system", "history"}),
    ("sharegpt", {"id", "conversations", "system"}),
])
def test_jsonl_exports_load_with_datasets(collection, fmt, columns, tmp_path):
    import datasets

    out = tmp_path / "out"
    version = export(collection, fmt, out, "seed=3")
    for name in ("manifest.json", "dataset_info.json", "train.jsonl", "validation.jsonl", "test.jsonl"):
        assert (out / name).is_file(), name
    ds = datasets.load_dataset("json", data_files={s: str(out / f"{s}.jsonl") for s in SPLITS},
                               cache_dir=str(tmp_path / "hf-cache"))
    for split in SPLITS:
        assert ds[split].num_rows == getattr(version, f"n_{split}")
        assert set(ds[split].column_names) == columns
    if fmt == "sharegpt":
        row = ds["train"][0]
        assert [t["from"] for t in row["conversations"]][:2] == ["human", "gpt"]
        assert row["system"] == "You are a careful assistant." or row["system"] == ""
    if fmt == "alpaca":
        assert all(r["output"] for r in ds["train"])


def test_hf_export_load_from_disk_parquet_and_card(collection, tmp_path):
    import datasets
    import yaml

    out = tmp_path / "hf-out"
    version = export(collection, "hf", out)
    dd = datasets.load_from_disk(str(out / "hf"))
    assert set(dd) == set(SPLITS)
    assert dd["train"].num_rows == version.n_train
    first = dd["train"][0]
    assert first["messages"][-1]["role"] == "assistant" and first["meta"]["sample_id"] == int(first["id"])
    pq = datasets.load_dataset("parquet", data_files={s: str(out / "parquet" / f"{s}.parquet") for s in SPLITS},
                               cache_dir=str(tmp_path / "hf-cache"))
    assert pq["test"].num_rows == version.n_test
    card = (out / "README.md").read_text()
    assert card.startswith("---\n")
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["configs"][0]["data_files"][0] == {"split": "train", "path": "parquet/train.parquet"}
    assert set(header["language"]) == {"en", "zh"} and header["task_categories"] == ["text-generation"]


def test_messages_pass_real_chat_template(collection, curator):
    from training.services.datasets import dataset_version_create

    version = dataset_version_create(collection=collection, spec={}, user=curator)
    tok = tokenizer()
    n = 0
    for split in SPLITS:
        for rec in iter_jsonl(version.split_file(split)):
            text = tok.apply_chat_template(rec["messages"], tokenize=False)
            ids = tok.apply_chat_template(rec["messages"], tokenize=True, return_dict=True)["input_ids"]
            assert rec["messages"][-1]["content"] in text and len(ids) > 10
            assert tok.decode(ids).count("<|im_start|>") == len(rec["messages"]) + (rec["messages"][0]["role"] != "system")
            n += 1
    assert n == version.n_total


def _first_row(path):
    if path.suffix == ".parquet":
        import pyarrow.parquet as papq

        return papq.read_table(path).slice(0, 1).to_pylist()[0]
    return next(iter_jsonl(path))


def _check_llamafactory_info(folder, info):
    """Every entry of a dataset_info.json follows LLaMA-Factory's schema and reads from a file in ``folder``."""
    assert info
    for name, desc in info.items():
        assert set(desc) <= LF_KEYS, name
        assert desc["formatting"] in ("alpaca", "sharegpt")
        assert set(desc.get("columns", {})) <= LF_COLUMNS and set(desc.get("tags", {})) <= LF_TAGS
        path = folder / desc["file_name"]
        assert path.is_file(), desc["file_name"]
        assert path.suffix in (".json", ".jsonl", ".parquet", ".csv", ".arrow", ".txt")  # LLaMA-Factory FILEEXT2TYPE
        row = _first_row(path)
        for column in desc["columns"].values():
            assert column in row, (name, column)
        if desc["formatting"] == "sharegpt":
            tags = desc["tags"]
            conv = row[desc["columns"]["messages"]]
            roles = {m[tags["role_tag"]] for m in conv}
            assert roles <= {tags["user_tag"], tags["assistant_tag"], tags.get("system_tag", "system")}
            non_system = [m for m in conv if m[tags["role_tag"]] != tags.get("system_tag")]
            assert non_system[0][tags["role_tag"]] == tags["user_tag"]  # human in odd positions
            assert all(isinstance(m[tags["content_tag"]], str) for m in conv)
        else:
            assert isinstance(row["instruction"], str) and isinstance(row["history"], list)


def test_dataset_info_matches_llamafactory_schema(collection, curator, tmp_path):
    from training.services.datasets import dataset_version_create, dataset_version_export

    version = dataset_version_create(collection=collection, spec={}, user=curator)
    info = json.loads((version.folder / "dataset_info.json").read_text())
    assert "clinic_v1_train" in info and "clinic_v1_alpaca_validation" in info and "clinic_v1_sharegpt_test" in info
    _check_llamafactory_info(version.folder, info)
    # and the dataset_info.json written into each export folder (parquet entries for hf)
    for fmt in ("messages", "alpaca", "sharegpt", "hf"):
        out = tmp_path / fmt
        dataset_version_export(version=version, fmt=fmt, out_dir=out)
        info = json.loads((out / "dataset_info.json").read_text())
        assert len(info) == 3
        _check_llamafactory_info(out, info)
        if fmt == "hf":
            assert {d["file_name"] for d in info.values()} == {f"parquet/{s}.parquet" for s in SPLITS}


def test_export_folder_manifest_lists_the_files_written_there(collection, curator, tmp_path):
    import hashlib

    from training.services.datasets import dataset_version_create, dataset_version_export

    version = dataset_version_create(collection=collection, spec={}, user=curator)
    for fmt in ("messages", "alpaca", "sharegpt", "hf"):
        out = tmp_path / fmt
        dataset_version_export(version=version, fmt=fmt, out_dir=out)
        manifest = json.loads((out / "manifest.json").read_text())
        on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
        assert set(manifest["files"]) == on_disk, fmt
        for rel, info in manifest["files"].items():
            data = (out / rel).read_bytes()
            assert hashlib.sha256(data).hexdigest() == info["sha256"] and len(data) == info["bytes"], (fmt, rel)
        assert manifest["export"] == {"format": fmt, "version": "v1", "version_content_hash": version.content_hash}
        assert manifest["name"] == "v1" and manifest["counts"] == version.manifest["counts"]
        if fmt != "hf":
            assert {s: manifest["files"][f"{s}.jsonl"]["rows"] for s in SPLITS} == manifest["counts"]["splits"]
        else:
            assert any(rel.startswith("hf/") and rel.endswith(".arrow") for rel in manifest["files"])
    # the version folder's own manifest lists its own files (README.md and dataset_info.json included)
    manifest = json.loads((version.folder / "manifest.json").read_text())
    on_disk = {p.relative_to(version.folder).as_posix() for p in version.folder.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == on_disk - {"manifest.json"}


def test_diff_command_and_service(collection, curator, capsys):
    from training.services.datasets import dataset_version_create, dataset_version_diff

    from .conftest import make_sample, qa

    v1 = dataset_version_create(collection=collection, spec={}, user=curator)
    added = make_sample(collection, qa("A brand new question about vaccines for travellers?",
                                       "Check the schedule six weeks before travel."), origin="built", language="en",
                        domain="medical")
    removed = collection.samples.filter(origin="ingested").order_by("id").first()
    removed_id = removed.pk
    removed.delete()
    changed = collection.samples.filter(origin="ingested").order_by("id")[5]
    changed.messages = changed.messages[:2] + [{"role": "assistant", "content": "A corrected answer."}]
    changed.save()
    v2 = dataset_version_create(collection=collection, spec={}, user=curator)
    diff = dataset_version_diff(a=v1, b=v2)
    assert diff.added == [str(added.pk)]
    assert str(removed_id) in diff.removed
    assert str(changed.pk) in diff.changed
    assert diff.stats["train samples"]["a"] == v1.n_train and diff.stats["train samples"]["b"] == v2.n_train
    call_command("dataset_diff", "clinic", "v1", "v2")
    out = capsys.readouterr().out
    assert "added 1" in out and "language distribution" in out
    call_command("dataset_diff", "clinic", "v1", "v2", "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["counts"]["added"] == 1 and data["a"] == "v1"
    with pytest.raises(CommandError, match="no version v9"):
        call_command("dataset_diff", "clinic", "v1", "v9")


def test_export_command_errors(collection, tmp_path):
    with pytest.raises(CommandError, match="No collection named 'nope'"):
        call_command("export_dataset", "--collection", "nope", "--format", "messages", "--out", str(tmp_path))
    with pytest.raises(CommandError, match="Unknown filter 'colour'"):
        call_command("export_dataset", "--collection", "clinic", "--format", "messages", "--out", str(tmp_path),
                     "--filter", "colour=red")
    with pytest.raises(CommandError, match="No samples match"):
        call_command("export_dataset", "--collection", "clinic", "--format", "messages", "--out", str(tmp_path),
                     "--filter", "language=fr", verbosity=0)
    assert not DatasetVersion.objects.exists()


def test_a_3mb_sample_exports_in_every_format(collection, curator, tmp_path):
    import datasets

    from training.services.datasets import dataset_version_create, dataset_version_export

    from .conftest import make_sample, qa

    big = make_sample(collection, qa("Summarise this record: " + "血压记录正常。" * 400_000, "Normal."),
                      origin="built", language="zh", domain="medical")
    v = dataset_version_create(collection=collection, spec={"origins": "built"}, user=curator)
    dataset_version_export(version=v, fmt="hf", out_dir=tmp_path / "hf")
    dd = datasets.load_from_disk(str(tmp_path / "hf" / "hf"))
    rows = {r["id"]: r for s in SPLITS for r in dd[s]}
    assert len(rows[str(big.pk)]["messages"][0]["content"]) > 2_800_000
    assert dd["validation"].num_rows == v.n_validation == 0  # an empty split loads as an empty table
