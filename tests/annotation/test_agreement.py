"""Agreement math cross-checked against scikit-learn, statsmodels and krippendorff."""
import json
import math

import krippendorff
import numpy as np
import pytest
from django.core.management import CommandError, call_command
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from annotation import agreement as A


def random_ratings(seed, n_items=150, n_ann=4, K=5, p_missing=0.25, p_copy=0.55):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, K, n_items)
    R = np.where(rng.random((n_items, n_ann)) < p_copy, truth[:, None], rng.integers(0, K, (n_items, n_ann)))
    R = R.astype(np.int32)
    R[rng.random(R.shape) < p_missing] = A.MISSING
    return R


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_alpha_matches_krippendorff(seed, level):
    R = random_ratings(seed)
    ref = krippendorff.alpha(reliability_data=np.where(R < 0, np.nan, R).T.astype(float),
                             level_of_measurement=level, value_domain=list(range(5)))
    assert A.krippendorff_alpha(R, 5, level=level) == pytest.approx(ref, abs=1e-9)


def test_alpha_interval_uses_category_values():
    R = random_ratings(7, K=4)
    values = np.array([1.0, 2.0, 4.0, 8.0])
    ref = krippendorff.alpha(reliability_data=np.where(R < 0, np.nan, values[np.clip(R, 0, None)]).T,
                             level_of_measurement="interval")
    assert A.krippendorff_alpha(R, 4, level="interval", values=values) == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_matches_sklearn_on_pairs_with_missing(seed, weights):
    R = random_ratings(seed)
    pairs = A.pairwise_cohen(R, 5, weights=weights)
    assert len(pairs) == 6
    for (i, j), value in pairs.items():
        m = (R[:, i] >= 0) & (R[:, j] >= 0)
        ref = cohen_kappa_score(R[m, i], R[m, j], weights=weights, labels=list(range(5)))
        assert value == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 4])
def test_fleiss_matches_statsmodels_on_complete_items(seed):
    R = random_ratings(seed)
    full = (R >= 0).all(1)
    table, _ = aggregate_raters(R[full], n_cat=5)
    assert A.fleiss_kappa(R, 5) == pytest.approx(sm_fleiss(table, method="fleiss"), abs=1e-12)


def test_percent_agreement_by_hand():
    R = np.array([[0, 0, 0], [0, 1, -1], [1, 1, 2], [-1, -1, 2]], dtype=np.int32)
    # item 1: 3/3 pairs; item 2: 0/1; item 3: 1/3; item 4 has one label (ignored)
    assert A.percent_agreement(R) == pytest.approx((1 + 0 + 1 / 3) / 3)
    assert A.item_agreement(R)[:3] == pytest.approx([1, 0, 1 / 3])
    assert math.isnan(A.item_agreement(R)[3])


def test_edge_all_agree_on_one_label():
    R = np.zeros((10, 3), dtype=np.int32)
    assert A.cohen_kappa(R[:, 0], R[:, 1]) == 1.0
    assert A.fleiss_kappa(R) == 1.0
    assert A.krippendorff_alpha(R) == 1.0
    assert A.percent_agreement(R) == 1.0


def test_edge_single_item_and_single_annotator():
    one_item = np.array([[0, 1, 1]], dtype=np.int32)
    assert A.percent_agreement(one_item) == pytest.approx(1 / 3)
    assert A.fleiss_kappa(one_item, 2) == pytest.approx(
        sm_fleiss(aggregate_raters(one_item, n_cat=2)[0]), abs=1e-12)
    one_ann = np.array([[0], [1], [1]], dtype=np.int32)
    assert math.isnan(A.percent_agreement(one_ann))
    assert math.isnan(A.fleiss_kappa(one_ann))
    assert math.isnan(A.krippendorff_alpha(one_ann))
    assert A.pairwise_cohen(one_ann) == {}


