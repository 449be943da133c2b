"""near_dedup vs datasketch MinHashLSH, side by side in one process.

    .venv/bin/python bench/dedup.py [--n 20000] [--memory-n 100000] [--seed 0]

Corpus: documents of ≈ 1 KB built from real prose (English README/docstring prose from the installed
packages, Chinese People's Daily 1998 news; see bench/corpus.py), half English, half Chinese. A quarter
of the source documents get 1–3 near-duplicate copies with realistic edits: typos, a dropped or an added
sentence, whitespace and punctuation noise, a boilerplate header/footer line, case changes (one or two
per copy). A copy is a near-duplicate when its shingle Jaccard with its source is ≥ 0.8 — the definition
both tools implement — so edits that change more are drawn again (the count is printed). Ground truth =
the generated clusters (every pair of copies of one source is a duplicate pair).

Both sides use the same shingles (normalised text; word 3-grams, or character 5-grams for Chinese) and
threshold 0.8 with 128 permutations. The peer is the usual datasketch recipe: one MinHash per document
(``update_batch``), ``MinHashLSH.query`` then ``insert``, clusters by union-find over the query
results. Prints pair precision / recall / F1 for both, docs/s for both and the ratio, and the peak
memory of each at ``--memory-n`` documents (peak RSS above the loaded corpus, each side in its own process).
Bars (issue 3): F1 ≥ 0.97 and ≥ 5× datasketch's docs/s; the script exits 1 when one is missed.
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refinery.settings")

from bench.corpus import chinese_paragraphs, english_paragraphs  # noqa: E402
from curation.pipeline.base import build_step  # noqa: E402
from curation.pipeline.steps._text import is_cjk_dominant  # noqa: E402
from curation.pipeline.steps.near_dedup import shingle_text  # noqa: E402

THRESHOLD, NUM_PERM = 0.8, 128
BOILER_EN = ["Share this article on social media.", "All rights reserved.", "Click here to subscribe to our newsletter.",
             "Posted by the editorial team"]
BOILER_ZH = ["版权所有，转载请注明出处。", "点击关注我们的公众号", "责任编辑：王明", "本文来源：新华网"]
KEYBOARD_NEIGHBOURS = {c: n for c, n in zip("abcdefghijklmnopqrstuvwxyz", "sqxswdfguhjkoknlpwotyibvcu")}


# ------------------------------------------------------------------------------------ corpus
def _sentences(text: str, zh: bool) -> list[str]:
    import re

    parts = re.split(r"(?<=[。！？])" if zh else r"(?<=[.!?])\s+", text)
    return [p for p in parts if p.strip()]


def _join(sentences: list[str], zh: bool) -> str:
    return ("" if zh else " ").join(sentences)


def _typo(text: str, rng: random.Random, zh: bool) -> str:
    if zh:
        i = rng.randrange(len(text))
        return text[:i] + text[i + 1:] if rng.random() < 0.5 else text[:i] + rng.choice("的了在是和") + text[i:]
    words = text.split(" ")
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 3:
            j = rng.randrange(1, len(w) - 1)
            op = rng.random()
            if op < 0.4:
                w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
            elif op < 0.7:
                w = w[:j] + w[j + 1:]
            else:
                w = w[:j] + KEYBOARD_NEIGHBOURS.get(w[j].lower(), w[j]) + w[j + 1:]
            words[i] = w
    return " ".join(words)


def _noise(text: str, rng: random.Random, zh: bool) -> str:
    if zh:
        return text.replace("，", rng.choice([",", "，", " ，"])).replace("。", rng.choice(["。", ".", "。 "]))
    return text.replace(", ", rng.choice([",  ", " , ", ",\t"])).replace(". ", rng.choice([".  ", ".\n", " . "]))


def edit(text: str, rng: random.Random, zh: bool, pool: list[str]) -> str:
    ops = rng.sample(["typo", "drop", "add", "noise", "boiler", "case"], rng.randint(1, 2))
    sents = _sentences(text, zh)
    for op in ops:
        if op == "drop" and len(sents) >= 8:
            sents.pop(rng.randrange(len(sents)))
        elif op == "add":
            extra = _sentences(rng.choice(pool), zh)
            sents.insert(rng.randrange(len(sents) + 1), min(extra, key=len))
    out = _join(sents, zh)
    for op in ops:
        if op == "typo":
            out = _typo(out, rng, zh)
        elif op == "noise":
            out = _noise(out, rng, zh)
        elif op == "boiler":
            line = rng.choice(BOILER_ZH if zh else BOILER_EN)
            out = f"{line}\n{out}" if rng.random() < 0.5 else f"{out}\n{line}"
        elif op == "case" and not zh:
            out = out.upper() if rng.random() < 0.2 else out[:1].lower() + out[1:]
    return out


def jaccard(a: str, b: str) -> float:
    sa, sb = peer_shingles(a), peer_shingles(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def make_corpus(n: int, seed: int = 0, target_bytes: int = 1000) -> tuple[list[dict], list[int]]:
    """(records, cluster id per record).

    A source document joins ≥ 3 random paragraphs of one language until ≈ ``target_bytes``. An edited copy
    counts as a near-duplicate when its shingle Jaccard with the source is ≥ the threshold (the definition
    both tools implement); edits that change more are drawn again (``make_corpus.redrawn`` counts them).
    """
    rng = random.Random(seed)
    en, zh = english_paragraphs(), chinese_paragraphs()
    records, cluster = [], []
    src = 0
    redrawn = 0
    while len(records) < n:
        is_zh = src % 2 == 1
        pool = zh if is_zh else en
        parts, size = [], 0
        while size < target_bytes or len(parts) < 3:
            p = rng.choice(pool)
            parts.append(p)
            size += len(p.encode())
        base = ("" if is_zh else " ").join(parts)
        copies = [base]
        if rng.random() < 0.25:
            for _ in range(rng.randint(1, 3)):
                for _attempt in range(10):
                    copy = edit(base, rng, is_zh, pool)
                    if jaccard(base, copy) >= THRESHOLD:
                        break
                    redrawn += 1
                else:
                    copy = _noise(base, rng, is_zh)
                copies.append(copy)
        for text in copies:
            records.append({"id": f"r{len(records)}", "text": text})
            cluster.append(src)
        src += 1
    make_corpus.redrawn = redrawn
    records, cluster = records[:n], cluster[:n]
    order = list(range(len(records)))
    rng.shuffle(order)
    return [records[i] for i in order], [cluster[i] for i in order]


# ------------------------------------------------------------------------------------ evaluation
def pairs_from_groups(groups: dict) -> set[tuple[int, int]]:
    out = set()
    for members in groups.values():
        members = sorted(members)
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                out.add((members[i], members[j]))
    return out


def prf(pred: set, truth: set) -> tuple[float, float, float]:
    tp = len(pred & truth)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(truth) if truth else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


# ------------------------------------------------------------------------------------ the two sides
def run_ours(records: list[dict]) -> dict[str, str]:
    step = build_step("near_dedup", {"threshold": THRESHOLD, "num_perm": NUM_PERM})
    step.fit_stream(iter(records))
    return {records[pos]["id"]: rep for pos, (rep, _) in step.duplicates.items()}  # decisions are by position


def peer_shingles(text: str) -> set[bytes]:
    norm = shingle_text(text)
    if is_cjk_dominant(norm):
        s = norm.replace(" ", "")
        return {s[i:i + 5].encode() for i in range(max(1, len(s) - 4))}
    w = norm.split()
    return {" ".join(w[i:i + 3]).encode() for i in range(max(1, len(w) - 2))}


def run_datasketch(records: list[dict]) -> dict[str, str]:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    parent: dict[str, str] = {}

    def find(x):
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for r in records:
        m = MinHash(num_perm=NUM_PERM)
        m.update_batch(list(peer_shingles(r["text"])))
        for other in lsh.query(m):
            a, b = find(r["id"]), find(other)
            if a != b:
                parent[a] = b
        lsh.insert(r["id"], m)
    return {k: find(k) for k in parent}


def groups_of(dups: dict[str, str], index: dict[str, int]) -> dict:
    groups = defaultdict(set)
    for dup, rep in dups.items():
        groups[rep].add(index[dup])
        groups[rep].add(index[rep])
    return groups


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1e3  # kB
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_side(side: str, n: int, seed: int) -> None:
    """Child process: build the corpus, then report (peak RSS during the run − RSS before it) of one side."""
    big, _ = make_corpus(n, seed)
    fn = run_ours if side == "ours" else run_datasketch
    fn(big[:50])  # imports, lookup tables: not part of the per-corpus memory
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:  # reset the peak (VmHWM) to the current RSS
        fh.write("5")
    before = _status_mb("VmRSS")
    fn(big)
    peak = _status_mb("VmHWM")
    print(f"{max(peak - before, 0.0):.1f} {sum(len(r['text'].encode()) for r in big) / 1e6:.1f}")


def peak_memory(side: str, n: int, seed: int) -> tuple[float, float]:
    """(MB above the corpus, MB of text), measured in a fresh process so the two sides do not mix."""
    import subprocess

    out = subprocess.run([sys.executable, __file__, "--memory-side", side, "--memory-n", str(n), "--seed", str(seed)],
                         check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000, help="documents for F1 and speed")
    ap.add_argument("--memory-n", type=int, default=100000, help="documents for the memory measurement (0: skip)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--memory-side", choices=["ours", "datasketch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_side:
        memory_side(args.memory_side, args.memory_n, args.seed + 1)
        return 0

    records, cluster = make_corpus(args.n, args.seed)
    index = {r["id"]: i for i, r in enumerate(records)}
    truth_groups = defaultdict(set)
    for i, c in enumerate(cluster):
        truth_groups[c].add(i)
    truth = pairs_from_groups(truth_groups)
    mb = sum(len(r["text"].encode()) for r in records) / 1e6
    print(f"corpus: {len(records)} docs ({mb:.1f} MB, {sum(1 for g in truth_groups.values() if len(g) > 1)} duplicate "
          f"clusters, {len(truth)} true pairs; {make_corpus.redrawn} edits redrawn for Jaccard < {THRESHOLD}), "
          f"threshold {THRESHOLD}, {NUM_PERM} permutations")

    run_ours(records[:200])  # warm-up: lookup tables, imports
    results = {}
    for name, fn in (("near_dedup", run_ours), ("datasketch", run_datasketch)):
        t0 = time.perf_counter()
        dups = fn(records)
        dt = time.perf_counter() - t0
        p, r, f = prf(pairs_from_groups(groups_of(dups, index)), truth)
        results[name] = (p, r, f, len(records) / dt)
        print(f"{name:<11} precision {p:.4f}  recall {r:.4f}  F1 {f:.4f}  {len(records) / dt:>9,.0f} docs/s  ({dt:.1f} s)")
    ratio = results["near_dedup"][3] / results["datasketch"][3]
    print(f"speed ratio near_dedup / datasketch: {ratio:.1f}x")

    if args.memory_n:
        ours, mb = peak_memory("ours", args.memory_n, args.seed)
        print(f"peak memory above the loaded corpus at {args.memory_n:,} docs ({mb:.0f} MB of text): "
              f"near_dedup {ours:.0f} MB", end="", flush=True)
        peer, _ = peak_memory("datasketch", args.memory_n, args.seed)
        print(f", datasketch {peer:.0f} MB ({peer / max(ours, 1e-9):.1f}x)")

    checks = {"F1 >= 0.97": results["near_dedup"][2] >= 0.97, ">= 5x datasketch docs/s": ratio >= 5}
    for name, ok in checks.items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
