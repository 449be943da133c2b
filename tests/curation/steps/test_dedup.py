from __future__ import annotations

import random

import numpy as np
import pytest

from curation.pipeline.base import StepConfigError, build_step
from curation.pipeline.steps.near_dedup import MinHasher

from .helpers import run_step

EN = ("Refinery takes a team from raw domain documents to a LoRA adapter. Curators ingest files, clean them, "
      "remove duplicates and personal data, then build instruction samples that annotators review before a dataset "
      "version is exported and a small model is trained on it. Every step records why it dropped a document so the "
      "curator can check the decision and change the settings when a rule is too strict for the domain.")
ZH = ("医疗保险报销需要提供住院病历、费用清单和发票原件。参保人员在定点医院就医时，可以直接结算由基本医疗保险统筹基金支付的部分，"
      "个人只需支付自付部分。异地就医的患者需要提前办理备案手续，否则报销比例会相应降低。具体政策以当地医保部门公布的文件为准。")


def _words_jaccard(a, b, n=3):
    def sh(t):
        w = t.lower().split()
        return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}
    return len(sh(a) & sh(b)) / len(sh(a) | sh(b))


# ---------------------------------------------------------------- exact_dedup
def test_exact_dedup_normalises_case_punctuation_width_and_space():
    recs = [{"id": "a", "text": "Hello, World!"}, {"id": "b", "text": "hello   world"},
            {"id": "c", "text": "ＨＥＬＬＯ ＷＯＲＬＤ。"}, {"id": "d", "text": "Hello there"}]
    kept, rejected, _ = run_step("exact_dedup", recs)
    assert [r["id"] for r in kept] == ["a", "d"]
    assert [(rec["id"], rej.reason, rej.duplicate_of) for rec, rej in rejected] == \
        [("b", "exact_duplicate", "a"), ("c", "exact_duplicate", "a")]


def test_exact_dedup_without_normalisation_is_byte_exact():
    kept, rejected, _ = run_step("exact_dedup", [{"id": "a", "text": "Hi!"}, {"id": "b", "text": "hi"},
                                                 {"id": "c", "text": "Hi!"}], normalize=False)
    assert [r["id"] for r in kept] == ["a", "b"] and rejected[0][1].duplicate_of == "a"


