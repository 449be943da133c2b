"""Demo data for `manage.py bootstrap`: collection ``demo`` with the corpus in curation/demo_data/ (idempotent)."""
from __future__ import annotations

from pathlib import Path

from .ingest.services import ingest_paths
from .models import Collection

DEMO_DATA = Path(__file__).resolve().parent / "demo_data"
DEMO_FOLDERS = ("medical", "finance", "customer_service")
DEMO_COLLECTION = "demo"


def demo_paths() -> list[Path]:
    return [DEMO_DATA / name for name in DEMO_FOLDERS]


def load(stdout, users) -> Collection:
    user = users.get("curator") if users else None
    collection = Collection.objects.filter(name=DEMO_COLLECTION).first()
    if collection is None:
        from .ingest.services import collection_create

        collection = collection_create(
            name=DEMO_COLLECTION, title="Demo corpus (medical · finance · customer service)", domain="mixed",
            description="Chinese and English documents and instruction samples with PII, duplicates and noise.",
            user=user)
    report = ingest_paths(collection=collection, paths=demo_paths(), user=user)
    stdout.write(f"- curation: demo collection: {report.count('ingested') + report.count('partial')} files ingested, "
                 f"{report.count('already present')} already present, {report.count('error')} errors "
                 f"({collection.documents.count()} documents, {collection.samples.count()} samples)\n")
    return collection
