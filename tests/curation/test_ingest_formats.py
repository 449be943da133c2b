"""Each format ingests into Documents/Samples linked to a kept raw SourceFile; encodings are detected."""
import pytest

from curation.demo_data.make_binary import docx_bytes, pdf_bytes
from curation.ingest.services import ERROR, INGESTED, PARTIAL, PRESENT, source_file_path
from curation.models import Document, Sample, SourceFile

from ._ingest_helpers import ingest_one, make_collection, write

pytestmark = pytest.mark.django_db

GUIDE_ZH = "高血压患者应当每天测量血压，减少食盐摄入，并按时服用降压药物。"


def _doc(report):
    source = SourceFile.objects.get(pk=report.source_file_id)
    docs = list(source.documents.all())
    assert len(docs) == 1
    return source, docs[0]


def test_txt_utf8_is_kept_by_sha256_and_linked(tmp_path, settings):
    coll = make_collection()
    path = write(tmp_path, "guide.txt", "Take your blood pressure medicine daily.\n")
    report = ingest_one(coll, path)
    assert report.status == INGESTED and report.documents == 1
    source, doc = _doc(report)
    assert doc.text == "Take your blood pressure medicine daily."
    assert doc.language == "en" and doc.char_count == len(doc.text) and doc.collection == coll
    assert source.format == "txt" and source.encoding == "utf-8" and source.status == SourceFile.Status.INGESTED
    raw = source_file_path(source)
    assert raw.read_bytes() == path.read_bytes()
    assert source.sha256 in raw.name and raw.is_relative_to(settings.UPLOADS_DIR)
    assert not list(raw.parent.glob("*.tmp"))
    from refinery.models import AuditEvent
    event = AuditEvent.objects.get(action="ingest", object_id=str(source.pk))
    assert event.summary == "guide.txt: 1 documents, 0 samples" and event.details["collection"] == "docs"


@pytest.mark.parametrize("encoding,expected", [
    ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030"), ("utf-16", None), ("utf-16-le", "utf-16-le"),
])
def test_chinese_text_in_each_encoding(tmp_path, encoding, expected):
    coll = make_collection()
    report = ingest_one(coll, write(tmp_path, "zh.txt", GUIDE_ZH * 3, encoding=encoding))
    assert report.status == INGESTED, report.message
    source, doc = _doc(report)
    assert doc.text == GUIDE_ZH * 3
    assert doc.language == "zh"
    assert source.encoding.startswith(expected or "utf-16")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_bomless_utf16_chinese_with_digits(tmp_path, encoding):
    """Chinese UTF-16 without a BOM has NUL bytes (digits) but no ASCII NUL pattern: not binary."""
    text = "会议于2026年3月15日举行，共有120名代表参加。" * 2
    report = ingest_one(make_collection(), write(tmp_path, "zh16.txt", text, encoding=encoding))
    assert report.status == INGESTED, report.message
    source, doc = _doc(report)
    assert doc.text == text and source.encoding == encoding


def test_markdown_title_from_heading(tmp_path):
    report = ingest_one(make_collection(), write(tmp_path, "faq.md", "# Card FAQ\n\nReport a lost card at once.\n"))
    _, doc = _doc(report)
    assert doc.title == "Card FAQ" and "lost card" in doc.text


def test_html_main_text_without_boilerplate(tmp_path):
    html = """<html><head><title>Returns policy</title><script>var x = 1;</script></head><body>
    <nav><a href="/">Home</a> | <a href="/cart">Cart</a> | <a href="/login">Sign in</a></nav>
    <article><h1>Returns</h1><p>You can return most items within thirty days of delivery for a full refund, as long
    as they are unused and in the original packaging.</p><p>Refunds go to the original payment method within five
    business days after the warehouse receives the parcel.</p></article>
    <footer>Copyright 2026 ShopEasy. Cookie settings. Subscribe to our newsletter!</footer></body></html>"""
    report = ingest_one(make_collection(), write(tmp_path, "returns.html", html))
    _, doc = _doc(report)
    assert doc.title == "Returns"  # trafilatura prefers the page's single <h1> over <title>
    assert "thirty days" in doc.text and "five" in doc.text
    assert "var x" not in doc.text and "Sign in" not in doc.text and "newsletter" not in doc.text


def test_pdf_text_and_title(tmp_path):
    pdf = pdf_bytes([["Net interest margin was 2.31%."], ["Outlook: moderate growth."]], title="Annual report")
    report = ingest_one(make_collection(), write(tmp_path, "report.pdf", pdf))
    source, doc = _doc(report)
    assert source.format == "pdf" and doc.title == "Annual report" and doc.meta["pages"] == 2
    assert "Net interest margin" in doc.text and "Outlook" in doc.text


