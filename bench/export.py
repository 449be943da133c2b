"""Benchmark: dataset export — the CLI's whole path from database rows, and the streaming writers at 1M.

    .venv/bin/python bench/export.py                          # both parts (defaults below)
    .venv/bin/python bench/export.py --db-scales 100000,1000000 --n 1000000 --peer-n 100000
    .venv/bin/python bench/export.py --skip-streaming         # only the CLI path
    .venv/bin/python bench/export.py --skip-db                # only the streaming writers

Part 1, the CLI path (``manage.py export_dataset --format hf``, called as a command): a fresh SQLite database
holds N synthetic zh/en samples (with exact copies, near-copies, augmented children, a source file), inserted
with plain multi-row INSERTs in a process of its own (not timed); the command creates a version — selection
from the rows, tokenising, grouping (parent, content hash, exact and MinHash near-duplicates), splits,
decontamination, canonical JSONL + alpaca + sharegpt + parquet + lineage + card + manifest — then writes the
hf export (parquet + ``save_to_disk``); then the messages, alpaca and sharegpt exports are written from the
version. Each scale runs in its own process. Per stage (the job's stages): wall seconds, CPU seconds (this
process and its forked worker — the machine may be shared, so wall depends on what else runs), peak RSS
(Linux VmHWM, reset at every stage; it counts the Arrow files ``datasets`` memory-maps) and peak anonymous
memory (heap and numpy arrays, sampled every 20 ms). Between the scales: marginal time and memory per sample.

Part 2, the streaming writers: read the canonical messages JSONL (a DatasetVersion's data/<split>.jsonl)
record by record and write alpaca / sharegpt / messages JSONL and parquet, beside a Hugging Face datasets
peer doing the same conversion (load_dataset("json") → map → to_json / to_parquet) on a subset. Peak RSS is
read after a small warm-up run and after the full run: a streaming export keeps it flat.

The bar: 60 s — for every streaming writer at ``--n`` and for the whole CLI path at the largest ``--db-scales``.
Exits 1 when one is over it.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.export import alpaca, hf, messages, sharegpt  # noqa: E402
from training.export.base import iter_jsonl, write_jsonl_atomic  # noqa: E402

WRITERS = {"messages": messages, "alpaca": alpaca, "sharegpt": sharegpt}
BAR_SECONDS = 60.0


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


# ================================================================================ part 1: the CLI path
ZH_CHARS = "患者应按时服药并定期复查血压如有不适请及时就医信用卡账单退款物流快递地址客服订单支付密码账户余额利息贷款保险理赔"
EN_WORDS = ("the patient should take medicine on time and check blood pressure regularly refund card order "
            "delivery address payment password account balance interest loan insurance claim support").split()


def db_rows(n: int, seed: int = 7):
    """Synthetic samples: 45 % zh / 45 % en originals, 4 % exact copies, 3 % near-copies (one token changed),
    8 % augmented children of earlier originals (the last two are rows with a ``parent``)."""
    rnd = random.Random(seed)
    made: list[list[dict]] = []
    for i in range(n):
        roll = rnd.random()
        if made and roll < 0.04:
            yield {"messages": rnd.choice(made[-2000:]), "origin": "ingested"}
            continue
        if made and roll < 0.07:
            m = rnd.choice(made[-2000:])
            user = m[1]["content"]
            pos = rnd.randrange(len(user))
            yield {"messages": [m[0], {"role": "user", "content": user[:pos] + "药" + user[pos + 1:]}, m[2]],
                   "origin": "ingested"}
            continue
        if made and roll < 0.15:
            m = rnd.choice(made[-2000:])
            yield {"messages": [m[0], {"role": "user", "content": m[1]["content"] + " 请简要回答。"}, m[2]],
                   "origin": "augmented", "_parent": m}
            continue
        if rnd.random() < 0.5:
            q = "".join(rnd.choice(ZH_CHARS) for _ in range(rnd.randint(20, 60)))
            a = "".join(rnd.choice(ZH_CHARS) for _ in range(rnd.randint(40, 160)))
            lang = "zh"
        else:
            q = " ".join(rnd.choice(EN_WORDS) for _ in range(rnd.randint(8, 30)))
            a = " ".join(rnd.choice(EN_WORDS) for _ in range(rnd.randint(20, 80)))
            lang = "en"
        msgs = [{"role": "system", "content": "You are a careful assistant."},
                {"role": "user", "content": f"{q} #{i}"}, {"role": "assistant", "content": a}]
        made.append(msgs)
        yield {"messages": msgs, "origin": "ingested", "language": lang}


def populate(collection_name: str, n: int) -> None:
    """Insert ``n`` sample rows into a new collection with plain multi-row INSERTs (ids given, so augmented
    children name their parent in the same pass): a million rows in about a minute, where ``bulk_create``
    needs several. The rows are what the ORM would write (JSON as ``json.dumps`` writes it, content hash)."""
    import hashlib

    from django.db import connection, transaction
    from django.utils import timezone

    from curation.models import Collection, Sample, SourceFile

    col = Collection.objects.create(name=collection_name, title=collection_name)
    sf = SourceFile.objects.create(collection=col, name="bench.jsonl", sha256="0" * 64, size=1, format="jsonl",
                                   stored_path="uploads/00/bench.jsonl")
    table = Sample._meta.db_table
    columns = ("id", "created_at", "updated_at", "messages", "origin", "method", "record_index", "external_id",
               "intent", "entities", "domain", "language", "split", "content_hash", "meta", "collection_id",
               "parent_id", "source_file_id")
    now = timezone.now()
    if connection.vendor == "sqlite":
        now = now.isoformat(" ")
    start = (Sample.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    batch, id_of = [], {}
    sql = f'INSERT INTO {table} ({", ".join(columns)}) VALUES ({", ".join(["%s"] * len(columns))})'
    with transaction.atomic(), connection.cursor() as cur:
        for i, row in enumerate(db_rows(n)):
            pk = start + i
            msgs = row["messages"]
            parent = id_of[id(row["_parent"])] if "_parent" in row else None
            id_of.setdefault(id(msgs), pk)
            batch.append((pk, now, now, json.dumps(msgs), row["origin"], "bench-augment" if parent else "", i, "", "",
                          "{}", "bench", row.get("language", ""), "",
                          hashlib.sha256(json.dumps(msgs, ensure_ascii=False, sort_keys=True).encode()).hexdigest(),
                          "{}", col.pk, parent, sf.pk))
            if len(batch) >= 5000:
                cur.executemany(sql, batch)
                batch = []
        if batch:
            cur.executemany(sql, batch)


def db_populate(n: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    t_migrate = time.perf_counter() - t
    t = time.perf_counter()
    populate("bench", n)
    return {"migrate_s": t_migrate, "populate_s": time.perf_counter() - t}


def cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children (the build's tokenising child)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def rss_mb() -> float:
    """Current resident memory of this process (MB)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def stage_peak_mb(reset: bool = True) -> float:
    """Peak resident memory since the last reset (Linux VmHWM; reset by writing 5 to clear_refs)."""
    with open("/proc/self/status") as fh:
        peak = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024
    if reset:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    return peak


