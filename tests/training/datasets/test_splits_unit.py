"""Pure split / near-duplicate / n-gram functions (no database)."""
from __future__ import annotations

import itertools
import random

import numpy as np

from training.decontam import HeldOutIndex, ngram_hashes
from training.splits import (
    DuplicateFinder,
    UnionFind,
    assign_splits,
    batch_gram_hashes,
    batch_token_hashes,
    jaccard,
    near_duplicate_pairs,
    shingle_hashes,
    token_hashes,
    tokens,
)

RATIOS = {"train": 0.8, "validation": 0.1, "test": 0.1}


def test_assign_splits_proportions_strata_pins_determinism():
    groups = {f"g{i:04d}": [i] for i in range(1000)}
    groups["big"] = [2000, 2001, 2002, 2003]
    strata = {g: ("a" if i % 3 else "b") for i, g in enumerate(groups)}
    pinned = {"g0007": "test", "big": "validation"}
    out = assign_splits(groups=groups, strata=strata, pinned=pinned, ratios=RATIOS, seed=1)
    assert out == assign_splits(groups=dict(reversed(list(groups.items()))), strata=strata, pinned=pinned,
                                ratios=RATIOS, seed=1)  # order of input does not matter
    assert out[7] == "test" and {out[m] for m in groups["big"]} == {"validation"}
    for stratum in ("a", "b"):
        members = [m for g, ms in groups.items() if strata[g] == stratum for m in ms]
        n = len(members)
        for split, ratio in RATIOS.items():
            share = sum(1 for m in members if out[m] == split) / n
            assert abs(share - ratio) < 0.02, (stratum, split, share)
    other = assign_splits(groups=groups, strata=strata, pinned=pinned, ratios=RATIOS, seed=2)
    assert other != out and other[7] == "test"
    no_test = assign_splits(groups=groups, strata=strata, pinned={}, ratios={"train": 0.9, "validation": 0.1, "test": 0.0}, seed=1)
    assert "test" not in set(no_test.values())


def test_near_duplicates_and_tokens():
    a = "Explain the difference between a fixed rate and a variable rate mortgage for a first time buyer in detail please"
    b = a.replace("first time", "first-time")
    c = "How do I reset my online banking password when I no longer have access to the registered phone number"
    zh1 = "患者应按时服药并定期复查血压，如有头晕或胸闷等不适症状请及时就医，不要自行停药或更改剂量。"
    zh2 = zh1.replace("及时", "尽快")
    pairs = near_duplicate_pairs([(1, a), (2, b), (3, c), (4, zh1), (5, zh2)], threshold=0.8)
    assert (1, 2) in pairs and (4, 5) in pairs
    assert not any(3 in p for p in pairs)
    assert tokens("Hello, 世界 ABC-12") == ["hello", "世", "界", "abc", "12"]


def test_ngram_overlap():
    idx = HeldOutIndex(8)
    held = "the quick brown fox jumps over the lazy dog near the river bank today"
    idx.add(held, "test")
    share, source = idx.overlap(held + " and then goes home")
    assert source == "test" and share > 0.5
    assert idx.overlap("completely unrelated words that share nothing at all with it")[0] == 0.0
    assert len(ngram_hashes("短文本", 8)) == 1  # shorter than n: one gram for the whole text
    assert len(ngram_hashes("a b c d e f g h i j", 8)) == 3


def _components(keys, pairs):
    uf = UnionFind()
    for k in keys:
        uf.find(k)
    for a, b in pairs:
        uf.union(a, b)
    out: dict = {}
    for k in keys:
        out.setdefault(uf.find(k), set()).add(k)
    return sorted(sorted(c) for c in out.values())


def _brute_force(items, threshold):
    """Every pair compared: same token sequence, or exact Jaccard of token 3-shingles ≥ threshold."""
    sh = {k: shingle_hashes(token_hashes(t)) for k, t in items}
    seq = {k: token_hashes(t).tobytes() for k, t in items}
    edges = [(a, b) for (a, _), (b, _) in itertools.combinations(items, 2)
             if seq[a] == seq[b] or jaccard(sh[a], sh[b]) >= threshold]
    return _components([k for k, _ in items], edges), sh


EN_WORDS = ("the patient should take the prescribed medicine every morning and evening with water check blood "
            "pressure daily report any dizziness chest pain or shortness of breath to the clinic immediately").split()