def test_docx_paragraphs_and_tables(tmp_path):
    data = docx_bytes(["理财非存款，产品有风险。"], title="产品说明", table=[["项目", "内容"], ["起购金额", "1万元"]])
    report = ingest_one(make_collection(), write(tmp_path, "product.docx", data))
    _, doc = _doc(report)
    assert doc.title == "产品说明" and "理财非存款" in doc.text and "起购金额\t1万元" in doc.text and doc.language == "zh"


def test_jsonl_documents_and_every_sample_shape(tmp_path):
    lines = [
        '{"id": "d1", "title": "Flu", "text": "Flu vaccines work.", "source": "leaflet"}',
        '{"prompt": "How long is shipping?", "response": "3 to 5 days.", "domain": "customer-service"}',
        '{"instruction": "Translate", "input": "你好", "output": "Hello", "system": "You translate."}',
        '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}',
        '{"id": "c1", "intent": "refund_request", "conversation": [{"role": "customer", "text": "退款，订单A1",'
        ' "entities": [{"type": "order_id", "value": "A1", "start": 3, "end": 5}]}, {"role": "agent", "text": "好的"}]}',
        '{"conversations": [{"from": "human", "value": "Q?"}, {"from": "gpt", "value": "A."}]}',
    ]
    report = ingest_one(make_collection(domain="mixed"), write(tmp_path, "mix.jsonl", "\n".join(lines) + "\n"))
    assert report.status == INGESTED and report.documents == 1 and report.samples == 5
    doc = Document.objects.get()
    assert (doc.external_id, doc.title, doc.record_index, doc.meta) == ("d1", "Flu", 1, {"source": "leaflet"})
    samples = {s.record_index: s for s in Sample.objects.all()}
    assert samples[2].messages == [{"role": "user", "content": "How long is shipping?"},
                                   {"role": "assistant", "content": "3 to 5 days."}]
    assert samples[2].domain == "customer-service" and samples[4].domain == "mixed"
    assert samples[3].messages[0] == {"role": "system", "content": "You translate."}
    assert samples[3].messages[1]["content"] == "Translate\n\n你好"
    conv = samples[5]
    assert conv.intent == "refund_request" and conv.entities == {"order_id": ["A1"]}
    assert conv.messages[0]["role"] == "user" and conv.messages[1]["role"] == "assistant"
    assert conv.meta["entity_spans"][0] == {"type": "order_id", "value": "A1", "start": 3, "end": 5, "utterance": 0}
    assert samples[6].messages[1] == {"role": "assistant", "content": "A."}
    assert all(s.origin == Sample.Origin.INGESTED and s.source_file_id == report.source_file_id for s in samples.values())
    assert len({s.content_hash for s in samples.values()}) == 5


def test_csv_rows_to_samples_and_documents(tmp_path):
    data = ("question,answer,intent\nHow do I open an account?,Bring your ID.,open_account\n"
            "定期存款可以提前支取吗？,\"可以，按活期利率计息。\",early_withdrawal\n")
    report = ingest_one(make_collection(), write(tmp_path, "qa.csv", data))
    assert report.status == INGESTED and report.samples == 2
    s = Sample.objects.get(record_index=3)
    assert s.intent == "early_withdrawal" and s.language == "zh" and s.messages[1]["content"] == "可以，按活期利率计息。"
    docs = ingest_one(make_collection("c2"), write(tmp_path, "docs.tsv", "title\ttext\nA\tFirst text\nB\tSecond text\n"))
    assert docs.documents == 2 and list(Document.objects.filter(collection__name="c2").values_list("title", flat=True)) == ["A", "B"]


def test_bad_jsonl_line_reports_line_number_and_keeps_the_others(tmp_path):
    data = ('{"text": "first"}\n{"text": "second"\n\n{"prompt": "only a prompt"}\n[1, 2]\n{"text": "fifth"}\n'
            '{"messages": [{"role": "robot", "content": "x"}]}\n')
    report = ingest_one(make_collection(), write(tmp_path, "bad.jsonl", data))
    assert report.status == PARTIAL and report.documents == 2
    lines = dict(report.line_errors)
    assert set(lines) == {2, 4, 5, 7}
    assert "invalid JSON" in lines[2] and "response" in lines[4] and "JSON object" in lines[5] and "robot" in lines[7]
    source = SourceFile.objects.get(pk=report.source_file_id)
    assert source.status == SourceFile.Status.PARTIAL and source.report["bad_lines"] == 4
    assert [e[0] for e in source.report["line_errors"]] == [2, 4, 5, 7]


