"""normalize — clean text without changing its meaning.

In order: strip HTML remnants (tags, script/style blocks, entities), fix mojibake with ftfy, Unicode
compatibility normalisation *where safe*, full-width → half-width ASCII letters and digits, optional
punctuation conversion, optional Traditional → Simplified Chinese (OpenCC t2s), removal of boilerplate
lines, whitespace/newline collapse.

"Where safe" means: NFC always; compatibility (NFKC) mappings only for ligatures (ﬁ → fi), width
variants (ＡＢＣ１２３ → ABC123, half-width katakana → full-width), no-break and other compatibility
spaces. Superscripts (m² stays m²), fractions, circled numbers and units keep their form, and full-width
*punctuation* (，：！) is left alone unless ``punctuation`` asks otherwise, because NFKC would rewrite
Chinese punctuation into ASCII.

Records with ``messages`` have every message's content normalised. Documents that become empty are
dropped with reason ``empty``.
"""
from __future__ import annotations

import dataclasses
import html
import re
import unicodedata

from ..base import Mapper, register_step
from ._text import CJK_CLASS, map_text

# Boilerplate lines (whole line, case-insensitive): navigation, sharing, legal footers, feed chrome.
BOILERPLATE_PATTERNS: tuple[str, ...] = (
    r"(all rights reserved\.?|copyright\s*(©|\(c\))?.{0,80})",
    r"(click here|read more|continue reading|share (this|on \w+)|follow us.{0,40}|subscribe.{0,40})",
    r"(privacy policy|terms of (use|service)|cookie (policy|settings)|accept (all )?cookies).{0,40}",
    r"(home|back to top|skip to (main )?content|menu|login|log in|sign in|sign up)",
    r"(版权所有|©).{0,60}",
    r"(上一篇|下一篇|返回顶部|返回首页|点击(阅读原文|这里|查看)|扫(码|描二维码)关注|分享到|责任编辑|免责声明).{0,60}",
    r"(相关阅读|热门推荐|猜你喜欢|更多精彩|关注我们|联系我们|首页)",
)

