"""A cheap language tag for ingested text (the pipeline's language step does the careful work)."""
from __future__ import annotations

import re

_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# Han characters among letters above which a text is tagged Chinese (each Han char ≈ one word).
HAN_SHARE_ZH = 0.5


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
    try:
        from langdetect import DetectorFactory, detect

        DetectorFactory.seed = 0
        code = detect(sample)
    except Exception:  # noqa: BLE001 — langdetect raises on text without features
        return ""
    return code.split("-")[0]