def test_json_array_records_with_line_numbers(tmp_path):
    data = """[
  {"instruction": "Give three tips for staying healthy.", "input": "", "output": "Eat well, sleep, move."},
  {
    "instruction": "翻译成英文", "input": "你好", "output": "Hello"
  },
  {"instruction": "No output here"},
  "a string",
  {"text": "a document record"}
]"""
    report = ingest_one(make_collection(), write(tmp_path, "alpaca_data.json", data))
    assert report.status == PARTIAL and report.samples == 2 and report.documents == 1
    # Errors point at the line each element starts on and name the element; records are indexed by element.
    assert [(n, r.split(":")[0]) for n, r in report.line_errors] == [(6, "element 3"), (7, "element 4")]
    assert sorted(Sample.objects.values_list("record_index", flat=True)) == [1, 2]
    assert Document.objects.get().record_index == 5
    single = ingest_one(make_collection("c2"), write(tmp_path, "one.json", '{"prompt": "P?", "response": "R."}'))
    assert single.samples == 1
    bad = ingest_one(make_collection("c3"), write(tmp_path, "bad.json", '[{"text": "x"},\n{oops}]'))
    assert bad.status == ERROR and "invalid JSON at line 2" in bad.message


def test_csv_multiline_cell_keeps_the_starting_line_number(tmp_path):
    data = 'title,text\nA,"first line\nsecond line"\nB,third\n'
    ingest_one(make_collection(), write(tmp_path, "m.csv", data))
    assert list(Document.objects.order_by("id").values_list("record_index", "text")) == [
        (2, "first line\nsecond line"), (4, "third")]


def test_csv_row_with_wrong_column_count(tmp_path):
    report = ingest_one(make_collection(), write(tmp_path, "t.csv", "text,title\nok text,T\ntoo,many,cols\n"))
    assert report.status == PARTIAL and report.line_errors == [(3, "expected 2 columns, got 3")]


def test_reingest_is_idempotent_and_says_already_present(tmp_path):
    coll = make_collection()
    path = write(tmp_path, "a.jsonl", '{"text": "one"}\n{"prompt": "p", "response": "r"}\n')
    first = ingest_one(coll, path)
    counts = (SourceFile.objects.count(), Document.objects.count(), Sample.objects.count())
    again = ingest_one(coll, write(tmp_path, "renamed.jsonl", path.read_bytes()))
    assert first.status == INGESTED and again.status == PRESENT and "a.jsonl" in again.message
    assert (SourceFile.objects.count(), Document.objects.count(), Sample.objects.count()) == counts
    # Another collection is independent.
    assert ingest_one(make_collection("other"), path).status == INGESTED


@pytest.mark.parametrize("name,data,reason", [
    ("empty.txt", b"", "empty"),
    ("blank.md", b"  \n\n ", "empty"),
    ("image.txt", bytes(range(256)) * 8, "binary"),
    ("png.txt", b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200), "binary"),
    ("corrupt.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> garbage", "PDF"),
    ("notpdf.pdf", b"hello, I am text", "not a PDF"),
    ("corrupt.docx", b"PK\x03\x04 not really a zip", ".docx"),
    ("table.xlsx", b"whatever", "unsupported file type '.xlsx'"),
    ("only_bad.jsonl", b'{"a": 1}\nnot json\n', "no valid records"),
    ("header_only.csv", b"text,title\n", "no rows"),
])
def test_bad_files_get_a_clear_error_and_write_no_records(tmp_path, name, data, reason):
    coll = make_collection()
    ok = write(tmp_path, "ok.txt", "A good file next to the bad one.")
    bad = write(tmp_path, name, data)
    from curation.ingest.services import ingest_paths

    report = ingest_paths(collection=coll, paths=[bad, ok])
    bad_report, ok_report = report.files
    assert bad_report.status == ERROR and reason in bad_report.message, bad_report.message
    assert ok_report.status == INGESTED
    assert Document.objects.filter(source_file__name=name).count() == 0
    assert Document.objects.count() == 1


def test_error_row_is_replaced_on_retry(tmp_path):
    coll = make_collection()
    bad = write(tmp_path, "x.jsonl", b'{"nope": 1}\n')
    assert ingest_one(coll, bad).status == ERROR
    assert SourceFile.objects.get().status == SourceFile.Status.ERROR
    again = ingest_one(coll, bad)
    assert again.status == ERROR and SourceFile.objects.count() == 1


def test_oversize_file_is_refused_with_the_limit(tmp_path, settings):
    settings.MAX_FILE_BYTES = 1000
    report = ingest_one(make_collection(), write(tmp_path, "big.txt", "x" * 1001))
    assert report.status == ERROR and "too large" in report.message and "REFINERY_MAX_FILE_MB" in report.message
    assert SourceFile.objects.count() == 0


@pytest.mark.parametrize("text,encoding", [
    ("Le café est très bon. Ça coûte 3 €. À bientôt, garçon !", "cp1252"),
    ("日本語のテキストです。よろしくお願いします。", "shift_jis"),
    ("繁體中文的客服說明，請稍候。", "big5"),
])
def test_other_legacy_encodings_are_not_mistaken_for_gbk(tmp_path, text, encoding):
    report = ingest_one(make_collection(), write(tmp_path, "legacy.txt", text, encoding=encoding))
    _, doc = _doc(report)
    assert doc.text == text
