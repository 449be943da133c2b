"""Generate the binary demo files (a PDF and a .docx) committed beside this script.

    .venv/bin/python curation/demo_data/make_binary.py

``pdf_bytes`` writes a minimal valid PDF (one Helvetica text page per list of lines, correct xref
offsets) without any PDF library; ``docx_bytes`` uses python-docx. Tests reuse both to build inputs.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(pages: list[list[str]], *, title: str = "") -> bytes:
    """A minimal PDF 1.4: each page shows its lines in 11pt Helvetica (Latin-1 text only)."""
    objects: list[bytes] = []
    n_pages = len(pages)
    # 1: catalog, 2: pages, 3: font, 4: info, then (page, content) pairs
    kids = " ".join(f"{5 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    objects.append(f"<< /Title ({_pdf_escape(title)}) /Producer (Refinery make_binary.py) >>".encode("latin-1"))
    for i, lines in enumerate(pages):
        ops = ["BT", "/F1 11 Tf", "14 TL", "56 780 Td"]
        for line in lines:
            ops.append(f"({_pdf_escape(line)}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
                       f"/Contents {6 + 2 * i} 0 R >>".encode())
        objects.append(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream")
    return pdf_from_objects(objects, info=4, binary_marker=True)


def pdf_from_objects(objects: list[bytes], *, info: int | None = None, binary_marker: bool = False) -> bytes:
    """A PDF from raw object bodies (object 1 is the catalog; ``info``: the Info object's number), with a
    correct xref table. ``binary_marker`` adds the comment line that marks the file as binary."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n" + (b"%\xe2\xe3\xcf\xd3\n" if binary_marker else b""))
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    info_ref = f" /Info {info} 0 R" if info else ""
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info_ref} >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def docx_bytes(paragraphs: list[str], *, title: str = "", heading: str = "", table: list[list[str]] | None = None) -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    if heading:
        document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


ANNUAL_REPORT = [
    [
        "Northwind Savings Bank - Annual Report 2025 (Summary)",
        "",
        "Total assets grew 8.4% to USD 12.6 billion, driven by mortgage lending.",
        "Net interest margin was 2.31%, down from 2.45% as deposit costs rose.",
        "The common equity tier 1 ratio stood at 13.2%, well above the regulatory minimum.",
        "Non-performing loans fell to 0.9% of gross loans.",
    ],
    [
        "Outlook",
        "",
        "We expect moderate loan growth of 4 to 6 percent in 2026.",
        "Digital channels now handle 78% of retail transactions.",
        "Investor relations: David Myers, phone (412) 623-3079, adam68@example.com.",
    ],
]

WEALTH_PRODUCT = [
    "本产品为中低风险等级（R2）的固定收益类理财产品，投资期限为180天，业绩比较基准为年化2.80%至3.20%。",
    "产品主要投资于国债、政策性金融债、同业存单及高信用等级的企业债券。",
    "风险提示：理财非存款，产品有风险，投资须谨慎。过往业绩不代表未来表现。",
    "客户经理：黄艳，联系电话15287574911，身份证号230223193708213194（示例数据）。",
]


def main() -> None:
    pdf = pdf_bytes(ANNUAL_REPORT, title="Northwind Savings Bank Annual Report 2025")
    (HERE / "finance" / "annual_report_2025.pdf").write_bytes(pdf)
    docx_data = docx_bytes(WEALTH_PRODUCT, title="稳健理财180天产品说明书", heading="稳健理财180天 产品说明书",
                           table=[["项目", "内容"], ["起购金额", "1万元"], ["申购费", "0"], ["到期日", "成立后180天"]])
    (HERE / "finance" / "wealth_product_zh.docx").write_bytes(docx_data)
    # Verify both read back.
    from pypdf import PdfReader

    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Net interest margin" in text and "Outlook" in text, text
    import docx

    assert "风险提示" in "\n".join(p.text for p in docx.Document(io.BytesIO(docx_data)).paragraphs)
    sys.stdout.write("wrote finance/annual_report_2025.pdf and finance/wealth_product_zh.docx (read back OK)\n")


if __name__ == "__main__":
    main()
