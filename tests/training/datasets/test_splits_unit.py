"""Pure split / near-duplicate / n-gram functions (no database)."""
from __future__ import annotations

from training.decontam import HeldOutIndex, ngram_hashes
from training.splits import assign_splits, near_duplicate_pairs, tokens

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
