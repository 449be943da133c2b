"""Benchmark: stream-export 1M samples to every format with bounded memory, beside a Hugging Face datasets peer.

    .venv/bin/python bench/export.py [--n 1000000] [--peer-n 100000]

Refinery's writers read the canonical messages JSONL (a DatasetVersion's data/<split>.jsonl) record by record and
write alpaca / sharegpt / messages JSONL and parquet. The peer does the same conversion the usual way with
`datasets` (load_dataset("json") → map → to_json / to_parquet) on a subset; ratios compare records per second and
peak memory growth. Peak RSS is read after a small warm-up run and after the full run: a streaming export keeps it flat.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training.export import alpaca, hf, messages, sharegpt  # noqa: E402
from training.export.base import iter_jsonl, write_jsonl_atomic  # noqa: E402

WRITERS = {"messages": messages, "alpaca": alpaca, "sharegpt": sharegpt}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic(n: int, seed: int = 0):
    rnd = random.Random(seed)
    zh = "患者应按时服药并定期复查血压如有不适请及时就医信用卡账单退款物流"
    en = "the patient should take the medicine on time and check blood pressure regularly refund card".split()
    for i in range(n):
        if i % 2:
            q = "".join(rnd.choice(zh) for _ in range(rnd.randint(20, 60)))
            a = "".join(rnd.choice(zh) for _ in range(rnd.randint(40, 160)))
        else:
            q = " ".join(rnd.choice(en) for _ in range(rnd.randint(8, 30)))
            a = " ".join(rnd.choice(en) for _ in range(rnd.randint(20, 80)))
        msgs = [{"role": "system", "content": "You are a careful assistant."},
                {"role": "user", "content": q + (" [PERSON_1]" if i % 7 == 0 else "")},
                {"role": "assistant", "content": a}]
        yield {"id": str(i), "messages": msgs, "meta": {"sample_id": i, "origin": "built", "language": "zh" if i % 2 else "en"}}


def refinery_export(src: Path, out: Path, cpu: dict | None = None) -> dict[str, float]:
    """Wall seconds per format (and CPU seconds of this process into ``cpu``: the machine may be shared)."""
    times = {}
    for fmt, writer in WRITERS.items():
        t, c = time.perf_counter(), time.process_time()
        write_jsonl_atomic(out / f"{fmt}.jsonl", iter_jsonl(src), writer.convert)
        times[fmt] = time.perf_counter() - t
        if cpu is not None:
            cpu[fmt] = time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    hf.write_parquet(out / "train.parquet", src)
    times["parquet"] = time.perf_counter() - t
    if cpu is not None:
        cpu["parquet"] = time.process_time() - c
    return times


def peer_export(src: Path, out: Path, cache: Path) -> dict[str, float]:
    import datasets

    datasets.disable_progress_bars()
    times = {}
    t = time.perf_counter()
    ds = datasets.load_dataset("json", data_files=str(src), split="train", cache_dir=str(cache))
    load = time.perf_counter() - t
    for fmt, writer in WRITERS.items():
        t = time.perf_counter()
        conv = ds.map(writer.convert, remove_columns=ds.column_names, cache_file_name=str(cache / f"{fmt}.arrow"))
        conv.to_json(str(out / f"{fmt}.jsonl"), force_ascii=False)
        times[fmt] = time.perf_counter() - t + load / 4
    t = time.perf_counter()
    ds.to_parquet(str(out / "train.parquet"))
    times["parquet"] = time.perf_counter() - t + load / 4
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--peer-n", type=int, default=100_000)
    args = ap.parse_args()
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    tmp = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        # warm-up: a small run fixes the baseline RSS (imports, buffers)
        small = tmp / "small.jsonl"
        write_jsonl_atomic(small, synthetic(20_000, seed=1))
        refinery_export(small, tmp / "warm")
        rss_base = peak_rss_mb()

        src = tmp / "canonical.jsonl"
        t = time.perf_counter()
        write_jsonl_atomic(src, synthetic(args.n))
        t_canonical = time.perf_counter() - t
        cpu: dict[str, float] = {}
        times = refinery_export(src, tmp / "refinery", cpu)
        rss_full = peak_rss_mb()
        size_mb = src.stat().st_size / 1e6
        print(f"refinery: {args.n:,} samples, canonical {size_mb:.0f} MB written in {t_canonical:.1f}s")
        for fmt, s in times.items():
            print(f"  {fmt:<9} {s:6.1f}s wall ({cpu[fmt]:5.1f}s CPU)  {args.n / s:>10,.0f} samples/s  "
                  f"{'OK' if s < 60 else 'OVER 60s'}")
        print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"  peak RSS: {rss_base:.0f} MB after a 20k warm-up, {rss_full:.0f} MB after {args.n:,} "
              f"(growth {rss_full - rss_base:+.0f} MB)")

        peer_src = tmp / "peer.jsonl"
        with open(src, "rb") as fin, open(peer_src, "wb") as fout:
            for i, line in enumerate(fin):
                if i >= args.peer_n:
                    break
                fout.write(line)
        ours_small = refinery_export(peer_src, tmp / "refinery-peer-size")
        before = peak_rss_mb()
        peer = peer_export(peer_src, tmp / "peer", tmp / "peer-cache")
        after = peak_rss_mb()
        print(f"\npeer (datasets load_dataset/map/to_json) vs refinery on the same {args.peer_n:,} samples:")
        for fmt in times:
            print(f"  {fmt:<9} refinery {ours_small[fmt]:6.2f}s  peer {peer[fmt]:6.2f}s  "
                  f"speed ratio refinery/peer {peer[fmt] / ours_small[fmt]:.2f}x")
        print(f"  peer peak RSS growth: {after - before:+.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
