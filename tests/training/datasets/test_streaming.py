"""Version creation streams: the same version whatever the batch, bucket and block sizes and whether the per-sample
work runs in a forked child; memory grows by a small, fixed amount per sample."""
from __future__ import annotations

import hashlib
import json
import random
import tracemalloc

import pytest

from training.export.base import _dumps, iter_jsonl
from training.models import SPLITS
from training.services.datasets import dataset_version_create

from .conftest import make_sample, qa

COMPARED = ("data", "alpaca", "sharegpt", "parquet")
BYTES_PER_SAMPLE = 1000  # budget of the memory test; measured ≈ 650 (the build before streaming: ≈ 2.5 KB of RSS)


def _file_hashes(version) -> dict[str, str]:
    out = {}
    for rel, info in version.manifest["files"].items():
        if rel.split("/")[0] in COMPARED or rel == "lineage.jsonl":
            out[rel] = info["sha256"]
    return out


def test_same_version_with_tiny_batches_buckets_and_the_worker_process(collection, curator, monkeypatch, tmp_path):
    import training.decontam as decontam
    import training.services.datasets as svc

    # an evaluation set and a labelled sample, so every manifest list has entries
    evalfile = tmp_path / "ev.jsonl"
    first = collection.samples.filter(origin="ingested").order_by("id").first()
    evalfile.write_text(json.dumps({"question": first.messages[1]["content"], "answer": first.messages[2]["content"]}) + "\n")
    svc.evaluation_set_create(name="ev", path=evalfile, original_name="ev.jsonl", user=curator)
    spec = {"seed": 3, "eval_sets": "ev"}
    plain = dataset_version_create(collection=collection, spec=spec, user=curator)
    for name, value in (("WORKER_PROCESS_MIN", 0), ("SCAN_BATCH", 7), ("SELECT_BATCH", 5), ("FETCH_CHUNK", 11),
                        ("BUCKET_BYTES", 4096), ("ROW_BYTES_GUESS", 4096), ("PENDING_BYTES", 1024),
                        ("MIN_BLOCK_BYTES", 256)):
        monkeypatch.setattr(svc, name, value)
    monkeypatch.setattr(decontam, "QUERY_BATCH", 3)
    streamed = dataset_version_create(collection=collection, spec=spec, user=curator)
    assert streamed.content_hash == plain.content_hash
    assert _file_hashes(streamed) == _file_hashes(plain)
    skip = {"name", "parent", "created_at", "files"}
    assert {k: v for k, v in streamed.manifest.items() if k not in skip} == \
        {k: v for k, v in plain.manifest.items() if k not in skip}
    assert plain.manifest["decontamination"]["n_excluded"] + plain.manifest["splits"]["augmented_left_out"] > 0
    # every row is exactly what the format writers' serialiser writes for it (canonical and lineage rows are
    # assembled from pieces: this holds them to it)
    for rel in [f"data/{s}.jsonl" for s in SPLITS] + ["lineage.jsonl"]:
        with open(streamed.folder / rel, encoding="utf-8") as fh:
            for line in fh:
                assert line.rstrip("\n") == _dumps(json.loads(line))
    lineage = [r["id"] for r in iter_jsonl(streamed.folder / "lineage.jsonl")]
    assert lineage == sorted(lineage, key=int) and len(lineage) == streamed.n_total


def _populate(collection, n: int, seed: int) -> None:
    """``n`` varied samples: zh / en originals, near-copies, exact copies, augmented children."""
    from curation.models import Sample

    rnd = random.Random(seed)
    zh = "患者应按时服药并定期复查血压如有不适请及时就医信用卡账单退款物流快递地址客服订单"
    en = "the patient should take medicine on time and check blood pressure refund card order delivery".split()
    rows, made = [], []
    for i in range(n):
        roll = rnd.random()
        if made and roll < 0.05:
            msgs = rnd.choice(made)
        elif made and roll < 0.1:
            m = rnd.choice(made)
            msgs = qa(m[0]["content"] + "。", m[1]["content"])
        elif rnd.random() < 0.5:
            msgs = qa("".join(rnd.choice(zh) for _ in range(rnd.randint(20, 50))) + f"#{i}",
                      "".join(rnd.choice(zh) for _ in range(rnd.randint(30, 90))))
        else:
            msgs = qa(" ".join(rnd.choice(en) for _ in range(rnd.randint(8, 25))) + f" #{i}",
                      " ".join(rnd.choice(en) for _ in range(rnd.randint(15, 50))))
        made.append(msgs)
        rows.append(Sample(collection=collection, messages=msgs, origin="ingested", language="zh" if i % 2 else "en",
                           domain=("medical", "finance")[i % 2], record_index=i,
                           content_hash=hashlib.sha256(json.dumps(msgs, sort_keys=True).encode()).hexdigest()))
    parents = Sample.objects.bulk_create(rows, batch_size=2000)
    kids = [Sample(collection=collection, messages=qa(p.messages[0]["content"] + " Please be brief.", p.messages[1]["content"]),
                   origin="augmented", method="perturb", parent=p, language=p.language, domain=p.domain,
                   content_hash=f"{p.pk:064d}") for p in parents[: n // 10]]
    Sample.objects.bulk_create(kids, batch_size=2000)


@pytest.mark.slow
def test_version_memory_per_sample_is_small_and_fixed(db, curator):
    """Peak Python memory (tracemalloc: numpy columns included) of building a version from 11k and from 44k
    rows: the difference per sample stays within a budget of a few hundred bytes (the build keeps ids, codes,
    a content hash and LSH band hashes per sample, plus the held-out n-gram index — never the rows). Both
    sizes are past the point where the fixed buffers (scratch blocks, query batches) are full."""
    from curation.models import Collection

    peaks = {}
    for n in (10_000, 40_000):
        col = Collection.objects.create(name=f"mem{n}", title="memory")
        _populate(col, n, seed=n)
        if not peaks:
            dataset_version_create(collection=col, spec={}, user=curator)  # warm: imports, tables, caches
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            version = dataset_version_create(collection=col, spec={}, user=curator)
            peaks[n] = (tracemalloc.get_traced_memory()[1] - base, version.manifest["counts"]["selected"])
        finally:
            tracemalloc.stop()
    (small, n_small), (big, n_big) = peaks[10_000], peaks[40_000]
    per_sample = (big - small) / (n_big - n_small)
    assert n_big > 40_000 and n_small > 10_000
    # a sample's rows are ≈ 1.5 KB of text in three formats; the build holds a small fraction of that
    assert per_sample < BYTES_PER_SAMPLE, (per_sample, peaks)
