"""Encoding detection benchmark: our ``decode_text`` vs charset-normalizer alone, side by side.

    .venv/bin/python bench/encoding_detection.py [--per-case 150]

Real Chinese paragraphs (People's Daily 1998, bench/corpus.py; Traditional via OpenCC for Big5) and
English prose, cut to short (≤ 40 chars), medium (≤ 200) and long (≤ 1000) pieces, encoded as UTF-8,
UTF-8 with BOM, UTF-16 with BOM, UTF-16-LE without BOM, GBK, GB18030 and Big5. A detection counts as
correct when the decoded text equals the original. Prints accuracy per encoding for both, the total
time and the speed ratio.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refinery.settings")

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "gbk", "gb18030", "big5"]
LENGTHS = {"short": 40, "medium": 200, "long": 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-case", type=int, default=150)
    args = parser.parse_args()
    import django

    django.setup()
    import opencc
    from charset_normalizer import from_bytes

    from bench.corpus import chinese_paragraphs, english_paragraphs
    from curation.ingest.encoding import decode_text
    from curation.ingest.errors import IngestError

    zh, en = chinese_paragraphs(), english_paragraphs()
    to_trad = opencc.OpenCC("s2t")
    cases = []  # (encoding, length label, text, bytes)
    for enc in ENCODINGS:
        for label, n in LENGTHS.items():
            for i in range(args.per_case):
                src = zh[(i * 7 + len(label)) % len(zh)]
                if enc == "utf-8" and i % 3 == 0:
                    src = en[i % len(en)]
                text = (to_trad.convert(src) if enc == "big5" else src)[:n].strip()
                try:
                    data = text.encode(enc)
                except UnicodeEncodeError:
                    continue
                cases.append((enc, label, text, data))

    def ours(data: bytes) -> str | None:
        try:
            return decode_text(data)[0]
        except IngestError:
            return None

    def peer(data: bytes) -> str | None:
        best = from_bytes(data).best()
        return str(best) if best is not None else None

    results = {}
    for name, fn in (("ours", ours), ("charset-normalizer", peer)):
        correct = defaultdict(int)
        t = time.perf_counter()
        outs = [fn(data) for _, _, _, data in cases]
        elapsed = time.perf_counter() - t
        for (enc, label, text, _), out in zip(cases, outs):
            correct[enc, label] += out is not None and out.lstrip("\ufeff") == text
        results[name] = (correct, elapsed)
    total = defaultdict(int)
    for enc, label, _, _ in cases:
        total[enc, label] += 1
    print(f"{len(cases)} encoded texts; accuracy = decoded text identical to the original")
    print(f"{'encoding':<11}{'length':<8}{'n':>5}{'ours':>8}{'charset-normalizer':>20}")
    for enc in ENCODINGS:
        for label in LENGTHS:
            n = total[enc, label]
            if n:
                print(f"{enc:<11}{label:<8}{n:>5}{results['ours'][0][enc, label] / n:>8.1%}"
                      f"{results['charset-normalizer'][0][enc, label] / n:>20.1%}")
    for name, (correct, elapsed) in results.items():
        print(f"{name:<20} accuracy {sum(correct.values()) / len(cases):.1%}  time {elapsed:.2f}s")
    print(f"speed ratio (charset-normalizer time / ours): {results['charset-normalizer'][1] / results['ours'][1]:.1f}×")


if __name__ == "__main__":
    main()