def anon_mb() -> float:
    """Anonymous resident memory (heap, numpy arrays) of this process — RSS less file-backed pages such as the
    memory-mapped Arrow files ``datasets`` reads."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("RssAnon:")) / 1024


class Stages:
    """Wall, CPU, peak RSS and peak anonymous memory per stage, from the job's stage changes (anonymous memory
    sampled every 20 ms on a thread)."""

    def __init__(self) -> None:
        import threading

        self.events: list[tuple[float, float, str]] = []
        self.peaks: list[tuple[float, float]] = []
        self._anon = 0.0
        self.start = (time.perf_counter(), cpu_seconds())
        stage_peak_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self._anon = max(self._anon, anon_mb())

    def mark(self, stage: str) -> None:
        self._anon = max(self._anon, anon_mb())
        self.peaks.append((stage_peak_mb(), self._anon))
        self._anon = 0.0
        self.events.append((time.perf_counter(), cpu_seconds(), stage))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def table(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        marks = [(*self.start, "(before the first stage: job record, spec)"), *self.events]
        for (ts, cs, stage), (nts, ncs, _), (peak, anon) in zip(marks, marks[1:], self.peaks):
            row = out.setdefault(stage, [0.0, 0.0, 0.0, 0.0])
            row[0] += nts - ts
            row[1] += ncs - cs
            row[2] = max(row[2], peak)
            row[3] = max(row[3], anon)
        return out


def db_worker(n: int, out_dir: Path) -> dict:
    """In a fresh process with its own SQLite database (already populated): run the CLI and time it."""
    import django

    django.setup()
    import datasets  # noqa: F401 — imported before the baseline, like every other library the path loads
    from django.core.management import call_command

    import training.services.datasets as svc
    from refinery.jobs import JobContext

    rss_base, anon_base = rss_mb(), anon_mb()
    stages = Stages()
    orig_progress = JobContext.progress

    def progress(self, done, total=None, *, stage=None, force=False):
        if stage is not None and stage != self.job.stage:
            stages.mark(stage)
        return orig_progress(self, done, total, stage=stage, force=force)

    JobContext.progress = progress
    orig_export = svc.dataset_version_export

    def export(**kw):
        stages.mark(f"Export {kw['fmt']} (parquet + save_to_disk + card)")
        return orig_export(**kw)

    svc.dataset_version_export = export
    orig_create = svc.dataset_version_create

    def create(**kw):
        version = orig_create(**kw)
        stages.mark("Job end (result; its URL reverse imports every view once)")
        return version

    svc.dataset_version_create = create
    t0, c0 = time.perf_counter(), cpu_seconds()
    call_command("export_dataset", "--collection", "bench", "--format", "hf", "--out", str(out_dir / "hf"), verbosity=0)
    t_cli, c_cli = time.perf_counter() - t0, cpu_seconds() - c0
    stages.mark("end")
    stages.stop()
    svc.dataset_version_export = orig_export
    svc.dataset_version_create = orig_create
    JobContext.progress = orig_progress
    table = stages.table()
    rss_cli = max(row[2] for row in table.values())
    anon_cli = max(row[3] for row in table.values())
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    from training.models import DatasetVersion

    version = DatasetVersion.objects.get(collection__name="bench")
    others = {}
    for fmt in ("messages", "alpaca", "sharegpt"):
        t = time.perf_counter()
        svc.dataset_version_export(version=version, fmt=fmt, out_dir=out_dir / fmt)
        others[fmt] = time.perf_counter() - t
    return {"n": n, "cli_s": t_cli, "cli_cpu_s": c_cli, "load": os.getloadavg()[0], "stages": table,
            "exports_s": others, "rss_base_mb": rss_base, "anon_base_mb": anon_base, "rss_cli_mb": rss_cli,
            "anon_cli_mb": anon_cli, "rss_child_mb": child_peak, "lineage_rows": version.manifest["lineage"]["rows"],
            "written": version.n_total, "splits": [version.n_train, version.n_validation, version.n_test],
            "manifest_excluded": version.manifest["counts"]["excluded"],
            "groups": version.manifest["splits"]["groups"],
            "near_duplicate_pairs": version.manifest["splits"]["near_duplicate_pairs"]}


def run_db_part(scales: list[int]) -> bool:
    """Each scale in its own process (own database, own peak RSS). True when within the bar."""
    results = []
    for n in scales:
        tmp = Path(tempfile.mkdtemp(prefix=f"bench-export-db-{n}-"))
        try:
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": "refinery.settings", "REFINERY_DATA_DIR": str(tmp / "data"),
                   "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}", "HF_DATASETS_OFFLINE": "1"}
            result = {}
            for flag in ("--db-populate", "--db-worker"):  # separate processes: inserting does not count in the RSS
                proc = subprocess.run([sys.executable, __file__, flag, str(n), "--out", str(tmp / "out")],
                                      env=env, cwd=ROOT, capture_output=True, text=True)
                if proc.returncode:
                    print(proc.stdout[-3000:], proc.stderr[-6000:], sep="\n")
                    raise SystemExit(f"{flag} for {n:,} samples failed (exit {proc.returncode})")
                result.update(json.loads(proc.stdout.strip().splitlines()[-1]))
            results.append(result)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print("CLI path: manage.py export_dataset --format hf on SQLite (version creation + hf export), "
          "then the other exports from the version")
    for r in results:
        n = r["n"]
        assert r["lineage_rows"] == r["written"], r  # every written sample traced
        print(f"\n  {n:,} samples ({r['populate_s']:.1f}s to insert, not counted): export_dataset {r['cli_s']:.1f}s wall, "
              f"{r['cli_cpu_s']:.1f}s CPU (this process and its worker) — {n / r['cli_s']:,.0f} samples/s  "
              f"{'OK' if r['cli_s'] < BAR_SECONDS else 'OVER 60s'}; written {r['written']:,} "
              f"(train/val/test {'/'.join(map(str, r['splits']))}), {r['groups']:,} groups, "
              f"{r['near_duplicate_pairs']:,} duplicate links; excluded {r['manifest_excluded']}")
        print(f"    {'stage':<58} {'wall':>7} {'CPU':>7} {'peak RSS':>9} {'anon':>7}"
              f"   (load average {r['load']:.1f} on {os.cpu_count()} cores)")
        for stage, (wall, cpu, peak, anon) in r["stages"].items():
            print(f"    {stage:<58} {wall:6.2f}s {cpu:6.2f}s {peak:6.0f} MB {anon:4.0f} MB")
        print(f"    {'total':<58} {r['cli_s']:6.2f}s {r['cli_cpu_s']:6.2f}s {r['rss_cli_mb']:6.0f} MB {r['anon_cli_mb']:4.0f} MB")
        print("    then, from the version: " + ", ".join(f"{f} {s:.1f}s" for f, s in r["exports_s"].items()))
        print(f"    after imports: RSS {r['rss_base_mb']:.0f} MB, anonymous {r['anon_base_mb']:.0f} MB; the forked worker's "
              f"peak RSS {r['rss_child_mb']:.0f} MB (peak RSS counts the Arrow files datasets memory-maps; "
              f"anonymous memory does not)")
    if len(results) > 1:
        a, b = results[0], results[-1]
        per_sample_s = (b["cli_s"] - a["cli_s"]) / (b["n"] - a["n"])
        per_sample_cpu = (b["cli_cpu_s"] - a["cli_cpu_s"]) / (b["n"] - a["n"])
        anon_b = (b["anon_cli_mb"] - a["anon_cli_mb"]) * 2**20 / (b["n"] - a["n"])
        print(f"\n  {a['n']:,} → {b['n']:,} samples: marginal {per_sample_s * 1e6:.0f} µs wall / {per_sample_cpu * 1e6:.0f} µs "
              f"CPU and {anon_b:.0f} bytes of anonymous memory per sample")
    return results[-1]["cli_s"] < BAR_SECONDS


# ================================================================================ part 2: streaming writers
def run_streaming_part(n: int, peer_n: int) -> bool:
    tmp = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        # warm-up: a small run fixes the baseline RSS (imports, buffers)
        small = tmp / "small.jsonl"
        write_jsonl_atomic(small, synthetic(20_000, seed=1))
        refinery_export(small, tmp / "warm")
        rss_base = peak_rss_mb()

        src = tmp / "canonical.jsonl"
        t = time.perf_counter()
        write_jsonl_atomic(src, synthetic(n))
        t_canonical = time.perf_counter() - t
        cpu: dict[str, float] = {}
        times = refinery_export(src, tmp / "refinery", cpu)
        rss_full = peak_rss_mb()
        size_mb = src.stat().st_size / 1e6
        print(f"\nstreaming writers: {n:,} samples, canonical {size_mb:.0f} MB written in {t_canonical:.1f}s")
        for fmt, s in times.items():
            print(f"  {fmt:<9} {s:6.1f}s wall ({cpu[fmt]:5.1f}s CPU)  {n / s:>10,.0f} samples/s  "
                  f"{'OK' if s < BAR_SECONDS else 'OVER 60s'}")
        print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"  peak RSS: {rss_base:.0f} MB after a 20k warm-up, {rss_full:.0f} MB after {n:,} "
              f"(growth {rss_full - rss_base:+.0f} MB)")

        peer_src = tmp / "peer.jsonl"
        with open(src, "rb") as fin, open(peer_src, "wb") as fout:
            for i, line in enumerate(fin):
                if i >= peer_n:
                    break
                fout.write(line)
        ours_small = refinery_export(peer_src, tmp / "refinery-peer-size")
        before = peak_rss_mb()
        peer = peer_export(peer_src, tmp / "peer", tmp / "peer-cache")
        after = peak_rss_mb()
        print(f"\npeer (datasets load_dataset/map/to_json) vs refinery on the same {peer_n:,} samples:")
        for fmt in times:
            print(f"  {fmt:<9} refinery {ours_small[fmt]:6.2f}s  peer {peer[fmt]:6.2f}s  "
                  f"speed ratio refinery/peer {peer[fmt] / ours_small[fmt]:.2f}x")
        print(f"  peer peak RSS growth: {after - before:+.0f} MB")
        return all(s < BAR_SECONDS for s in times.values())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000, help="samples for the streaming writers")
    ap.add_argument("--peer-n", type=int, default=100_000)
    ap.add_argument("--db-scales", default="100000,1000000", help="sample counts for the CLI path")
    ap.add_argument("--skip-db", action="store_true")
    ap.add_argument("--skip-streaming", action="store_true")
    ap.add_argument("--db-populate", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--db-worker", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    if args.db_populate:
        print(json.dumps(db_populate(args.db_populate)))
        return
    if args.db_worker:
        print(json.dumps(db_worker(args.db_worker, Path(args.out))))
        return
    ok = True
    if not args.skip_db:
        ok &= run_db_part([int(x) for x in args.db_scales.split(",") if x.strip()])
    if not args.skip_streaming:
        ok &= run_streaming_part(args.n, args.peer_n)
    if not ok:
        print(f"\nFAILED: over the {BAR_SECONDS:.0f} s bar")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
