"""The Ray executor (Ray local mode) gives the same result as the local executor."""
from __future__ import annotations

import pytest

from curation.pipeline.base import build_step
from curation.pipeline.engine import run_pipeline

from .corpus import corpus
from .toysteps import Dedup, DistDedup, Lower, MinWords


@pytest.fixture(scope="module")
def ray_session():
    import ray

    yield
    ray.shutdown()


def _run(executor, steps, recs):
    rejected = []
    result = run_pipeline([dict(r) for r in recs], steps, executor=executor, batch_size=16,
                          reject=lambda r, rej: rejected.append((r["id"], rej.step, rej.reason, rej.duplicate_of)))
    return result, sorted(rejected)


def _real_steps():
    return [build_step("normalize"), build_step("length", {"min_words": 3}), build_step("exact_dedup"),
            build_step("near_dedup", {"threshold": 0.7}), build_step("normalize")]


def _assert_same(make, recs):
    local, local_rej = _run("local", make(), recs)
    on_ray, ray_rej = _run("ray", make(), recs)
    assert on_ray.records == local.records
    assert ray_rej == local_rej
    assert [(s.name, s.n_in, s.n_out, dict(s.reasons)) for s in on_ray.steps] == \
           [(s.name, s.n_in, s.n_out, dict(s.reasons)) for s in local.steps]
    assert local.n_rejected > 10 and local.n_output > 10  # the corpus exercises drops and keeps
    return on_ray


def test_ray_matches_local_with_distributed_and_driver_fitted_global_steps(ray_session):
    on_ray = _assert_same(lambda: [Lower(), MinWords(), DistDedup(), Dedup(), Lower()], corpus(120))
    assert on_ray.steps[2].counters["fitted_distributed"] == 1  # fit_distributed ran on the Ray dataset


PII_RECORDS = [
    {"id": "p1", "text": "Please contact John Smith at john.smith@example.com or 415-555-0134 about the invoice."},
    {"id": "p2", "text": "联系人张伟，电话13812345678，身份证450327199611071416，请尽快回复。我们已经收到了您的申请材料，"
                         "工作人员会在三个工作日内完成审核，并通过短信通知您审核的结果和下一步需要准备的文件。"},
    {"id": "p3", "text": "患者李娜于昨日入院，联系电话：139-1234-5678，病历已归档，主治医生王强负责后续治疗方案。"},
    {"id": "p4", "text": "Dear Mary Johnson, the payment for your order was charged to your card 4111 1111 1111 1111 "
                         "yesterday; please call 212-555-0188 with any questions about the delivery or the invoice."},
]


def _all_steps():
    return [build_step("normalize"), build_step("language"), build_step("length", {"min_words": 3}),
            build_step("quality"), build_step("pii"), build_step("exact_dedup"),
            build_step("near_dedup", {"threshold": 0.7}), build_step("normalize")]


def test_ray_matches_local_on_the_real_steps(ray_session):
    on_ray = _assert_same(_real_steps, corpus(120))
    near = [s for s in on_ray.steps if s.name == "near_dedup"][0]
    assert near.n_dropped > 0  # near_dedup.fit_distributed found the same clusters as fit


def test_ray_matches_local_on_the_whole_chain_with_language_quality_and_pii(ray_session):
    spam = [{"id": f"spam{i}", "text": "buy cheap pills " * 60 + str(i)} for i in range(3)]
    other = [{"id": "fr", "text": "Le patient a été admis avec une douleur thoracique et un essoufflement hier soir."}]
    on_ray = _assert_same(_all_steps, corpus(120) + PII_RECORDS + spam + other)
    by_name = {s.name: s for s in on_ray.steps}
    assert by_name["language"].reasons["not_allowed"] >= 1
    assert by_name["quality"].n_dropped >= 3
    assert by_name["pii"].counters["records_with_pii"] >= 4
    assert by_name["pii"].counters["pii.PHONE"] >= 3 and by_name["pii"].counters["pii.PERSON"] >= 3
    texts = {r["id"]: r["text"] for r in on_ray.records}
    assert "[PHONE_1]" in texts["p2"] and "13812345678" not in texts["p2"]
    assert all(r["attrs"]["language"]["lang"] in ("zh", "en") for r in on_ray.records)


@pytest.mark.django_db
def test_web_run_on_ray_stores_the_same_outputs_as_local(ray_session):
    from curation import selectors
    from curation.models import Collection, Document, GlossaryTerm, RunRejection
    from curation.pipeline.services import pipeline_config_create, pipeline_run_create, pipeline_run_execute

    coll = Collection.objects.create(name="ray-web")
    GlossaryTerm.objects.create(collection=coll, canonical="ECG", variants=["EKG"])
    for i, rec in enumerate(corpus(50) + [{"text": "An EKG was recorded twice for the patient today."}]):
        Document.objects.create(collection=coll, record_index=i, text=rec["text"], content_hash=str(i))
    config = pipeline_config_create(collection=coll, name="p", yaml_text=(
        "steps: [normalize, glossary, {length: {min_words: 3}}, exact_dedup, {near_dedup: {threshold: 0.7}}]\n"))
    runs = {ex: pipeline_run_execute(run=pipeline_run_create(collection=coll, config=config, executor=ex))
            for ex in ("local", "ray")}
    outputs = {ex: selectors.run_document_outputs(run=r) for ex, r in runs.items()}
    assert outputs["ray"] == outputs["local"] and any("An ECG was" in t for t in outputs["ray"].values())
    rejections = {ex: sorted(RunRejection.objects.filter(run=r).values_list("record_id", "reason", "duplicate_of"))
                  for ex, r in runs.items()}
    assert rejections["ray"] == rejections["local"] and len(rejections["ray"]) > 5
    assert runs["ray"].report["executor"] == "ray"
