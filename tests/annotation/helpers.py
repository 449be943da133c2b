"""Test data for annotation tests, made through the ORM and the real services."""
from __future__ import annotations

import hashlib

from curation.models import Collection, Document, Sample


def make_collection(name: str = "labels", n: int = 6) -> Collection:
    col = Collection.objects.create(name=name, domain="medical")
    for i in range(n):
        q, a = f"What helps with symptom {i}?", f"Rest and fluids help with symptom {i}."
        Sample.objects.create(collection=col, messages=[{"role": "user", "content": q},
                                                         {"role": "assistant", "content": a}],
                              content_hash=hashlib.sha256(f"{q}{a}".encode()).hexdigest())
        Document.objects.create(collection=col, text=f"Document {i}: Alice Smith took aspirin in Paris.",
                                content_hash=hashlib.sha256(f"doc{i}".encode()).hexdigest())
    return col


def sft_label(rating: int = 4, decision: str = "accept", edited: str | None = None) -> dict:
    label = {"relevance": rating, "accuracy": rating, "fluency": rating, "decision": decision}
    if edited is not None:
        label["edited_response"] = edited
    return label


def spans_of(text: str, *marks: tuple[str, str]) -> list[dict]:
    """[{start, end, label}] for each (phrase, label), at the phrase's first occurrence in ``text``."""
    out = []
    for phrase, label in marks:
        start = text.index(phrase)
        out.append({"start": start, "end": start + len(phrase), "label": label})
    return out