def test_per_label_and_consensus_and_bootstrap():
    R = random_ratings(5, n_items=400, n_ann=3, K=3, p_missing=0.1, p_copy=0.8)
    per = A.per_label_agreement(R, 3)
    assert [d["category"] for d in per] == [0, 1, 2]
    assert sum(d["share"] for d in per) == pytest.approx(1.0)
    unused = A.per_label_agreement(np.where(R == 2, 1, R), 3)[2]
    assert unused["share"] == 0 and math.isnan(unused["alpha"])
    for d in per:  # each equals alpha of the binarised matrix
        B = np.where(R < 0, -1, (R == d["category"]).astype(np.int32))
        assert d["alpha"] == pytest.approx(A.krippendorff_alpha(B, 2), abs=1e-12)
    cons = A.annotator_vs_consensus(R, 3)
    assert set(cons) == {0, 1, 2} and all(0.5 < c["kappa"] <= 1 for c in cons.values())
    point = A.krippendorff_alpha(R, 3)
    lo, hi = A.bootstrap_ci(R, 3, n_boot=300)
    assert lo < point < hi and hi - lo < 0.2
    plo, phi = A.bootstrap_ci(R, 3, metric="percent_agreement", n_boot=300)
    assert plo < A.percent_agreement(R, 3) < phi
    flo, fhi = A.bootstrap_ci(R, 3, metric="fleiss_kappa", n_boot=300)
    assert flo < A.fleiss_kappa(R, 3) < fhi


def test_encode_keeps_last_label_and_sorts():
    r = A.encode(["i2", "i1", "i1", "i1"], ["b", "a", "b", "a"], ["x", "y", "x", "x"])
    assert list(r.items) == ["i1", "i2"] and list(r.annotators) == ["a", "b"] and list(r.categories) == ["x", "y"]
    assert r.data.tolist() == [[0, 0], [-1, 0]]


def _write(tmp_path, rows):
    p = tmp_path / "annotations.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return p


def test_cli_prints_the_json_object(tmp_path, capsys):
    rows = [{"item": i, "annotator": a, "label": lab} for i, labs in enumerate(
        [("pos", "pos", "neg"), ("neg", "neg", "neg"), ("pos", None, "pos"), ("neg", "pos", "neg")])
        for a, lab in zip(("zoe", "amy", "bob"), labs)]
    call_command("agreement", "--input", str(_write(tmp_path, rows)))
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "percent_agreement",
                         "n_items", "n_annotators"]
    assert set(out["cohen_kappa"]) == {"amy|bob", "amy|zoe", "bob|zoe"}
    assert out["n_items"] == 4 and out["n_annotators"] == 3
    codes = {"neg": 0, "pos": 1}
    R = np.array([[codes.get(r["label"], -1) for r in rows if r["item"] == i] for i in range(4)], dtype=np.int32)
    R = R[:, [1, 2, 0]]  # amy, bob, zoe
    ref = krippendorff.alpha(reliability_data=np.where(R < 0, np.nan, R).T.astype(float), level_of_measurement="nominal")
    assert out["krippendorff_alpha"] == pytest.approx(ref, abs=1e-6)
    m = (R[:, 0] >= 0) & (R[:, 2] >= 0)
    assert out["cohen_kappa"]["amy|zoe"] == pytest.approx(cohen_kappa_score(R[m, 0], R[m, 2]), abs=1e-6)


def test_cli_ordinal_and_errors(tmp_path, capsys):
    rows = [{"item": i, "annotator": a, "label": (i % 5) + 1 + (a == "b" and i % 3 == 0)}
            for i in range(30) for a in "abc"]
    call_command("agreement", "--input", str(_write(tmp_path, rows)), "--level", "ordinal")
    out = json.loads(capsys.readouterr().out)
    assert 0.5 < out["krippendorff_alpha"] < 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"item": 1, "annotator": "a", "label": "x"}\n{"item": 2}\n')
    with pytest.raises(CommandError, match="line 2: needs the keys"):
        call_command("agreement", "--input", str(bad))
    with pytest.raises(CommandError, match="numeric labels"):
        call_command("agreement", "--input", str(_write(tmp_path, [{"item": 1, "annotator": "a", "label": "x"}])),
                     "--level", "interval")


def test_leave_one_out_consensus_matches_brute_force():
    rng = np.random.default_rng(11)
    for _ in range(200):
        U, N, K = int(rng.integers(1, 40)), int(rng.integers(1, 7)), int(rng.integers(1, 5))
        R = rng.integers(0, K, (U, N)).astype(np.int32)
        R[rng.random(R.shape) < rng.random()] = A.MISSING
        c = A.category_counts(R, K)
        expected = np.full(R.shape, A.MISSING)
        for j in range(N):  # remove the annotator's own vote, then take the unique top category
            for i in range(U):
                others = c[i].copy()
                if R[i, j] >= 0:
                    others[R[i, j]] -= 1
                top = others.max()
                if top > 0 and (others == top).sum() == 1:
                    expected[i, j] = others.argmax()
        assert (A.leave_one_out_consensus(R, K) == expected).all()


