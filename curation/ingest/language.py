"""A cheap language tag for ingested text (the pipeline's language step does the careful work)."""
from __future__ import annotations

import re

_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Han characters among letters above which a text is tagged Chinese (each Han char ≈ one word).
HAN_SHARE_ZH = 0.5
# Share of English function words among the words above which Latin text is English without asking
# langdetect (running English prose has 35–50 %; other Latin-script languages well under 10 %).
EN_FUNCTION_SHARE = 0.2
_WORD = re.compile(r"[a-z']+")
_EN_FUNCTION_WORDS = frozenset(
    "the a an and or but of to in on at for with from by as is are was were be been being it its this that these "
    "those there their they them he she his her we our you your i not no do does did have has had will would can "
    "could should may might must if then than so such which who whom what when where why how all any each more "
    "most other some into over after before about".split())


def detect_language(text: str) -> str:
    """'zh' for mostly-Chinese text, else langdetect's ISO code for Latin text, '' when unsure."""
    sample = text[:5000]
    han = len(_HAN.findall(sample))
    latin = len(_LATIN.findall(sample))
    if han + latin == 0:
        return ""
    # Han characters carry about as much as a 4–5 letter word: compare in words, not characters.
    if han / (han + latin / 5) >= HAN_SHARE_ZH:
        return "zh"
    words = _WORD.findall(sample[:2000].lower())
    if len(words) >= 5 and sum(1 for w in words if w in _EN_FUNCTION_WORDS) >= EN_FUNCTION_SHARE * len(words):
        return "en"  # fast path: langdetect costs ~12 ms per document, this ~20 µs (bench: ingest profile)
    if len(words) < 3:
        return ""  # too short to tell (langdetect calls "ok" Slovak)
    try:
        from langdetect import DetectorFactory, detect

        DetectorFactory.seed = 0
        code = detect(sample[:1000])
    except Exception:  # noqa: BLE001 — langdetect raises on text without features
        return ""
    return code.split("-")[0]