_TAG_BLOCK_RE = re.compile(r"<(script|style|noscript)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)
_BR_RE = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/tr)\b[^>]*>", re.I)
_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9:-]*(\s[^<>]{0,500})?/?>")
_ENTITY_RE = re.compile(r"&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_FTFY_GATE_RE: re.Pattern | None = None


def ftfy_gate() -> re.Pattern:
    """A regex that finds something in every text ``ftfy.fix_text`` (as called here) would change, except
    by NFC; texts it finds nothing in skip ftfy (clean Chinese and English prose, curly quotes and all).

    Built from ftfy's own tables, so it follows the installed ftfy:
    * mojibake — ftfy only re-decodes a segment when ``ftfy.badness.is_bad`` matches it. Every
      alternative of its ``BADNESS_RE`` needs a C1 control, Œ/œ/Ã/Â, two adjacent characters of its
      non-"common" mojibake categories, or one of ØÙÂÃÎÐ√ before a "common" one (checked by a test
      that fuzzes ``is_bad``); a cheap superset, since ``is_bad`` itself costs ≈ 0.1 ms per 1 KB;
    * the other fixers: Latin ligatures, control characters ftfy removes, C1 controls, CR/U+2028/U+2029
      line breaks, surrogates, ANSI escapes (ESC is a control character).
    """
    global _FTFY_GATE_RE
    if _FTFY_GATE_RE is None:
        from ftfy.badness import MOJIBAKE_CATEGORIES
        from ftfy.chardata import CONTROL_CHARS, LIGATURES

        cats = dict(MOJIBAKE_CATEGORIES)
        common = cats.pop("common")
        rest = "".join(cats.values())  # regex class fragments, as ftfy's own BADNESS_RE uses them
        singles = "".join(re.escape(chr(cp)) for cp in sorted(set(CONTROL_CHARS) | set(LIGATURES)))
        _FTFY_GATE_RE = re.compile(f"[\\r\u2028\u2029\ud800-\udfff\x80-\x9fŒœÃÂ{singles}]"
                                   f"|[{rest}][{rest}]|[ØÙÂÃÎÐ√][{common}]")
    return _FTFY_GATE_RE


def fix_unicode(text: str, *, nfc: bool = True) -> str:
    """``ftfy.fix_text`` (mojibake, C1 controls, ligatures, control characters, line breaks; no HTML
    unescaping, width folding or quote uncurling) + NFC when ``nfc`` — the same result, but ftfy only runs
    when ``ftfy_gate()`` finds something in the text (or in its NFC form, which ftfy would look at again)."""
    gate = ftfy_gate()
    if not gate.search(text):
        if not nfc:
            return text
        out = unicodedata.normalize("NFC", text)
        if out == text or not gate.search(out):
            return out
    import ftfy

    return ftfy.fix_text(text, unescape_html=False, fix_character_width=False, uncurl_quotes=False,
                         normalization="NFC" if nfc else None)


_INVISIBLE_RE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HSPACE_RE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_TRAILING_RE = re.compile(r" *\n *")
_MANY_NEWLINES_RE = re.compile(r"\n{3,}")
# ASCII punctuation sitting between CJK characters (for punctuation="cjk").
_CJK_PUNCT_RE = re.compile(rf"(?<=[{CJK_CLASS}])\s*([,:;!?()])\s*(?=[{CJK_CLASS}]|$)", re.M)
_ASCII_TO_CJK = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？", "(": "（", ")": "）"}

_SAFE_TAGS = {"<compat>", "<noBreak>", "<wide>", "<narrow>"}


def _build_tables() -> tuple[dict[int, str], dict[int, str]]:
    """(safe compatibility table, full-width punctuation → ASCII table)."""
    safe: dict[int, str] = {}
    punct: dict[int, str] = {}
    for cp in range(0x00A0, 0x10000):
        ch = chr(cp)
        decomp = unicodedata.decomposition(ch)
        if not decomp.startswith("<"):
            continue
        tag = decomp.split(" ", 1)[0]
        if tag not in _SAFE_TAGS:
            continue
        target = unicodedata.normalize("NFKC", ch)
        if target == ch:
            continue
        if tag == "<compat>" and not (0xFB00 <= cp <= 0xFB4F or cp in (0x2002, 0x2003, 0x2009, 0x200A)):
            continue  # only Latin ligatures and spaces among the generic <compat> mappings
        if tag == "<wide>" and not target.isalnum() and not target.isspace():
            punct[cp] = target  # full-width punctuation: governed by the `punctuation` option
            continue
        safe[cp] = target
    return safe, punct


_SAFE_TABLE, _WIDE_PUNCT_TABLE = _build_tables()
_OPENCC = None


def _t2s(text: str) -> str:
    global _OPENCC
    if _OPENCC is None:
        from opencc import OpenCC

        _OPENCC = OpenCC("t2s")
    return _OPENCC.convert(text)


@register_step
class Normalize(Mapper):
    name = "normalize"
    description = "Fix encoding, safe Unicode normalisation, full-width → half-width, strip HTML and boilerplate, collapse whitespace."
    drop_reason = "empty"

    @dataclasses.dataclass
    class Options:
        fix_unicode: bool = True          # ftfy: mojibake, HTML entities, curly-quote damage
        unicode_normalize: bool = True    # NFC + the safe NFKC subset (ligatures, width, spaces)
        fullwidth_to_halfwidth: bool = True  # ＡＢＣ１２３ → ABC123 (letters/digits only)
        punctuation: str = "keep"         # keep | ascii (full-width → ASCII) | cjk (ASCII → full-width between CJK)
        traditional_to_simplified: bool = False  # OpenCC t2s (slow: pure Python)
        strip_html: bool = True
        remove_boilerplate: bool = True
        boilerplate_patterns: list[str] = dataclasses.field(default_factory=list)  # extra whole-line regexes
        collapse_whitespace: bool = True
        max_blank_lines: int = 1

        def __post_init__(self):
            if self.punctuation not in ("keep", "ascii", "cjk"):
                raise ValueError(f"punctuation must be keep, ascii or cjk, not {self.punctuation!r}")
            if self.max_blank_lines < 0:
                raise ValueError("max_blank_lines must be ≥ 0")
            for p in self.boilerplate_patterns:
                try:
                    re.compile(p)
                except re.error as exc:
                    raise ValueError(f"boilerplate pattern {p!r} is not a valid regex: {exc}") from None

    def setup(self) -> None:
        o = self.options
        table: dict[int, str] = {}
        if o.unicode_normalize:
            table.update({k: v for k, v in _SAFE_TABLE.items() if o.fullwidth_to_halfwidth or not (0xFF01 <= k <= 0xFF5E)})
        elif o.fullwidth_to_halfwidth:
            table.update({k: v for k, v in _SAFE_TABLE.items() if 0xFF01 <= k <= 0xFF5E})
        if o.punctuation == "ascii":
            table.update(_WIDE_PUNCT_TABLE)
            table[0x3002] = "."  # 。
            table[0x3001] = ","  # 、
        self._table = table
        patterns = [p for p in BOILERPLATE_PATTERNS] + list(o.boilerplate_patterns)
        self._boiler_re = re.compile(r"^[ \t]*(?:" + "|".join(f"(?:{p})" for p in patterns) + r")[ \t]*[.。!！|·>»]*[ \t]*(?:\n|\Z)",
                                     re.I | re.M)
        self._blank_re = re.compile(r"\n{%d,}" % (o.max_blank_lines + 2))
        self._blank_sub = "\n" * (o.max_blank_lines + 1)

    def normalize_text(self, text: str) -> str:
        self.ensure_setup()
        o = self.options
        if o.strip_html and "<" in text:
            text = _COMMENT_RE.sub("", text)
            text = _TAG_BLOCK_RE.sub("", text)
            text = _BR_RE.sub("\n", text)
            text = _TAG_RE.sub("", text)
        if o.strip_html and "&" in text and _ENTITY_RE.search(text):
            text = html.unescape(text)
        if o.fix_unicode and not text.isascii():
            text = fix_unicode(text, nfc=o.unicode_normalize)
        elif o.unicode_normalize and not text.isascii():
            text = unicodedata.normalize("NFC", text)
        if self._table and not text.isascii():
            text = text.translate(self._table)
        if o.punctuation == "cjk":
            text = _CJK_PUNCT_RE.sub(lambda m: _ASCII_TO_CJK[m.group(1)], text)
        if o.traditional_to_simplified and not text.isascii():
            text = _t2s(text)
        if o.collapse_whitespace or o.remove_boilerplate:
            text = _INVISIBLE_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
        if o.remove_boilerplate:
            text = self._boiler_re.sub("", text)
        if o.collapse_whitespace:
            text = _HSPACE_RE.sub(" ", text)
            text = _TRAILING_RE.sub("\n", text)
            text = self._blank_re.sub(self._blank_sub, text)
            text = text.strip()
        return text

    def map(self, record):
        out = map_text(record, self.normalize_text)
        text = out.get("text")
        messages = out.get("messages")
        if text is not None and not text.strip() and not messages:
            return None
        if text is None and isinstance(messages, list) and not any(
            isinstance(m, dict) and str(m.get("content", "")).strip() for m in messages
        ):
            return None
        return out