def test_bootstrap_groups_are_exact_with_many_categories():
    """64 categories, 3 annotators: the packed key base 4 ** k no longer fits in int64 from k = 32 on."""
    rng = np.random.default_rng(3)
    K, N, U = 64, 3, 600
    truth = rng.integers(32, K, U)  # every true label is a category whose packed weight would wrap to 0
    R = np.where(rng.random((U, N)) < 0.75, truth[:, None], rng.integers(0, K, (U, N))).astype(np.int32)
    c = A.category_counts(R, K)
    first, sizes = A.count_groups(c, N)
    distinct = {tuple(row) for row in c.astype(int).tolist()}
    assert len(first) == len(distinct) and int(sizes.sum()) == U
    assert {tuple(c[i].astype(int).tolist()) for i in first} == distinct
    point = A.krippendorff_alpha(R, K)
    lo, hi = A.bootstrap_ci(R, K, n_boot=400)
    # the same percentile bootstrap done the slow way: resample the items themselves
    boots = [A.krippendorff_alpha(R[rng.integers(0, U, U)], K) for _ in range(400)]
    blo, bhi = np.quantile(boots, [0.025, 0.975])
    assert lo < point < hi
    assert lo == pytest.approx(blo, abs=0.03) and hi == pytest.approx(bhi, abs=0.03)


def test_small_category_counts_keep_the_packed_key():
    c = np.array([[2, 0, 1], [2, 0, 1], [0, 3, 0]], dtype=np.float64)
    first, sizes = A.count_groups(c, 3)
    assert sorted(zip(first.tolist(), sizes.tolist())) == [(0, 2), (2, 1)]


def test_report_pair_keys_are_sorted_names_like_the_cli():
    """User ids in the opposite order of the names: every pair key is still "amy|zoe"."""
    from annotation.analysis import field_report, spans_field_report
    from annotation.schemes import Scheme

    names = {1: "zoe", 2: "amy"}
    intent = Scheme.from_dict({"fields": [{"name": "intent", "type": "choice", "choices": ["a", "b"]}]}).fields[0]
    rows = [(i, 1, {"intent": "a"}) for i in range(4)] + [(i, 2, {"intent": "a" if i < 3 else "b"}) for i in range(4)]
    rep = field_report(intent, rows, names, bootstrap=False)
    assert list(rep["cohen_kappa"]) == ["amy|zoe"] and list(rep["confusion"]) == ["amy|zoe"]
    assert rep["confusion"]["amy|zoe"] == [[3, 0], [1, 0]]  # rows: amy's labels, columns: zoe's
    assert A.pair_key("zoe", "amy") == A.pair_key("amy", "zoe") == "amy|zoe"

    spans = Scheme.from_dict({"fields": [{"name": "ents", "type": "spans", "labels": ["P"]}]}).fields[0]
    srows = [(7, 1, {"ents": [{"start": 0, "end": 3, "label": "P"}]}),
             (7, 2, {"ents": [{"start": 0, "end": 3, "label": "P"}, {"start": 5, "end": 8, "label": "P"}]})]
    srep = spans_field_report(spans, srows, names, lengths={7: 10})
    assert list(srep["span_f1_pairs"]) == list(srep["cohen_kappa"]) == list(srep["confusion"]) == ["amy|zoe"]
    # amy marked 5–8 that zoe left O: amy's row P, zoe's column O
    assert srep["confusion"]["amy|zoe"] == [[4, 0], [3, 3]]

    # the CLI on the same labels names the pair the same way
    summary = A.agreement_summary(A.encode([r[0] for r in rows], [names[r[1]] for r in rows],
                                           [r[2]["intent"] for r in rows]))
    assert list(summary["cohen_kappa"]) == ["amy|zoe"]
    assert summary["cohen_kappa"]["amy|zoe"] == rep["cohen_kappa"]["amy|zoe"]


def test_factorize_matches_np_unique():
    rng = np.random.default_rng(9)
    words = [f"id-{x}" for x in rng.integers(0, 300, 2000)]
    for values in (words, np.asarray(words), rng.integers(-5, 50, 500), [1.5, 0.5, 1.5], ["b", "a", "b"], []):
        ref_vals, ref_codes = np.unique(np.asarray(values), return_inverse=True)
        vals, codes = A.factorize(values)
        assert vals.tolist() == ref_vals.tolist() and codes.tolist() == ref_codes.tolist()
