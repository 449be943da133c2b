"""Folders recursively, zip archives (nested), zip-bomb limits and path traversal."""
import zipfile

import pytest

from curation.ingest.services import ERROR, INGESTED, ingest_paths
from curation.models import Document, SourceFile

from ._ingest_helpers import make_collection, write, zip_bytes

pytestmark = pytest.mark.django_db


def test_folder_is_walked_recursively_with_relative_names(tmp_path):
    root = tmp_path / "corpus"
    write(root, "a.txt", "Alpha document text.")
    write(root, "sub/deeper/b.md", "# Beta\n\nBeta text.")
    write(root, ".hidden.txt", "skip me")
    report = ingest_paths(collection=make_collection(), paths=[root])
    assert [(f.name, f.status) for f in report.files] == [("corpus/a.txt", INGESTED), ("corpus/sub/deeper/b.md", INGESTED)]
    assert sorted(SourceFile.objects.values_list("name", flat=True)) == ["corpus/a.txt", "corpus/sub/deeper/b.md"]


def test_zip_members_and_nested_zip_are_ingested(tmp_path):
    inner = zip_bytes({"inner/c.txt": "Gamma text inside a nested zip."})
    data = zip_bytes({"a.txt": "Alpha text.", "docs/b.jsonl": '{"text": "Beta"}\n{"text": "Beta 2"}\n',
                      "nested.zip": inner, "__MACOSX/._a.txt": "junk", "dir/": ""})
    report = ingest_paths(collection=make_collection(), paths=[write(tmp_path, "bundle.zip", data)])
    by_name = {f.name: f for f in report.files}
    assert set(by_name) == {"bundle.zip/a.txt", "bundle.zip/docs/b.jsonl", "bundle.zip/nested.zip/inner/c.txt"}
    assert all(f.status == INGESTED for f in report.files)
    assert Document.objects.count() == 4


def test_zip_bomb_by_ratio_is_refused_before_reading(tmp_path, settings):
    settings.ZIP_MAX_RATIO = 50
    bomb = zip_bytes({"zeros.txt": b"0" * 5_000_000})
    report = ingest_paths(collection=make_collection(), paths=[write(tmp_path, "bomb.zip", bomb), write(tmp_path, "ok.txt", "fine")])
    assert report.files[0].status == ERROR and "zip bomb" in report.files[0].message and "REFINERY_ZIP_MAX_RATIO" in report.files[0].message
    assert report.files[1].status == INGESTED
    assert SourceFile.objects.count() == 1


def test_zip_over_total_size_or_file_count_is_refused(tmp_path, settings):
    settings.ZIP_MAX_TOTAL_BYTES = 10_000
    settings.ZIP_MAX_RATIO = 10**6
    data = zip_bytes({f"f{i}.txt": f"text {i} " * 400 for i in range(5)})
    assert len(data) < 10_000
    report = ingest_paths(collection=make_collection(), paths=[write(tmp_path, "big.zip", data)])
    assert [f.status for f in report.files] == [ERROR] and "uncompressed" in report.files[0].message
    settings.ZIP_MAX_TOTAL_BYTES = 10**9
    settings.ZIP_MAX_FILES = 3
    report = ingest_paths(collection=make_collection("c2"), paths=[write(tmp_path, "many.zip", data)])
    assert report.files[0].status == ERROR and "5 files" in report.files[0].message
    assert Document.objects.count() == 0


def test_zip_path_traversal_members_are_refused_others_ingest(tmp_path, settings):
    data = zip_bytes({"../../etc/evil.txt": "evil", "/abs/evil2.txt": "evil", "ok/../../x.txt": "evil", "good.txt": "Good text."})
    report = ingest_paths(collection=make_collection(), paths=[write(tmp_path, "trav.zip", data)])
    statuses = {f.name: (f.status, f.message) for f in report.files}
    assert statuses["trav.zip/good.txt"][0] == INGESTED
    bad = [v for k, v in statuses.items() if k != "trav.zip/good.txt"]
    assert len(bad) == 3 and all(s == ERROR and "unsafe path" in m for s, m in bad)
    assert list(SourceFile.objects.values_list("name", flat=True)) == ["trav.zip/good.txt"]
    # Nothing was written outside the uploads dir.
    assert not (tmp_path / "etc").exists() and not (settings.DATA_DIR.parent / "x.txt").exists()


def test_corrupt_zip_and_missing_path(tmp_path):
    report = ingest_paths(collection=make_collection(), paths=[write(tmp_path, "bad.zip", b"PK\x03\x04garbage"),
                                                              tmp_path / "nope.txt"])
    assert [f.status for f in report.files] == [ERROR, ERROR]
    assert "not a valid zip" in report.files[0].message and "no such file" in report.files[1].message
    assert report.all_failed


def test_oversize_member_in_zip(tmp_path, settings):
    settings.MAX_FILE_BYTES = 100
    data = zip_bytes({"big.txt": "y" * 101 + "z", "small.txt": "small text"}, compression=zipfile.ZIP_STORED)
    report = ingest_paths(collection=make_collection(), paths=[write(tmp_path, "z.zip", data)])
    statuses = {f.name: f.status for f in report.files}
    assert statuses == {"z.zip/big.txt": ERROR, "z.zip/small.txt": INGESTED}


def test_archives_nested_too_deep_and_oversize_archive(tmp_path, settings):
    data = zip_bytes({"deep.txt": "deepest text"})
    for level in range(4):
        data = zip_bytes({f"level{level}.zip": data})
    report = ingest_paths(collection=make_collection(), paths=[write(tmp_path, "deep.zip", data)])
    assert [f.status for f in report.files] == [ERROR] and "nested more than 3 deep" in report.files[0].message
    settings.ZIP_MAX_TOTAL_BYTES = 50
    report = ingest_paths(collection=make_collection("c2"), paths=[write(tmp_path, "deep2.zip", data)])
    assert "zip archive is too large" in report.files[0].message and "REFINERY_ZIP_MAX_TOTAL_MB" in report.files[0].message