ZH_TEXT = "患者应按时服药并定期复查血压如有头晕或胸闷等不适症状请及时就医不要自行停药或更改剂量饮食宜清淡少盐多吃蔬菜"


def _families(rnd, n_families=20):
    """Edit chains: each text is the previous one with one or two words (characters) swapped, so neighbours
    are near-duplicates while the ends of a chain may not be (the group is connected through the middle)."""
    items, k = [], 0
    for fam in range(n_families):
        chinese = fam % 2 == 1
        pool = list(ZH_TEXT) if chinese else list(EN_WORDS)
        rnd.shuffle(pool)
        chain = [pool * (1 if chinese else 2)]
        for step in range(6):
            cur = list(chain[-1])
            for _ in range(1 + step % 2):
                cur[rnd.randrange(len(cur))] = rnd.choice("诊疗药片医护" if chinese else
                                                          ["gently", "often", "doctor", "nurse", "always"])
            chain.append(cur)
        for toks in chain:
            items.append((k, ("" if chinese else " ").join(toks)))
            k += 1
    return items


def test_near_duplicates_match_all_pairs_comparison():
    items = _families(random.Random(3))
    truth, sh = _brute_force(items, 0.8)
    got = _components([k for k, _ in items], near_duplicate_pairs(items, threshold=0.8))
    assert got == truth
    # the data exercises what an LSH shortcut gets wrong: groups of ≥ 3 whose ends are not similar themselves,
    # and buckets of ≥ 3 members, in both languages
    chained = [g for g in truth if len(g) >= 3 and jaccard(sh[g[0]], sh[g[-1]]) < 0.8]
    assert chained and any(items[g[0]][1][0] in ZH_TEXT for g in chained)
    finder = DuplicateFinder(threshold=0.8)
    for _k, text in items:
        th = token_hashes(text)
        finder.add(th, np.array([len(th)]))
    buckets: dict = {}
    for k in range(finder.n):
        for band, h in enumerate(finder.bands[k].tolist()):
            buckets.setdefault((band, h), []).append(k)
    assert max(len(m) for m in buckets.values()) >= 3
    # buckets walked member by member (no pair list) find the same groups as buckets verified pair by pair
    assert _components([k for k, _ in items], near_duplicate_pairs(items, threshold=0.8, small_bucket=1)) == truth
    assert _components([k for k, _ in items], near_duplicate_pairs(items, threshold=0.8, small_bucket=10**6)) == truth
    # pairs only ever join texts that are truly similar (LSH false positives are verified away)
    for a, b in near_duplicate_pairs(items, threshold=0.8):
        assert jaccard(sh[a], sh[b]) >= 0.8 or items[a][1] == items[b][1]


def test_exact_and_short_duplicates_are_grouped():
    items = [(1, "How do I reset my password on the new app?"), (2, "How do I reset my password on the new app?"),
             (3, "Thanks"), (4, "thanks!"), (5, "你好"), (6, "你好。"), (7, "好的"), (8, "Thanks a lot"),
             (9, "…"), (10, "…")]
    comps = _components([k for k, _ in items], near_duplicate_pairs(items, threshold=0.8))
    assert [1, 2] in comps and [3, 4] in comps and [5, 6] in comps
    assert [7] in comps and [8] in comps  # different short texts stay apart
    assert [9] in comps and [10] in comps  # no tokens: nothing to compare (the exporter groups by content hash)


def test_batched_overlap_equals_one_at_a_time():
    rnd = random.Random(5)
    words = [f"w{i}" for i in range(60)]
    idx = HeldOutIndex(8)
    held = []
    for src in ("validation", "test", "eval:bench"):
        for _ in range(20):
            held.append(" ".join(rnd.choice(words) for _ in range(40)))
            idx.add(held[-1], src)
    texts = [" ".join(rnd.choice(words) for _ in range(rnd.randint(0, 50))) for _ in range(100)]
    # partial copies of held-out texts, some from two sources at once
    texts += [" ".join(rnd.choice(held).split()[:rnd.randint(5, 40)] + rnd.choice(held).split()[-20:]) for _ in range(100)]
    texts += ["", "短文本", "w1 w2 w3"]
    one = [idx.overlap(t) for t in texts]
    assert idx.overlaps(texts) == one
    assert any(share > 0 for share, _ in one) and any(share == 0 for share, _ in one)
    assert {src for _, src in one} == {None, "validation", "test", "eval:bench"}
    assert HeldOutIndex(8).overlaps(texts[:3]) == [(0.0, None)] * 3
