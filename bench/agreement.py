"""Agreement at scale: 1M annotations (200k items × 5 annotators, ~10% missing), all metrics.

Runs Refinery's numpy implementation and the reference libraries (krippendorff, scikit-learn,
statsmodels) on the same data in this process and prints times and ratios.

    .venv/bin/python bench/agreement.py [--items 200000] [--annotators 5] [--boot 200]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from itertools import combinations

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from annotation import agreement as A  # noqa: E402


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=222_223)  # × 5 annotators − 10 % missing ≈ 1M
    ap.add_argument("--annotators", type=int, default=5)
    ap.add_argument("--categories", type=int, default=5)
    ap.add_argument("--missing", type=float, default=0.1)
    ap.add_argument("--boot", type=int, default=1000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    U, N, K = args.items, args.annotators, args.categories
    truth = rng.integers(0, K, U)
    R = np.where(rng.random((U, N)) < 0.7, truth[:, None], rng.integers(0, K, (U, N))).astype(np.int32)
    R[rng.random(R.shape) < args.missing] = A.MISSING
    n_ann = int((R >= 0).sum())
    print(f"{U:,} items × {N} annotators, {K} categories: {n_ann:,} annotations ({args.missing:.0%} missing)")

    # (item, annotator, label) triples → matrix, as the CLI does
    ii, aa = np.nonzero(R >= 0)
    _, t_encode = timed(lambda: A.encode(ii, aa, R[ii, aa]))

    ours = {}
    t_all = time.perf_counter()
    ours["percent_agreement"] = timed(lambda: A.percent_agreement(R, K))
    ours["cohen_kappa (all pairs)"] = timed(lambda: A.pairwise_cohen(R, K))
    ours["cohen_kappa quadratic (all pairs)"] = timed(lambda: A.pairwise_cohen(R, K, weights="quadratic"))
    ours["fleiss_kappa"] = timed(lambda: A.fleiss_kappa(R, K))
    for level in A.LEVELS:
        ours[f"krippendorff_alpha {level}"] = timed(lambda level=level: A.krippendorff_alpha(R, K, level=level))
    ours["per_label_agreement"] = timed(lambda: A.per_label_agreement(R, K))
    ours["annotator_vs_consensus"] = timed(lambda: A.annotator_vs_consensus(R, K))
    ours["item_agreement"] = timed(lambda: A.item_agreement(R, K))
    t_metrics = time.perf_counter() - t_all
    ours[f"bootstrap CI alpha ({args.boot} resamples)"] = timed(lambda: A.bootstrap_ci(R, K, n_boot=args.boot))
    t_with_boot = time.perf_counter() - t_all

    print("\nRefinery (numpy)                          seconds")
    print(f"  encode triples → matrix                 {t_encode:8.3f}")
    for name, (_, t) in ours.items():
        print(f"  {name:40s}{t:8.3f}")
    print(f"  ALL metrics (without bootstrap)         {t_metrics:8.3f}   {'< 2 s ✓' if t_metrics < 2 else '≥ 2 s ✗'}")
    print(f"  ALL metrics incl. bootstrap CI          {t_with_boot:8.3f}   {'< 2 s ✓' if t_with_boot < 2 else '≥ 2 s ✗'}")

    # ---------------------------------------------------------------- peers, same data, same process
    import krippendorff
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.inter_rater import aggregate_raters
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    print("\nPeers                                      peer s   ours s   peer/ours   |Δ value|")
    rel = np.where(R < 0, np.nan, R).T.astype(float)
    for level in ("nominal", "ordinal", "interval"):
        ref, t = timed(lambda level=level: krippendorff.alpha(reliability_data=rel, level_of_measurement=level,
                                                               value_domain=list(range(K))))
        val, t_ours = ours[f"krippendorff_alpha {level}"]
        print(f"  krippendorff.alpha {level:9s}           {t:8.3f} {t_ours:8.3f} {t / t_ours:10.1f}x   {abs(ref - val):.1e}")

    def sk_pairs():
        out = {}
        for i, j in combinations(range(N), 2):
            m = (R[:, i] >= 0) & (R[:, j] >= 0)
            out[(i, j)] = cohen_kappa_score(R[m, i], R[m, j])
        return out
    ref, t = timed(sk_pairs)
    val, t_ours = ours["cohen_kappa (all pairs)"]
    diff = max(abs(ref[k] - val[k]) for k in ref)
    print(f"  sklearn cohen_kappa_score (all pairs)   {t:8.3f} {t_ours:8.3f} {t / t_ours:10.1f}x   {diff:.1e}")

    def sm():
        full = (R >= 0).all(1)
        return sm_fleiss(aggregate_raters(R[full], n_cat=K)[0])
    ref, t = timed(sm)
    val, t_ours = ours["fleiss_kappa"]
    print(f"  statsmodels fleiss_kappa                {t:8.3f} {t_ours:8.3f} {t / t_ours:10.1f}x   {abs(ref - val):.1e}")


if __name__ == "__main__":
    main()
