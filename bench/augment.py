"""Back-translation on CPU with the bundled multilingual LM (Gemma 3 270M): sentences/s and acceptance.

Three ways over the same zh + en sentences, in this process:
  1. unbatched  — one sentence per generate() call (what a naive loop does; the peer)
  2. batched    — LOCAL_BATCH_SIZE sentences per call (left padding, per-sequence newline stop)
  3. cached     — the batched run again through the persistent translation cache (warm)
Prints sentences/s, ratios against the unbatched peer, and the similarity-band acceptance rate.

    .venv/bin/python bench/augment.py [--n 8] [--batch 8]
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

from django.conf import settings  # noqa: E402

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


def run(translator, items) -> tuple[float, float, list]:
    aug = get_augmenter("backtranslate", translator=translator)
    t0 = time.perf_counter()
    outcomes = aug.augment(items, AugmentContext())
    seconds = time.perf_counter() - t0
    accepted = sum(1 for o in outcomes if o.variants)
    return seconds, accepted / len(items), outcomes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=8, help="sentences (half zh, half en)")
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    settings.DATA_DIR = Path(tempfile.mkdtemp(prefix="bench-augment-"))  # a cold translation cache
    items = items_for(args.n)
    lm = LMTranslator()
    gen = lm.generator
    gen.complete(["warm-up:"], max_new_tokens=2)

    gen.batch_size = 1
    t_single, acc_single, _ = run(lm, items)
    gen.batch_size = args.batch
    t_batch, acc_batch, outcomes = run(CachedTranslator(lm, TranslationCache()), items)
    cached = CachedTranslator(lm, TranslationCache())
    t_cached, acc_cached, _ = run(cached, items)

    n = len(items)
    print(f"back-translation of {n} sentences (zh→en→zh and en→zh→en; 2 translations each), {gen.key}, "
          f"torch threads={__import__('torch').get_num_threads()}")
    print(f"{'mode':<26}{'seconds':>9}{'sent/s':>9}{'vs unbatched':>14}{'accepted':>10}")
    for name, t, acc in (("unbatched (peer)", t_single, acc_single), (f"batched ×{args.batch}", t_batch, acc_batch),
                         ("batched + warm cache", t_cached, acc_cached)):
        print(f"{name:<26}{t:>9.2f}{n / t:>9.2f}{t_single / t:>13.1f}×{acc:>9.0%}")
    print(f"cache: {cached.hits} hits, {cached.misses} misses on the warm run")
    for item, o in zip(items, outcomes):
        back = o.variants[0].messages[0]["content"] if o.variants else "—"
        sims = o.variants[0].details["similarity"] if o.variants else o.details.get("similarity")
        print(f"  [{'kept' if o.variants else o.reason:>8}] sim={sims} {item.messages[0]['content']} → {back}")


if __name__ == "__main__":
    main()