def test_exact_dedup_messages_include_roles():
    m1 = {"id": "s1", "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
    m2 = {"id": "s2", "messages": [{"role": "user", "content": "hi!"}, {"role": "assistant", "content": "hello"}]}
    m3 = {"id": "s3", "messages": [{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Hello"}]}
    kept, rejected, _ = run_step("exact_dedup", [m1, m2, m3])
    assert [r["id"] for r in kept] == ["s1", "s3"]
    assert rejected[0][1].duplicate_of == "s1"


def test_exact_dedup_empty_texts_are_duplicates_of_the_first_empty():
    kept, rejected, _ = run_step("exact_dedup", [{"id": 1, "text": ""}, {"id": 2, "text": "  "}])
    assert [r["id"] for r in kept] == [1] and rejected[0][1].duplicate_of == "1"


# ---------------------------------------------------------------- near_dedup
def test_near_duplicate_english_is_dropped_with_duplicate_of_and_similarity():
    edited = EN.replace("Curators ingest", "Curators  ingest,").replace("strict", "strikt")
    recs = [{"id": "orig", "text": EN}, {"id": "other", "text": ZH}, {"id": "copy", "text": edited}]
    kept, rejected, step = run_step("near_dedup", recs)
    assert [r["id"] for r in kept] == ["orig", "other"]
    (rec, rej), = rejected
    assert (rec["id"], rej.reason, rej.duplicate_of) == ("copy", "near_duplicate", "orig")
    assert 0.8 <= rej.details["similarity"] <= 1.0
    assert step.stats.counters["clusters"] == 1


def test_near_duplicate_chinese_uses_character_shingles():
    edited = ZH.replace("发票原件", "发票").replace("，", ",")
    kept, rejected, _ = run_step("near_dedup", [{"id": "a", "text": ZH}, {"id": "b", "text": edited}])
    assert [r["id"] for r in kept] == ["a"] and rejected[0][1].duplicate_of == "a"


def _pair_with_similarity(target: float, rng: random.Random):
    """Two texts of 400 distinct words whose word-3-gram Jaccard is close to ``target``."""
    vocab = [f"w{i}" for i in range(5000)]
    base = rng.sample(vocab, 400)
    for k in range(0, 200):
        other = list(base)
        for j in rng.sample(range(400), k):
            other[j] = f"x{j}"
        jac = _words_jaccard(" ".join(base), " ".join(other))
        if jac <= target:
            return " ".join(base), " ".join(other), jac
    raise AssertionError("no pair")


def test_pairs_just_above_and_below_the_threshold():
    rng = random.Random(3)
    hi_a, hi_b, hi = _pair_with_similarity(0.90, rng)
    lo_a, lo_b, lo = _pair_with_similarity(0.68, rng)
    assert hi > 0.85 and lo < 0.7
    kept, rejected, _ = run_step("near_dedup", [{"id": "h1", "text": hi_a}, {"id": "h2", "text": hi_b},
                                                {"id": "l1", "text": lo_a}, {"id": "l2", "text": lo_b}])
    assert {rec["id"] for rec, _ in rejected} == {"h2"}
    assert [r["id"] for r in kept] == ["h1", "l1", "l2"]


def test_threshold_option_moves_the_decision():
    rng = random.Random(5)
    a, b, jac = _pair_with_similarity(0.7, rng)
    assert 0.6 < jac <= 0.7
    _, rejected, _ = run_step("near_dedup", [{"id": "a", "text": a}, {"id": "b", "text": b}], threshold=0.5)
    assert [rec["id"] for rec, _ in rejected] == ["b"]


@pytest.mark.parametrize("mode,expected_rep", [("first", "short"), ("longest", "long")])
def test_representative_choice(mode, expected_rep):
    long = EN + " One more sentence at the end."
    recs = [{"id": "short", "text": EN}, {"id": "long", "text": long}]
    kept, rejected, _ = run_step("near_dedup", recs, representative=mode)
    assert [r["id"] for r in kept] == [expected_rep]
    assert rejected[0][1].duplicate_of == expected_rep


def test_cluster_of_three_all_point_to_the_representative():
    recs = [{"id": "a", "text": EN}, {"id": "b", "text": EN.replace("team", "group")},
            {"id": "c", "text": EN.replace("small", "tiny")}]
    kept, rejected, _ = run_step("near_dedup", recs)
    assert [r["id"] for r in kept] == ["a"]
    assert sorted((rec["id"], rej.duplicate_of) for rec, rej in rejected) == [("b", "a"), ("c", "a")]


def test_empty_and_short_texts():
    recs = [{"id": "e1", "text": ""}, {"id": "e2", "text": "   "}, {"id": "s1", "text": "Hi there"},
            {"id": "s2", "text": "hi, there!"}, {"id": "s3", "text": "Bye now"}]
    kept, rejected, _ = run_step("near_dedup", recs)
    assert [r["id"] for r in kept] == ["e1", "e2", "s1", "s3"]  # empty texts are never duplicates
    assert [(rec["id"], rej.duplicate_of) for rec, rej in rejected] == [("s2", "s1")]


def test_messages_records():
    m = [{"role": "user", "content": EN[:200]}, {"role": "assistant", "content": EN[200:]}]
    recs = [{"id": "s1", "messages": m}, {"id": "s2", "messages": [dict(x) for x in m]}]
    kept, rejected, _ = run_step("near_dedup", recs)
    assert [r["id"] for r in kept] == ["s1"] and rejected[0][1].duplicate_of == "s1"


def test_mixed_script_and_ten_megabyte_document():
    big = (EN + ZH) * 9000
    assert len(big.encode()) > 10 * 1024 * 1024 * 0.5
    kept, rejected, _ = run_step("near_dedup", [{"id": "big", "text": big}, {"id": "big2", "text": big + " tail"},
                                                {"id": "x", "text": ZH}])
    assert [r["id"] for r in kept] == ["big", "x"]


def test_signatures_are_deterministic_and_permutation_method_agrees():
    texts = [EN, ZH, EN.replace("team", "crew"), ""]
    a = MinHasher(num_perm=128, char_ngram=5, word_ngram=3, seed=1).signatures(texts)
    b = MinHasher(num_perm=128, char_ngram=5, word_ngram=3, seed=1).signatures(texts)
    assert (a == b).all() and (a[3] == 0xFFFFFFFF).all()
    for method in ("oph", "permutations"):
        s = MinHasher(num_perm=256, char_ngram=5, word_ngram=3, seed=2, method=method).signatures(texts)
        est = (s[0] == s[2]).mean()
        true = _words_jaccard(EN, EN.replace("team", "crew"))
        assert abs(est - true) < 0.1, (method, est, true)
        assert (s[0] == s[1]).mean() < 0.05


def test_bad_options_list_valid_ones():
    with pytest.raises(StepConfigError, match="representative"):
        build_step("near_dedup", {"representative": "random"})
    with pytest.raises(StepConfigError, match="Valid options: .*threshold"):
        build_step("near_dedup", {"treshold": 0.8})


def test_fit_distributed_on_ray_gives_the_same_clusters_as_fit():
    import ray

    rng = random.Random(0)
    sentences = [s for s in (EN + " " + ZH).replace("。", ".").split(".") if s.strip()]
    recs = []
    for i in range(60):
        text = " ".join(rng.sample(sentences, 4)) + f" doc {i}"
        recs.append({"id": f"r{i}", "text": text})
        if i % 3 == 0:
            recs.append({"id": f"r{i}dup", "text": text.replace("doc", "document")})
    local = build_step("near_dedup")
    local.fit_stream(iter(recs))
    dist = build_step("near_dedup")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False, ignore_reinit_error=True)
    try:
        ds = ray.data.from_items([{"id": r["id"], "text": r["text"]} for r in recs])
        dist.fit_distributed(ds)
    finally:
        ray.shutdown()
    assert local.duplicates == dist.duplicates
    assert len(local.duplicates) >= 20


# ---------------------------------------------------------------- semantic_dedup
def test_semantic_dedup_drops_english_paraphrase_and_leaves_chinese_alone():
    recs = [{"id": "a", "text": "How do I reset my password?"},
            {"id": "b", "text": "How can I reset my password?"},
            {"id": "c", "text": "What documents do I need for a mortgage?"},
            {"id": "z1", "text": "我想重置密码"}, {"id": "z2", "text": "我要重置密码"}]
    kept, rejected, step = run_step("semantic_dedup", recs, threshold=0.9)
    assert [r["id"] for r in kept] == ["a", "c", "z1", "z2"]
    (rec, rej), = rejected
    assert (rec["id"], rej.reason, rej.duplicate_of) == ("b", "semantic_duplicate", "a")
    assert rej.details["similarity"] >= 0.9


def test_semantic_dedup_bad_model_folder():
    step = build_step("semantic_dedup", {"model": "/nonexistent/model"})
    with pytest.raises(StepConfigError, match="does not exist"):
        step.ensure_setup()


def test_numpy_signature_dtype():
    sig = MinHasher(num_perm=64, char_ngram=5, word_ngram=3, seed=1).signatures(["a b c d"])
    assert sig.dtype == np.uint32 and sig.shape == (1, 64)


# ---------------------------------------------------------------- repeated ids (decisions keyed by stream position)
def test_exact_dedup_repeated_ids_are_judged_each_on_its_own():
    # the third record shares its id with the first and its text with the second: only it is a duplicate
    recs = [{"id": "A", "text": "first text here"}, {"id": "B", "text": "second text"},
            {"id": "A", "text": "Second text!"}, {"id": "A", "text": "first text here"}]
    kept, rejected, _ = run_step("exact_dedup", recs)
    assert [(r["id"], r["text"]) for r in kept] == [("A", "first text here"), ("B", "second text")]
    assert [(rec["id"], rec["text"], rej.duplicate_of) for rec, rej in rejected] == [
        ("A", "Second text!", "B"), ("A", "first text here", "A")]


def test_near_dedup_repeated_ids_are_judged_each_on_its_own():
    recs = [{"id": "A", "text": ZH}, {"id": "B", "text": EN}, {"id": "A", "text": EN.replace("strict", "strikt")}]
    kept, rejected, _ = run_step("near_dedup", recs)
    assert [(r["id"], r["text"]) for r in kept] == [("A", ZH), ("B", EN)]
    (rec, rej), = rejected
    assert (rec["id"], rej.duplicate_of) == ("A", "B") and rec["text"] != EN


def test_dedup_decides_by_position_when_a_worker_gets_one_batch():
    step = build_step("exact_dedup")
    recs = [{"id": str(i), "text": f"text {i % 3}"} for i in range(6)]
    step.fit_stream(iter(recs))
    rejected = []
    kept = list(step.process(iter(recs[3:]), lambda r, j: rejected.append(r["id"]), positions=range(3, 6)))
    assert kept == [] and rejected == ["3", "4", "5"]


def test_semantic_dedup_embeds_in_streaming_batches_and_keeps_no_texts():
    from curation.pipeline.steps.semantic_dedup import SemanticDedup

    class Counting(SemanticDedup):
        name = "semantic_dedup"  # not registered: a subclass that records the batches it embeds

        def embed(self, texts):
            self.batches.append(len(texts))
            return super().embed(texts)

    step = Counting(batch_size=4, threshold=0.9)
    step.batches = []
    questions = [f"How do I reset the password of account number {i}?" for i in range(40)]
    recs = ({"id": f"q{i}", "text": q} for i, q in enumerate(questions * 2))  # a generator: one pass
    step.fit_stream(recs)
    assert len(step.batches) >= 2 and max(step.batches) <= 32
    assert not any(isinstance(v, str) and "password" in v for v in vars(step).values())
    assert len(step.duplicates) >= 40  # every second copy is a duplicate of its first
    assert all(isinstance(pos, int) for pos in step.duplicates)
