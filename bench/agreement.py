"""Agreement at scale: 1M annotations (222k items × 5 annotators, 10% missing), all metrics.

The timed total starts from (item, annotator, label) string triples — what ``manage.py agreement``
has after reading its JSONL — and includes encoding them into the rating matrix, every metric and
the bootstrap CI. The bar is 2 s: the script exits with status 1 above it. Then it runs the
reference libraries (krippendorff, scikit-learn, statsmodels) on the same data and prints ratios.

    .venv/bin/python bench/agreement.py [--items 222223] [--annotators 5] [--boot 1000] [--bar 2]
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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=222_223)  # × 5 annotators − 10 % missing ≈ 1M
    ap.add_argument("--annotators", type=int, default=5)
    ap.add_argument("--categories", type=int, default=5)
    ap.add_argument("--missing", type=float, default=0.1)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--bar", type=float, default=2.0, help="seconds the whole computation must stay under")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    U, N, K = args.items, args.annotators, args.categories
    truth = rng.integers(0, K, U)
    R = np.where(rng.random((U, N)) < 0.7, truth[:, None], rng.integers(0, K, (U, N))).astype(np.int32)
    R[rng.random(R.shape) < args.missing] = A.MISSING
    n_ann = int((R >= 0).sum())
    print(f"{U:,} items × {N} annotators, {K} categories: {n_ann:,} annotations ({args.missing:.0%} missing)")

    # the CLI's input: (item, annotator, label) string triples, as read_jsonl_triples returns them
    ii, aa = np.nonzero(R >= 0)
    names = np.array([f"label-{k:03d}" for k in range(K)])  # sorted like the codes, so ordinal α compares
    triples = ([f"item-{i}" for i in ii.tolist()], [f"annotator-{a}" for a in aa.tolist()], names[R[ii, aa]].tolist())

    ours = {}
    t_all = time.perf_counter()
    enc, t_encode = timed(lambda: A.encode(*triples))
    R2 = enc.data  # the same ratings as R, items in sorted id order (items nobody labelled are absent)
    assert R2.shape[1] == N and int((R2 >= 0).sum()) == n_ann
    ours["percent_agreement"] = timed(lambda: A.percent_agreement(R2, K))
    ours["cohen_kappa (all pairs)"] = timed(lambda: A.pairwise_cohen(R2, K))
    ours["cohen_kappa quadratic (all pairs)"] = timed(lambda: A.pairwise_cohen(R2, K, weights="quadratic"))
    ours["fleiss_kappa"] = timed(lambda: A.fleiss_kappa(R2, K))
    for level in A.LEVELS:
        ours[f"krippendorff_alpha {level}"] = timed(lambda level=level: A.krippendorff_alpha(R2, K, level=level))
    ours["per_label_agreement"] = timed(lambda: A.per_label_agreement(R2, K))
    ours["annotator_vs_consensus"] = timed(lambda: A.annotator_vs_consensus(R2, K))
    ours["item_agreement"] = timed(lambda: A.item_agreement(R2, K))
    t_metrics = time.perf_counter() - t_all
    ours[f"bootstrap CI alpha ({args.boot} resamples)"] = timed(lambda: A.bootstrap_ci(R2, K, n_boot=args.boot))
    t_total = time.perf_counter() - t_all

    print("\nRefinery (numpy)                          seconds")
    print(f"  encode 1M string triples → matrix       {t_encode:8.3f}")
    for name, (_, t) in ours.items():
        print(f"  {name:40s}{t:8.3f}")
    print(f"  encode + all metrics (no bootstrap)     {t_metrics:8.3f}")
    ok = t_total < args.bar
    print(f"  TOTAL encode + all metrics + bootstrap  {t_total:8.3f}   {'<' if ok else '≥'} {args.bar:g} s "
          f"{'✓' if ok else '✗ over the bar'}")

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
    val = {tuple(sorted(k)): v for k, v in val.items()}
    diff = max(abs(ref[k] - val[k]) for k in ref)
    print(f"  sklearn cohen_kappa_score (all pairs)   {t:8.3f} {t_ours:8.3f} {t / t_ours:10.1f}x   {diff:.1e}")

    def sm():
        full = (R >= 0).all(1)
        return sm_fleiss(aggregate_raters(R[full], n_cat=K)[0])
    ref, t = timed(sm)
    val, t_ours = ours["fleiss_kappa"]
    print(f"  statsmodels fleiss_kappa                {t:8.3f} {t_ours:8.3f} {t / t_ours:10.1f}x   {abs(ref - val):.1e}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
