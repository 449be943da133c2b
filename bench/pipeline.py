"""Benchmark: the whole curation chain over ~1 KB zh/en documents, vs a reference chain of common libraries.

    .venv/bin/python bench/pipeline.py                 # 10k documents
    .venv/bin/python bench/pipeline.py --docs 100000   # 100k
    .venv/bin/python bench/pipeline.py --processes 2   # also the local executor with 2 worker processes

Corpus: real prose (bench/corpus.py: English package docs, People's Daily), cut into ~1 KB documents,
half Chinese, half English, with realistic noise: 8 % exact copies, 8 % near copies (a sentence dropped or
added, a typo, whitespace/punctuation noise), 4 % too short, HTML remnants, full-width letters, and PII
(names, phones, emails, IDs from Faker) in a fifth of the documents.

Ours: normalize → language → length → quality → pii → exact_dedup → near_dedup through
``run_pipeline`` (local executor, one process). Peer (same process, same documents): a reference chain
built from the usual libraries — ftfy.fix_text, langdetect, a word/char-count length filter, sha256 exact
dedup, datasketch MinHashLSH (threshold 0.8, 128 permutations) — run on the first ``--peer-docs``
documents because it is slow. Prints docs/s of each, docs/s per core, and the ratio. The bar is
≥ 1,000 docs/s per core for our chain (wall clock, one process; the per-CPU-second figure is printed
beside it because the machine may be shared); the script exits 1 when the bar is missed.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refinery.settings")

import django  # noqa: E402

django.setup()

from corpus import chinese_sentences, english_sentences  # noqa: E402

from curation.pipeline.base import build_step  # noqa: E402
from curation.pipeline.engine import run_pipeline  # noqa: E402

CHAIN = ["normalize", "language", "length", "quality", "pii", "exact_dedup", "near_dedup"]
TARGET_BYTES = 1000


def make_corpus(n: int, seed: int = 13) -> list[dict]:
    from faker import Faker

    rng = random.Random(seed)
    fake_en, fake_zh = Faker("en_US"), Faker("zh_CN")
    fake_en.seed_instance(seed)
    fake_zh.seed_instance(seed)
    en, zh = english_sentences(), chinese_sentences()
    docs: list[dict] = []
    for i in range(n):
        roll = rng.random()
        if docs and roll < 0.08:
            text = rng.choice(docs[-500:])["text"]  # exact copy
        elif docs and roll < 0.16:
            text = _near_copy(rng.choice(docs[-500:])["text"], rng)
        elif roll < 0.20:
            text = rng.choice(en if rng.random() < 0.5 else zh)[:12]  # too short
        else:
            chinese = rng.random() < 0.5
            pool, sep = (zh, "") if chinese else (en, " ")
            parts: list[str] = []
            while len(sep.join(parts).encode("utf-8")) < TARGET_BYTES:
                parts.append(rng.choice(pool))
            text = sep.join(parts)
            if rng.random() < 0.2:
                fake = fake_zh if chinese else fake_en
                pii = (f"联系人{fake.name()}，电话{fake.phone_number()}，身份证{fake.ssn()}。" if chinese else
                       f" Contact {fake.name()} at {fake.email()} or {fake.phone_number()}.")
                text += pii
            if rng.random() < 0.1:
                text = f"<div><p>{text}</p></div>"
            if rng.random() < 0.05:
                text = text.replace("a", "ａ", 3)
        docs.append({"id": f"doc-{i}", "text": text})
    return docs


def _near_copy(text: str, rng: random.Random) -> str:
    sentences = re.split(r"(?<=[.!?。！？])\s*", text)
    sentences = [s for s in sentences if s]
    if len(sentences) > 3 and rng.random() < 0.5:
        sentences.pop(rng.randrange(len(sentences)))
    joiner = "" if any("\u4e00" <= c <= "\u9fff" for c in text[:50]) else " "
    out = joiner.join(sentences)
    if len(out) > 20:
        k = rng.randrange(len(out) - 1)
        out = out[:k] + out[k + 1] + out[k] + out[k + 2:]  # a typo (swapped characters)
    return out + ("  " if rng.random() < 0.5 else " .")


def run_ours(docs: list[dict], processes: int, chain: list[str]) -> tuple[float, dict]:
    warm = [build_step(name) for name in chain]
    for s in warm:  # load models/dictionaries before timing (a run does this once)
        s.process_batch([{"id": "warm", "text": "John Smith 张伟 13800138000 " * 5}], lambda *a: None)
    steps = [build_step(name) for name in chain]
    for s in steps:
        s.ensure_setup()
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_pipeline([dict(d) for d in docs], steps, output=lambda r: None, processes=processes)
    report = result.report()
    report["cpu_seconds"] = time.process_time() - c0  # this process only (workers excluded)
    return time.perf_counter() - t0, report


def run_peer(docs: list[dict]) -> tuple[float, int]:
    import ftfy
    import langdetect
    from datasketch import MinHash, MinHashLSH

    langdetect.DetectorFactory.seed = 0
    t0 = time.perf_counter()
    seen: set[str] = set()
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    kept = 0
    for d in docs:
        text = re.sub(r"<[^>]+>", "", ftfy.fix_text(d["text"]))
        text = re.sub(r"\s+", " ", text).strip()
        try:
            lang = langdetect.detect(text[:500])
        except langdetect.LangDetectException:
            continue
        if lang.startswith("zh"):
            if len(text) < 10:
                continue
            shingles = {text[i:i + 5] for i in range(max(1, len(text) - 4))}
        else:
            words = text.split()
            if len(words) < 5:
                continue
            shingles = {" ".join(words[i:i + 3]) for i in range(max(1, len(words) - 2))}
        h = hashlib.sha256(text.lower().encode()).hexdigest()
        if h in seen:
            continue
        seen.add(h)
        m = MinHash(num_perm=128)
        m.update_batch([s.encode("utf-8") for s in shingles])
        if lsh.query(m):
            continue
        lsh.insert(d["id"], m)
        kept += 1
    return time.perf_counter() - t0, kept


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--peer-docs", type=int, default=2_000)
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--steps", default=",".join(CHAIN), help="comma-separated chain (default: the whole chain)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    docs = make_corpus(args.docs)
    mb = sum(len(d["text"].encode("utf-8")) for d in docs) / 1e6
    print(f"corpus: {len(docs)} documents, {mb:.1f} MB ({mb * 1e3 / len(docs):.2f} KB/doc), built in {time.perf_counter() - t0:.1f}s")

    chain = [s.strip() for s in args.steps.split(",") if s.strip()]
    print("chain: " + " → ".join(chain))
    seconds, report = run_ours(docs, 1, chain)
    ours = len(docs) / seconds
    engine = seconds - sum(s["seconds"] for s in report["steps"])
    print(f"\nours (local, 1 process): {seconds:.1f}s wall, {report['cpu_seconds']:.1f}s CPU → {ours:,.0f} docs/s per core "
          f"({len(docs) / report['cpu_seconds']:,.0f} per CPU-second; engine overhead {engine:.1f}s); kept {report['output']}, "
          f"dropped {report['rejected']}; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for s in report["steps"]:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(s["reasons"].items(), key=lambda kv: -kv[1]))
        print(f"  {s['step']:<12} {s['in']:>7} → {s['out']:>7}  {s['seconds']:6.2f}s  "
              f"{(s['docs_per_second'] or 0):>9,.0f} docs/s  {reasons}")
    if report["pii"]:
        print("  PII: " + ", ".join(f"{k} {v}" for k, v in sorted(report["pii"].items())))
    if args.processes > 1:
        seconds_mp, _ = run_ours(docs, args.processes, chain)
        print(f"ours (local, {args.processes} processes): {seconds_mp:.1f}s → {len(docs) / seconds_mp:,.0f} docs/s "
              f"(×{seconds / seconds_mp:.2f} vs 1 process)")

    n_peer = min(args.peer_docs, len(docs))
    c0 = time.process_time()
    peer_seconds, peer_kept = run_peer(docs[:n_peer])
    peer_cpu = time.process_time() - c0
    peer = n_peer / peer_seconds
    print(f"\npeer (ftfy + langdetect + sha256 + datasketch MinHashLSH, {n_peer} docs): {peer_seconds:.1f}s → "
          f"{peer:,.0f} docs/s ({n_peer / peer_cpu:,.0f} per CPU-second); kept {peer_kept}")
    per_cpu = len(docs) / report["cpu_seconds"]
    print(f"\nratio ours/peer: ×{ours / peer:.1f} docs/s (CPU: ×{per_cpu / (n_peer / peer_cpu):.1f})")
    # The bar is docs/s of one process (= per core) by the wall clock. On a shared machine the wall clock
    # also counts time other processes held the core, so the per-CPU-second figure is printed beside it.
    ok = ours >= BAR
    print(f"bar ≥ {BAR:,} docs/s per core: {'PASS' if ok else 'FAIL'} ({ours:,.0f} docs/s wall, {per_cpu:,.0f} per CPU-second"
          f"{'' if ok or per_cpu < BAR else '; the CPU figure passes: the machine was busy'})")
    return 0 if ok else 1


BAR = 1000

if __name__ == "__main__":
    sys.exit(main())
