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


@pytest.fixture(autouse=True)
def _one_torch_thread(monkeypatch):
    """The test machine's few cores are shared by parallel sessions: with them oversubscribed, torch's
    OpenMP threads spin at barriers and a step takes ~10× longer than on one thread. One thread each, for
    the trainer subprocesses (environment) and for in-process model code."""
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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


def in_background(fn, *args, **kwargs):
    """Run ``fn`` in a thread that can use the test database, as the task worker would; returns the thread
    (``.result`` / ``.error`` once joined).

    With the in-memory SQLite test database, the thread uses the test's own connection (as pytest-django's
    live server thread does: a second connection to a shared-cache in-memory database gets "table is locked"
    errors). With PostgreSQL it opens its own connection and closes it at the end."""
    import threading

    from django.db import connections

    shared = {c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()}

    def target():
        for alias, conn in shared.items():
            connections[alias] = conn
        try:
            t.result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 — handed to the test, which re-raises
            t.error = exc
        finally:
            if not shared:
                connections.close_all()

    for conn in shared.values():
        conn.inc_thread_sharing()
    t = threading.Thread(target=target, daemon=True)
    t.result, t.error = None, None
    t.start()
    t._release = lambda: [conn.dec_thread_sharing() for conn in shared.values()]
    return t


def join(t, timeout: float = 600):
    t.join(timeout)
    t._release()
    assert not t.is_alive(), "background job did not finish"
    if t.error is not None:
        raise t.error
    return t.result


def trainer_pids(config_path) -> list[int]:
    """Live processes whose command line names this run's config (the launcher and every rank)."""
    import os
    from pathlib import Path

    needle = str(config_path).encode()
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{d}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if needle in cmd and state not in ("Z", "X"):
            pids.append(int(d))
    return pids


def wait_for_log_event(run_dir, predicate, timeout: float = 600) -> dict:
    """Poll a run's log.jsonl until an event matches ``predicate``; return it."""
    import time

    log = run_dir / "log.jsonl"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if log.exists():
            for line in log.read_text().splitlines():
                if line.strip():
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        continue
                    if predicate(ev):
                        return ev
        time.sleep(0.2)
    raise AssertionError(f"no matching event in {log} within {timeout} s")
