"""Fixtures for training tests: a small, learnable dataset version written through the ORM."""
from __future__ import annotations

import json

import pytest

COLOURS = ["blue", "green", "red", "white"]
THINGS = ["sky", "grass", "rose", "snow", "sea", "leaf", "ruby", "milk", "lake", "moss", "blood", "salt",
          "ocean", "lime", "cherry", "cloud", "river", "fern", "wine", "pearl"]
SYSTEM = "Answer briefly."


def learnable_records(n: int, start: int = 0) -> list[dict]:
    """Short chats with a fixed answer pattern (the model learns it in a few steps)."""
    out = []
    for i in range(start, start + n):
        thing = THINGS[i % len(THINGS)]
        colour = COLOURS[i % len(COLOURS)]
        out.append({"id": str(i), "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Colour of {thing}?"},
            {"role": "assistant", "content": f"Refinery code {colour.upper()}."}]})
    return out


def make_version(collection, *, train: list[dict], validation: list[dict], test: list[dict] | None = None,
                 number: int | None = None):
    from django.conf import settings

    from training.models import DatasetVersion

    number = number or (DatasetVersion.objects.filter(collection=collection).count() + 1)
    rel = f"exports/{collection.name}/v{number}"
    folder = settings.DATA_DIR / rel / "data"
    folder.mkdir(parents=True, exist_ok=True)
    for split, recs in (("train", train), ("validation", validation), ("test", test or [])):
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    return DatasetVersion.objects.create(collection=collection, number=number, status=DatasetVersion.Status.READY,
                                         path=rel, n_train=len(train), n_validation=len(validation),
                                         n_test=len(test or []), content_hash=f"hash-{number}")


@pytest.fixture
def collection(db):
    from curation.models import Collection

    return Collection.objects.create(name="colours", title="Colours", domain="customer-service")


@pytest.fixture
def version(collection):
    return make_version(collection, train=learnable_records(16), validation=learnable_records(4, start=16),
                        test=learnable_records(2, start=20))


# Small and fast on a shared 2-core CPU, high enough lr to learn the pattern.
FAST = ["--set", "learning_rate=2e-3", "--set", "batch_size=1", "--set", "max_seq_len=64",
        "--set", "eval_generate_samples=2", "--set", "eval_max_new_tokens=8", "--set", "warmup_ratio=0",
        "--set", "early_stopping_patience=0", "--set", "eval_every=10"]
FAST_CONFIG = {"learning_rate": 2e-3, "batch_size": 1, "max_seq_len": 64, "eval_generate_samples": 2,
               "eval_max_new_tokens": 8, "warmup_ratio": 0, "early_stopping_patience": 0, "eval_every": 10}
