"""One bad file never stops an ingest: parser crashes, NUL characters, one-line JSON arrays, docx bombs.

Every case ingests the bad file next to a good one: the bad one gets a clear per-file error (or is
cleaned and reported), the good one still goes in, and nothing of the bad one is half-written.
"""
import hashlib
import io
import json
import zipfile

import pytest
from django.db import IntegrityError, transaction

from curation.demo_data.make_binary import docx_bytes, pdf_bytes
from curation.ingest.readers import read_file
from curation.ingest.services import ERROR, INGESTED, PARTIAL, PRESENT, FileReport, _integrity_error_report, ingest_paths
from curation.models import Document, Sample, SourceFile

from ._ingest_helpers import make_collection, pdf_one_page, write, zip_bytes

pytestmark = pytest.mark.django_db

GOOD = "A good file ingested in the same run as the broken one."


def _ingest_with_good(tmp_path, name, data, collection=None):
    """Ingest ``name`` and a good .txt together; return (bad file report, good file report)."""
    coll = collection or make_collection()
    bad = write(tmp_path, name, data)
    good = write(tmp_path, "good.txt", GOOD)
    report = ingest_paths(collection=coll, paths=[bad, good])
    assert [f.name for f in report.files] == [bad.name, "good.txt"]
    bad_report, good_report = report.files
    assert good_report.status == INGESTED, good_report.message
    assert Document.objects.get(source_file__name="good.txt", collection=coll).text == GOOD
    return bad_report, good_report


def _assert_nothing_written(name):
    assert not Document.objects.filter(source_file__name=name).exists()
    assert not Sample.objects.filter(source_file__name=name).exists()


def _docx_with_member(member: str, data: bytes) -> bytes:
    """A real .docx (python-docx) with one member replaced."""
    zin = zipfile.ZipFile(io.BytesIO(docx_bytes(["Hello from a docx."])))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, data if info.filename == member else zin.read(info))
    return buf.getvalue()


# ------------------------------------------------------------------------------------ parser crashes
def test_docx_with_broken_xml_is_a_clear_per_file_error(tmp_path):
    data = _docx_with_member("word/document.xml", b"<w:document><w:body><w:p>unclosed")
    bad, _ = _ingest_with_good(tmp_path, "broken.docx", data)
    assert bad.status == ERROR
    assert bad.message.startswith("corrupt docx file: XMLSyntaxError"), bad.message
    _assert_nothing_written("broken.docx")


def test_pdf_that_crashes_pypdf_is_a_clear_per_file_error(tmp_path):
    # An unknown stream filter makes pypdf raise NotImplementedError, outside its own error classes.
    text = b"BT /F1 11 Tf 56 780 Td (Text behind an unknown filter.) Tj ET"
    assert read_file(pdf_one_page(text), "ok.pdf").documents[0].text == "Text behind an unknown filter."
    data = pdf_one_page(text, b"/Filter /NoSuchDecode")
    from pypdf import PdfReader

    with pytest.raises(NotImplementedError):
        PdfReader(io.BytesIO(data), strict=False).pages[0].extract_text()
    bad, _ = _ingest_with_good(tmp_path, "garbled.pdf", data)
    assert bad.status == ERROR and bad.message.startswith("corrupt pdf file: NotImplementedError"), bad.message
    assert SourceFile.objects.get(name="garbled.pdf").status == SourceFile.Status.ERROR
    _assert_nothing_written("garbled.pdf")


