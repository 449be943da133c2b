"""Back-translation on CPU with the bundled multilingual LM (Gemma 3 270M): sentences/s and acceptance.

Three ways over the same zh + en sentences, in this process:
  1. unbatched  — one sentence per generate() call (what a naive loop does; the peer)
  2. batched    — --batch sentences per call (left padding, prompts grouped by length, per-sequence
                  newline stop), through a cold persistent translation cache
  3. cached     — the batched run again through the now warm cache
Unbatched and batched alternate for --rounds rounds (each batched round gets a fresh cache) and each
keeps its fastest round: on a shared machine other processes slow whichever run they overlap, and the
fastest round is the one least disturbed. CPU seconds (all threads) are printed beside wall seconds.
Prints sentences/s, ratios against the unbatched peer, the similarity-band acceptance rate, and how
many outcomes the batched run shares word for word with the unbatched one (left padding changes the
arithmetic slightly, so greedy decoding may differ now and then).

    .venv/bin/python bench/augment.py [--n 16] [--batch 8] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refinery.settings")

import django  # noqa: E402

django.setup()


from curation.augment.base import AugmentContext, Item, get_augmenter  # noqa: E402
from curation.augment.translate import CachedTranslator, LMTranslator, TranslationCache  # noqa: E402

ZH = ["我想查询一下我的账户余额。", "信用卡的年费是多少?", "头痛三天了,还有点发烧,应该挂哪个科?",
      "我的快递三天了还没到。", "这个药饭前吃还是饭后吃?", "怎么修改网上银行的登录密码?",
      "我想取消上个月开通的自动扣款。", "医生说我血压有点高,需要注意什么?"]
EN = ["Can I change the delivery address of my order?", "My account was charged twice for the same purchase.",
      "How long does a refund usually take?", "What documents do I need to open a savings account?",
      "Is it safe to take this medicine with coffee?", "Why was my credit card payment declined?",
      "How do I report a lost debit card?", "Can I get a copy of my last bank statement?"]


def items_for(n: int) -> list[Item]:
    half = max(1, n // 2)
    zh = [Item(f"zh{i}", [{"role": "user", "content": t}], language="zh") for i, t in enumerate(ZH[:half])]
    en = [Item(f"en{i}", [{"role": "user", "content": t}], language="en") for i, t in enumerate(EN[:n - half])]
    return zh + en


def run(translator, items) -> dict:
    aug = get_augmenter("backtranslate", translator=translator)
    wall, cpu = time.perf_counter(), time.process_time()
    outcomes = aug.augment(items, AugmentContext())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    accepted = sum(1 for o in outcomes if o.variants)
    return {"wall": wall, "cpu": cpu, "acceptance": accepted / len(items), "outcomes": outcomes}


def fresh_cache() -> TranslationCache:
    return TranslationCache(Path(tempfile.mkdtemp(prefix="bench-augment-")) / "translations.sqlite3")


def backs(outcomes) -> list:
    return [o.variants[0].messages[0]["content"] if o.variants else o.reason for o in outcomes]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=16, help="sentences (half zh, half en; at most 16)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3, help="alternating unbatched/batched rounds (fastest kept)")
    args = ap.parse_args()
    items = items_for(args.n)
    lm = LMTranslator()
    gen = lm.generator
    gen.complete(["warm-up:"], max_new_tokens=2)
    runs: dict[str, list[dict]] = {"unbatched": [], "batched": []}
    for _ in range(args.rounds):
        gen.batch_size = 1
        runs["unbatched"].append(run(lm, items))
        gen.batch_size = args.batch
        cache = fresh_cache()
        runs["batched"].append(run(CachedTranslator(lm, cache), items))
    cached = CachedTranslator(lm, cache)  # the last batched round's cache, now warm
    warm = run(cached, items)
    best = {k: min(v, key=lambda r: r["wall"]) for k, v in runs.items()}
    single = best["unbatched"]

    n = len(items)
    print(f"back-translation of {n} sentences (zh→en→zh and en→zh→en; 2 translations each), {gen.key}, "
          f"torch threads={__import__('torch').get_num_threads()}, fastest of {args.rounds} rounds")
    print(f"{'mode':<24}{'wall s':>8}{'cpu s':>8}{'sent/s':>9}{'vs unbatched':>14}{'cpu vs unb.':>13}{'accepted':>10}")
    for name, r in (("unbatched (peer)", single), (f"batched ×{args.batch}", best["batched"]),
                    ("batched + warm cache", warm)):
        cpu_ratio = f"{single['cpu'] / r['cpu']:.1f}×" if r["cpu"] > 0.005 else "—"
        print(f"{name:<24}{r['wall']:>8.2f}{r['cpu']:>8.2f}{n / r['wall']:>9.2f}{single['wall'] / r['wall']:>13.1f}×"
              f"{cpu_ratio:>13}{r['acceptance']:>9.0%}")
    print("all rounds (wall s): " + "; ".join(f"{k} " + ", ".join(f"{r['wall']:.1f}" for r in v)
                                              for k, v in runs.items()))
    print(f"cache: {cached.hits} hits, {cached.misses} misses on the warm run")
    same = sum(a == b for a, b in zip(backs(single["outcomes"]), backs(best["batched"]["outcomes"])))
    print(f"batched vs unbatched: {same}/{n} identical outcomes")
    for item, o in zip(items, best["batched"]["outcomes"]):
        back = o.variants[0].messages[0]["content"] if o.variants else "—"
        sims = o.variants[0].details["similarity"] if o.variants else o.details.get("similarity")
        print(f"  [{'kept' if o.variants else o.reason:>8}] sim={sims} {item.messages[0]['content']} → {back}")


if __name__ == "__main__":
    main()
