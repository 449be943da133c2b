"""Document → QA over an OpenAI-compatible endpoint: Refinery's own /v1/chat/completions (training app,
bundled chat model, token auth) on the test's live server, reached through a recording loopback proxy —
the chat prompt that went out and the real replies that came back are checked against the samples built."""
from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from curation.builders.qa import FEW_SHOT_QA, LABELS, _parse_chat, qa_pair_ok
from curation.hashing import text_hash
from curation.models import Collection, Document, Sample
from tests.curation.augment.openai_server import serve_recording_proxy

DOCS = {
    "en": "The bank charges an annual fee of 200 yuan for the platinum card. The fee is waived if you spend "
          "50000 yuan a year.",
    "zh": "白金卡年费为每年200元。一年内刷卡消费满5万元可免除次年年费。",
}


@pytest.fixture
def endpoint(live_server, curator, monkeypatch):
    from rest_framework.authtoken.models import Token

    from training.serving import served_models

    token = Token.objects.create(user=curator)
    monkeypatch.setenv("REFINERY_GENERATOR_API_KEY", token.key)
    server, url, log = serve_recording_proxy(f"{live_server.url}/v1")
    yield url, served_models()[0]["id"], log
    server.shutdown()
    server.server_close()


def test_qa_pairs_from_refinerys_own_chat_endpoint(endpoint, db, capsys):
    url, model, log = endpoint
    collection = Collection.objects.create(name="bank", domain="finance")
    docs = {lang: Document.objects.create(collection=collection, text=t, content_hash=text_hash(t), language=lang)
            for lang, t in DOCS.items()}
    spec = f"openai:{url}#{model}"
    call_command("build", "--collection", "bank", "--qa", "--generator", spec, "--max-pairs", "1", "--no-progress")
    assert len(log) == 2 and all(status == 200 for _, status, _ in log)
    expected = {}
    for request, _, reply in log:
        # the chat path: instruction, one few-shot exchange in the document's language, then the passage
        msgs = request["messages"]
        assert request["model"] == model and request["temperature"] == 0
        assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
        lang = next(lang for lang, text in DOCS.items() if text in msgs[-1]["content"])
        q_label, a_label = LABELS[lang][1:]
        assert msgs[2]["content"] == f"{q_label}: {FEW_SHOT_QA[lang][1]}\n{a_label}: {FEW_SHOT_QA[lang][2]}"
        q, a = _parse_chat(reply["choices"][0]["message"]["content"], lang)
        if qa_pair_ok(q, a, lang):
            expected[docs[lang].pk] = [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    built = {s.source_document_id: s for s in Sample.objects.filter(origin="built")}
    assert {k: s.messages for k, s in built.items()} == expected
    assert expected, "the bundled chat model behind the endpoint answers at least one passage in the format"
    assert f"{len(expected)} QA samples from 2 documents ({spec})" in capsys.readouterr().out
    for s in built.values():
        assert s.method == f"qa:{spec}"[:64] and s.meta["qa"]["generator"] == spec
        assert s.meta["qa"]["passage"] == s.source_document.text


def test_build_qa_reports_endpoint_errors(endpoint, db, monkeypatch):
    url, model, log = endpoint
    collection = Collection.objects.create(name="bank", domain="finance")
    Document.objects.create(collection=collection, text=DOCS["en"], content_hash=text_hash(DOCS["en"]), language="en")
    monkeypatch.setenv("REFINERY_GENERATOR_API_KEY", "not-a-token")
    with pytest.raises(CommandError, match="answered 40[13]"):
        call_command("build", "--collection", "bank", "--qa", "--generator", f"openai:{url}#{model}", "--no-progress")
    assert log and log[0][1] in (401, 403)
    with pytest.raises(CommandError, match="unreachable"):
        call_command("build", "--collection", "bank", "--qa", "--generator", "openai:http://127.0.0.1:9/v1#x",
                     "--no-progress")
    with pytest.raises(CommandError, match="expected openai:http"):
        call_command("build", "--collection", "bank", "--qa", "--generator", "openai:localhost#x", "--no-progress")
    assert not Sample.objects.exists()


def test_parse_chat_reply_shapes():
    assert _parse_chat("Question: Where?\nAnswer: Here.\nExtra line", "en") == ("Where?", "Here.")
    assert _parse_chat("问题:年费多少?\n\n答案:200元。", "zh") == ("年费多少?", "200元。")
    assert _parse_chat("Sure! The passage is about fees.", "en") == ("", "")
    assert not qa_pair_ok("说明满5万元可免年费？", "说明满5万元可免年费", "zh")  # the answer only echoes the question
    assert not qa_pair_ok(FEW_SHOT_QA["en"][1], "In the app.", "en")  # the prompt's own example
