"""Decode uploaded text files: BOMs, UTF-8, UTF-16 without BOM, GB18030/GBK, then charset-normalizer.

Binary files (images, executables, archives renamed .txt) are refused with a clear error instead of
being decoded into garbage.
"""
from __future__ import annotations

import codecs
import re

from .errors import IngestError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Share of decoded non-ASCII characters that must be CJK for a GB18030 decode to be believed.
GB_MIN_CJK_SHARE = 0.6
# Share of those that must be in GB2312 (the 6,763 common simplified hanzi + symbols): other encodings
# (Shift-JIS, Big5) also decode as GB18030, but into rare characters from the GBK extension area.
GB_MIN_GB2312_SHARE = 0.8
# Share of ordinary text characters a BOM-less UTF-16 decoding needs to be believed.
UTF16_MIN_TEXT_SHARE = 0.95
# Share of control characters above which decoded "text" is treated as binary.
MAX_CONTROL_SHARE = 0.01


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a BOM: ASCII-range characters leave a NUL in every other byte."""
    if len(data) < 4 or len(data) % 2:
        return None
    sample = data[:4000]
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.3 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.3 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return None


def _text_like_share(text: str) -> float:
    """Share of characters that are ordinary text: ASCII printable/whitespace, CJK, Latin-1 letters."""
    good = 0
    for ch in text:
        o = ord(ch)
        if (32 <= o < 127 or ch in "\t\n\r" or 0x4E00 <= o <= 0x9FFF or 0x3000 <= o <= 0x30FF
                or 0xFF00 <= o <= 0xFFEF or 0xC0 <= o <= 0x24F or o in (0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026)):
            good += 1
    return good / max(len(text), 1)


def _plausible_utf16(data: bytes) -> tuple[str, str] | None:
    """UTF-16 without a BOM and without ASCII-heavy NUL patterns (e.g. Chinese): accept a decoding only
    when nearly every character is ordinary text — random bytes decode to characters all over the BMP."""
    if len(data) < 4 or len(data) % 2:
        return None
    best = None
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        share = _text_like_share(text[:5000])
        if share >= UTF16_MIN_TEXT_SHARE and (best is None or share > best[0]):
            best = (share, text, encoding)
    return (best[1], best[2]) if best else None


def _check_text(text: str, encoding: str) -> None:
    if not text:
        return
    controls = len(_CONTROL.findall(text[:20000]))
    if controls > MAX_CONTROL_SHARE * min(len(text), 20000):
        raise IngestError(f"looks like a binary file, not {encoding} text ({controls} control characters)")


def decode_text(data: bytes) -> tuple[str, str]:
    """Return ``(text, encoding)``; raise IngestError for empty or binary input."""
    if not data.strip():
        raise IngestError("the file is empty")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise IngestError(f"starts with a {encoding} byte-order mark but is not valid {encoding}: {exc.reason} at byte {exc.start}") from None
            name = "utf-8-sig" if encoding == "utf-8-sig" else ("utf-32" if "32" in encoding else
                                                                 ("utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be"))
            text = text.lstrip("\ufeff")
            if not text.strip():
                raise IngestError("the file is empty (only a byte-order mark)")
            _check_text(text, name)
            return text, name
    utf16 = _utf16_without_bom(data)
    if utf16:
        try:
            text = data.decode(utf16)
            _check_text(text, utf16)
            return text, utf16
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        # Only UTF-16/32 text has NUL bytes: e.g. Chinese UTF-16 whose digits/ASCII give a few NULs.
        # (Without NULs, BOM-less UTF-16 is left to charset-normalizer: Shift-JIS would pass as UTF-16-BE.)
        plausible = _plausible_utf16(data)
        if plausible is not None:
            return plausible
        raise IngestError("looks like a binary file, not text (it contains NUL bytes)")
    try:
        text = data.decode("utf-8")
        _check_text(text, "utf-8")
        return text, "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        non_ascii = [c for c in text[:20000] if ord(c) > 127]
        if (non_ascii and sum(1 for c in non_ascii if _CJK.match(c)) >= GB_MIN_CJK_SHARE * len(non_ascii)
                and sum(1 for c in non_ascii if _in_gb2312(c)) >= GB_MIN_GB2312_SHARE * len(non_ascii)):
            _check_text(text, "gb18030")
            return text, "gb18030"
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise IngestError("could not detect the text encoding (is this a binary file?)")
    text = str(best)
    try:
        name = codecs.lookup(best.encoding).name
    except LookupError:
        name = best.encoding
    _check_text(text, name)
    return text, name