def test_truncated_pdf_is_a_clear_per_file_error(tmp_path):
    data = pdf_bytes([["Net interest margin was 2.31%."]])
    bad, _ = _ingest_with_good(tmp_path, "truncated.pdf", data[: len(data) // 2])
    assert bad.status == ERROR and "pdf" in bad.message.lower(), bad.message
    _assert_nothing_written("truncated.pdf")


def test_html_with_metadata_that_crashes_the_date_parser_still_ingests(tmp_path):
    # htmldate (inside trafilatura.extract_metadata) raised ValueError on this impossible UTC offset.
    html = ("<html><head><meta name='date' content='2024-01-01T00:00:00+99:00'><title>Ignored</title></head>"
            "<body><article><p>" + "Refunds reach the original payment method within five days. " * 5 +
            "</p></article></body></html>")
    import trafilatura

    with pytest.raises(ValueError):
        trafilatura.extract_metadata(html)
    bad, _ = _ingest_with_good(tmp_path, "bad_meta.html", html)
    assert bad.status == INGESTED, bad.message
    doc = Document.objects.get(source_file__name="bad_meta.html")
    assert doc.title == "bad_meta" and "five days" in doc.text


def test_binary_garbage_named_html_is_a_clear_error(tmp_path):
    bad, _ = _ingest_with_good(tmp_path, "page.html", bytes(range(256)) * 16)
    assert bad.status == ERROR and "binary" in bad.message
    _assert_nothing_written("page.html")


def test_unexpected_failure_of_one_file_is_reported_and_the_others_go_in(tmp_path, settings):
    """Anything unexpected (here: the raw-file store cannot create its folder) fails only that file."""
    data = b"This file cannot be stored: a plain file blocks its folder."
    sha = hashlib.sha256(data).hexdigest()
    assert hashlib.sha256(GOOD.encode()).hexdigest()[:2] != sha[:2]
    settings.UPLOADS_DIR.mkdir(parents=True, exist_ok=True)
    (settings.UPLOADS_DIR / sha[:2]).write_text("not a folder")
    bad, _ = _ingest_with_good(tmp_path, "unstorable.txt", data)
    assert bad.status == ERROR
    assert bad.message.startswith("unexpected error, nothing was written for this file: FileExistsError"), bad.message
    assert not SourceFile.objects.filter(name="unstorable.txt").exists()


def test_zip_member_with_corrupt_deflate_data(tmp_path):
    data = bytearray(zip_bytes({"broken.txt": "Broken member text. " * 200, "fine.txt": "Fine member text."}))
    start = data.index(b"broken.txt") + len(b"broken.txt")  # compressed data follows the local header name
    data[start + 5: start + 25] = b"\xff" * 20
    report = ingest_paths(collection=make_collection(), paths=[write(tmp_path, "damaged.zip", bytes(data))])
    statuses = {f.name: (f.status, f.message) for f in report.files}
    assert statuses["damaged.zip/fine.txt"][0] == INGESTED
    status, message = statuses["damaged.zip/broken.txt"]
    assert status == ERROR and message.startswith("cannot read from archive"), message
    assert list(SourceFile.objects.values_list("name", flat=True)) == ["damaged.zip/fine.txt"]


# ------------------------------------------------------------------------------------ NUL characters
def test_nul_escapes_in_jsonl_are_removed_and_reported(tmp_path):
    lines = [
        {"title": "Fl\u0000u", "text": "Flu vac\u0000cines work.", "source\u0000": "leaf\u0000let"},
        {"prompt": "How long\u0000?", "response": "3 to 5 days.", "domain": "customer-service"},
        {"text": "\u0000\u0000"},
        {"id": "r\u0000", "role_note": ["a\u0000", {"k\u0000": "v\u0000"}], "text": "Clean text."},
    ]
    data = "\n".join(json.dumps(line) for line in lines) + "\n"
    assert "\\u0000" in data
    bad, _ = _ingest_with_good(tmp_path, "nul.jsonl", data)
    assert bad.status == PARTIAL, bad.message
    assert bad.documents == 2 and bad.samples == 1
    assert bad.line_errors == [(3, "the text is empty once NUL characters are removed")]
    assert bad.message == "removed 11 NUL characters (U+0000, which the database cannot store)"
    assert "removed 11 NUL characters" in bad.summary
    docs = list(Document.objects.filter(source_file__name="nul.jsonl").order_by("record_index"))
    assert [(d.title, d.text, d.meta) for d in docs] == [
        ("Flu", "Flu vaccines work.", {"source": "leaflet"}),
        ("", "Clean text.", {"role_note": ["a", {"k": "v"}]}),
    ]
    assert docs[1].external_id == "r"
    sample = Sample.objects.get(source_file__name="nul.jsonl")
    assert sample.messages[0]["content"] == "How long?"
    source = SourceFile.objects.get(name="nul.jsonl")
    assert source.report["nul_removed"] == 11 and source.status == SourceFile.Status.PARTIAL


def test_utf16_text_with_a_few_nul_characters(tmp_path):
    text = "Patients should measure their blood pressure every day. " * 10
    noisy = text[:40] + "\x00" + text[40:200] + "\x00\x00" + text[200:]
    bad, _ = _ingest_with_good(tmp_path, "utf16.txt", noisy.encode("utf-16"))
    assert bad.status == INGESTED and "removed 3 NUL characters" in bad.message
    doc = Document.objects.get(source_file__name="utf16.txt")
    assert doc.text == text.strip() and "\x00" not in doc.text


def test_json_array_on_one_line_uses_the_element_index(tmp_path):
    data = json.dumps([{"text": "first document"}, {"text": "second document"},
                       {"prompt": "Question?", "response": "Answer."}, "not a record", {"title": "no text"}])
    assert "\n" not in data
    bad, _ = _ingest_with_good(tmp_path, "one_line.json", data)
    assert bad.status == PARTIAL and bad.documents == 2 and bad.samples == 1, bad.message
    assert [(n, r.split(":")[0]) for n, r in bad.line_errors] == [(1, "element 4"), (1, "element 5")]
    assert list(Document.objects.filter(source_file__name="one_line.json").order_by("record_index")
                .values_list("record_index", "text")) == [(1, "first document"), (2, "second document")]
    assert Sample.objects.get(source_file__name="one_line.json").record_index == 3


def test_integrity_error_is_already_present_only_when_another_job_stored_the_file(tmp_path):
    coll = make_collection()
    source = SourceFile.objects.create(collection=coll, name="a.jsonl", sha256="ab" * 32, size=1, format="jsonl",
                                       stored_path="x")
    # A real IntegrityError from the database: two documents for the same record of one file.
    try:
        with transaction.atomic():
            Document.objects.bulk_create([
                Document(collection=coll, source_file=source, record_index=1, text="x", content_hash="h"),
                Document(collection=coll, source_file=source, record_index=1, text="y", content_hash="h")])
    except IntegrityError as exc:
        error = exc
    else:
        pytest.fail("the database accepted a duplicate record")
    other = _integrity_error_report(FileReport(name="b.jsonl", status=ERROR), coll, "cd" * 32, error)
    assert other.status == ERROR and other.source_file_id is None
    assert other.message.startswith("the database refused this file's records, nothing was written: ")
    same = _integrity_error_report(FileReport(name="a copy.jsonl", status=ERROR), coll, "ab" * 32, error)
    assert same.status == PRESENT and same.source_file_id == source.pk and "another job" in same.message


# ------------------------------------------------------------------------------------ docx bombs
def _docx_bomb(size: int) -> bytes:
    body = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>' + \
        b"<w:p><w:r><w:t>bomb</w:t></w:r></w:p>" * (size // 36) + b"</w:body></w:document>"
    return _docx_with_member("word/document.xml", body)


def test_docx_bomb_by_ratio_is_refused_before_parsing(tmp_path, settings):
    settings.ZIP_MAX_RATIO = 50
    data = _docx_bomb(20_000_000)
    assert len(data) < 200_000
    bad, _ = _ingest_with_good(tmp_path, "bomb.docx", data)
    assert bad.status == ERROR
    assert bad.message.startswith(".docx file refused: member 'word/document.xml' expands"), bad.message
    assert "REFINERY_ZIP_MAX_RATIO" in bad.message and "zip bomb" in bad.message
    _assert_nothing_written("bomb.docx")


def test_docx_over_total_size_or_member_count_is_refused(tmp_path, settings):
    settings.ZIP_MAX_RATIO = 10**6
    settings.ZIP_MAX_TOTAL_BYTES = 1_000_000
    bad, _ = _ingest_with_good(tmp_path, "big.docx", _docx_bomb(2_000_000))
    assert bad.status == ERROR and "uncompressed" in bad.message and "REFINERY_ZIP_MAX_TOTAL_MB" in bad.message
    settings.ZIP_MAX_TOTAL_BYTES = 10**9
    settings.ZIP_MAX_FILES = 3
    bad, _ = _ingest_with_good(tmp_path, "many.docx", docx_bytes(["Normal document."]), collection=make_collection("c2"))
    assert bad.status == ERROR and "more than the limit of 3" in bad.message and "REFINERY_ZIP_MAX_FILES" in bad.message
    settings.ZIP_MAX_FILES = 10_000
    ok, _ = _ingest_with_good(tmp_path, "normal.docx", docx_bytes(["Normal document."]), collection=make_collection("c3"))
    assert ok.status == INGESTED
