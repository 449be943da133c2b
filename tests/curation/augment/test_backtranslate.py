"""Back-translation with real backends: a tiny Marian seq2seq model (plumbing), the bundled multilingual
LM, and an OpenAI-compatible HTTP server on loopback; batching and the persistent cache."""
from __future__ import annotations

import json

import pytest

from curation.augment.base import AugmentContext, Item, get_augmenter
from curation.augment.translate import (
    CachedTranslator, Seq2SeqTranslator, TranslationCache, TranslationError, translator_from_spec,
)
from curation.generation import GenerationError, get_generator

from .conftest import SENTENCES_ZH
from .openai_server import serve_generator


def test_seq2seq_backend_batches_and_caches(tiny_marian, settings):
    translator = translator_from_spec(f"seq2seq:{tiny_marian}")
    assert isinstance(translator, CachedTranslator) and isinstance(translator.inner, Seq2SeqTranslator)
    translator.inner.batch_size = 1  # two batches for two sentences
    out = translator.translate(SENTENCES_ZH, src="zh", tgt="en")
    assert len(out) == 2 and all(isinstance(t, str) for t in out)
    assert (translator.hits, translator.misses) == (0, 2)
    # Persistent: a new translator (new process in real life) finds the cached outputs on disk.
    again = translator_from_spec(f"seq2seq:{tiny_marian}")
    assert again.translate(SENTENCES_ZH + SENTENCES_ZH[:1], src="zh", tgt="en") == out + out[:1]
    assert (again.hits, again.misses) == (3, 0)
    assert len(TranslationCache()) == 2
    assert TranslationCache().path.is_relative_to(settings.DATA_DIR)
    # The gate decides on random-weight outputs: every item gets an outcome with a reason or a variant.
    aug = get_augmenter("backtranslate", translator=again)
    outcomes = aug.augment([Item(str(i), [{"role": "user", "content": s}], language="zh")
                            for i, s in enumerate(SENTENCES_ZH)], AugmentContext())
    for o in outcomes:
        assert o.variants or o.reason in ("copy", "drift", "empty", "protected span lost", "copied a prompt example")
    # Empty or blank inputs never reach the model (0 tokens crash its attention) and come back empty.
    assert again.inner.translate(["", "  ", SENTENCES_ZH[0]], src="zh", tgt="en")[:2] == ["", ""]
    with pytest.raises(TranslationError, match="zh<->en"):
        again.inner.translate(["x"], src="fr", tgt="en")


def test_bundled_lm_backtranslates_offline():
    translator = translator_from_spec("lm")
    [english] = translator.translate(SENTENCES_ZH[:1], src="zh", tgt="en")
    assert "balance" in english.lower()
    aug = get_augmenter("backtranslate", translator=translator)
    [outcome] = aug.augment([Item("1", [{"role": "user", "content": SENTENCES_ZH[0]},
                                        {"role": "assistant", "content": "好的"}], language="zh")], AugmentContext())
    assert translator.hits == 1  # the zh→en leg came from the cache
    if outcome.variants:
        v = outcome.variants[0]
        assert v.messages[1]["content"] == "好的" and v.messages[0]["content"] != SENTENCES_ZH[0]
        assert 0.45 <= v.details["similarity"] < 0.95 and v.details["pivot"] == [english]
    else:
        assert outcome.reason in ("copy", "drift", "protected span lost", "copied a prompt example")


def test_http_backend_against_a_real_openai_compatible_server(monkeypatch):
    server, url, seen = serve_generator(get_generator("local:smollm2-135m-instruct"))
    try:
        monkeypatch.setenv("REFINERY_GENERATOR_API_KEY", "test-key")
        translator = translator_from_spec(f"lm:openai:{url}#smollm2", cache=False)
        [out] = translator.translate(["Can I change the delivery address of my order?"], src="en", tgt="zh")
        assert isinstance(out, str) and out
        assert seen[0]["model"] == "smollm2" and seen[0]["messages"][-1]["content"].startswith("Can I change")
        assert seen[0]["messages"][0]["role"] == "system" and len(seen[0]["messages"]) == 8  # few-shot turns
        monkeypatch.setenv("REFINERY_GENERATOR_API_KEY", "wrong")
        with pytest.raises(GenerationError, match="401"):
            translator_from_spec(f"lm:openai:{url}#smollm2", cache=False).translate(["Hi"], src="en", tgt="zh")
    finally:
        server.shutdown()
        server.server_close()  # stop accepting: the next request must fail fast
    with pytest.raises(GenerationError, match="unreachable"):
        translator_from_spec(f"lm:openai:{url}#smollm2", cache=False).translate(["Hi"], src="en", tgt="zh")


def test_http_backend_against_refinerys_own_serving_endpoint(live_server, curator, monkeypatch):
    """The same backend against Refinery's /v1/chat/completions (training area), token auth, bundled model."""
    from rest_framework.authtoken.models import Token

    from training.serving import served_models

    token = Token.objects.create(user=curator)
    monkeypatch.setenv("REFINERY_GENERATOR_API_KEY", token.key)
    model = served_models()[0]["id"]
    translator = translator_from_spec(f"lm:openai:{live_server.url}/v1#{model}", cache=False)
    [out] = translator.translate(["How do I report a lost debit card?"], src="en", tgt="zh")
    assert isinstance(out, str) and out.strip()
    monkeypatch.setenv("REFINERY_GENERATOR_API_KEY", "not-a-token")
    with pytest.raises(GenerationError, match="401|403"):
        translator_from_spec(f"lm:openai:{live_server.url}/v1#{model}", cache=False).translate(
            ["Hi"], src="en", tgt="zh")
