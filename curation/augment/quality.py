"""Quality gate for paraphrases: keep a candidate only when its similarity to the original lies in a band.

Similarity is rapidfuzz's normalised Indel similarity on characters (works for Chinese, which has no
spaces, and for English); above the band the candidate is a copy, below it the meaning drifted.
"""
from __future__ import annotations

import dataclasses

from rapidfuzz import fuzz

SIMILARITY_BAND = (0.45, 0.95)  # the one place the band lives; steps/CLI may override per run


@dataclasses.dataclass(frozen=True)
class GateResult:
    accepted: bool
    similarity: float
    reason: str = ""  # "copy" | "drift" | "empty" when rejected


def similarity(a: str, b: str) -> float:
    return fuzz.ratio(_norm(a), _norm(b)) / 100.0


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def similarity_gate(original: str, candidate: str, band: tuple[float, float] = SIMILARITY_BAND) -> GateResult:
    if not candidate.strip():
        return GateResult(False, 0.0, "empty")
    sim = similarity(original, candidate)
    low, high = band
    if sim >= high:
        return GateResult(False, sim, "copy")
    if sim < low:
        return GateResult(False, sim, "drift")
    return GateResult(True, sim)
