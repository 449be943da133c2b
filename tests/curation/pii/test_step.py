"""The `pii` pipeline step: options, batching, messages records, modes, counters, attrs, CLI."""
import json
import pickle

import pytest
from django.core.management import call_command

from curation.pipeline.base import StepConfigError, build_step, load_steps
from curation.pipeline.engine import run_pipeline
from curation.pipeline.steps.pii import PLACEHOLDER_RE, PIIScrubber, ScrubResult


def _run(step, records):
    rejected = []
    out = list(step.process(records, lambda rec, rej: rejected.append((rec, rej))))
    return out, rejected


RECORDS = [
    {"id": "a", "text": "Call 13812345678 or 138-1234-5678, mail wang@example.com.", "source": "unit"},
    {"id": "b", "text": "Release v2.3.1 fixed C34.9 coding; lr=1e-4 on 2024-03-05."},
    {"id": "c", "messages": [
        {"role": "user", "content": "我是张伟，手机13812345678，身份证450327199611071416"},
        {"role": "assistant", "content": "张伟您好，已记录13812345678。"},
    ]},
    {"id": "d", "text": ""},
]


def test_registered_with_the_documented_exports():
    assert "pii" in load_steps()
    assert PLACEHOLDER_RE.fullmatch("[PERSON_1]")
    assert isinstance(PIIScrubber().scrub("x"), ScrubResult)


def test_replace_mode_texts_messages_counters_and_attrs():
    step = build_step("pii", {"mode": "replace"})
    out, rejected = _run(step, [dict(r) for r in RECORDS])
    assert not rejected and [r["id"] for r in out] == ["a", "b", "c", "d"]
    a, b, c, d = out
    assert a["text"] == "Call [PHONE_1] or [PHONE_1], mail [EMAIL_1]."
    assert a["source"] == "unit"
    assert a["attrs"]["pii"] == {"counts": {"PHONE": 2, "EMAIL": 1},
                                 "examples": {"PHONE": ["138****5678"], "EMAIL": ["w***@example.com"]}}
    assert b == RECORDS[1] and "attrs" not in b  # nothing found: untouched
    # one placeholder map across the record's messages
    assert c["messages"][0]["content"] == "我是[PERSON_1]，手机[PHONE_1]，身份证[CN_ID_1]"
    assert c["messages"][1]["content"] == "[PERSON_1]您好，已记录[PHONE_1]。"
    assert c["messages"][0]["role"] == "user"
    assert d["text"] == ""
    stats = step.stats.as_dict()
    assert stats["in"] == 4 and stats["out"] == 4 and stats["dropped"] == 0
    assert stats["counters"] == {"pii.PHONE": 4, "pii.EMAIL": 1, "pii.PERSON": 2, "pii.CN_ID": 1, "records_with_pii": 2}


def test_input_records_are_not_mutated():
    records = [json.loads(json.dumps(r)) for r in RECORDS]
    snapshot = json.dumps(records, sort_keys=True)
    _run(build_step("pii"), records)
    assert json.dumps(records, sort_keys=True) == snapshot


def test_drop_mode_rejects_records_with_pii():
    step = build_step("pii", {"mode": "drop"})
    out, rejected = _run(step, [dict(r) for r in RECORDS])
    assert [r["id"] for r in out] == ["b", "d"]
    assert [(rec["id"], rej.step, rej.reason) for rec, rej in rejected] == [("a", "pii", "contains_pii"), ("c", "pii", "contains_pii")]
    assert rejected[0][1].details == {"pii": {"PHONE": 2, "EMAIL": 1}, "match": "13812345678"}  # highlighted
    assert rejected[1][1].details["match"] in ("张伟", "13812345678")
    assert step.stats.n_dropped == 2 and step.stats.reasons["contains_pii"] == 2 and step.stats.n_out == 2


def test_mask_and_hash_modes():
    masked, _ = _run(build_step("pii", {"mode": "mask"}), [dict(RECORDS[0])])
    assert masked[0]["text"] == "Call 138****5678 or 138-****-5678, mail w***@example.com."
    hashed, _ = _run(build_step("pii", {"mode": "hash", "hash_salt": "k"}), [dict(RECORDS[0])])
    tokens = PLACEHOLDER_RE.findall(hashed[0]["text"])
    assert len(tokens) == 3 and "13812345678" not in hashed[0]["text"]
    phones = [m.group(0) for m in PLACEHOLDER_RE.finditer(hashed[0]["text"]) if m.group("type") == "PHONE"]
    assert len(phones) == 2 and phones[0] == phones[1]


def test_batches_keep_order_and_per_record_maps():
    records = [{"id": str(i), "text": f"Ring 1390000{i:04d} then 13812345678"} for i in range(150)]
    out, _ = _run(build_step("pii", {"batch_size": 7}), records)
    assert [r["id"] for r in out] == [str(i) for i in range(150)]
    assert all(r["text"] == "Ring [PHONE_1] then [PHONE_2]" for r in out)


def test_types_and_names_options():
    out, _ = _run(build_step("pii", {"types": ["EMAIL"], "names": False}),
                  [{"id": "1", "text": "Norma Fisher, norma@example.com, 13812345678"}])
    assert out[0]["text"] == "Norma Fisher, [EMAIL_1], 13812345678"


@pytest.mark.parametrize("options,message", [
    ({"mode": "redact"}, "mode must be one of replace, mask, hash, drop"),
    ({"types": ["PHONE", "SHOE"]}, "unknown PII type"),
    ({"colour": "red"}, "Valid options"),
    ({"batch_size": 0}, "batch_size"),
])
def test_bad_options_are_reported(options, message):
    with pytest.raises(StepConfigError, match=message):
        build_step("pii", options)


def test_string_options_from_the_cli_are_coerced():
    step = build_step("pii", {"types": "PHONE,EMAIL", "names": "false", "batch_size": "16"})
    assert step.options.types == ["PHONE", "EMAIL"] and step.options.names is False and step.options.batch_size == 16


def test_step_pickles_for_workers():
    step = build_step("pii", {"mode": "mask"})
    _run(step, [dict(RECORDS[0])])
    clone = pickle.loads(pickle.dumps(step))
    out, _ = _run(clone, [dict(RECORDS[0])])
    assert out[0]["text"].startswith("Call 138****5678")


def test_runs_inside_the_engine_and_reports_pii_counts():
    result = run_pipeline([dict(r) for r in RECORDS], [build_step("pii")])
    report = result.report()
    assert report["pii"]["pii.PHONE"] == 4 and report["pii"]["pii.PERSON"] == 2
    assert [r["id"] for r in result.records] == ["a", "b", "c", "d"]


def test_process_cli_end_to_end(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS[:3]) + "\n", encoding="utf-8")
    out, rep = tmp_path / "out.jsonl", tmp_path / "report.json"
    call_command("process", "--steps", "pii", "--input", str(src), "--output", str(out), "--report", str(rep),
                 "--set", "pii.mode=replace", "--no-progress")
    kept = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert kept[0]["text"] == "Call [PHONE_1] or [PHONE_1], mail [EMAIL_1]."
    assert kept[2]["messages"][1]["content"] == "[PERSON_1]您好，已记录[PHONE_1]。"
    report = json.loads(rep.read_text())
    assert report["pii"]["pii.PHONE"] == 4 and report["pii"]["pii.CN_ID"] == 1


def test_hash_mode_salt_is_chosen_in_the_driver_and_travels_with_the_step():
    step = build_step("pii", {"mode": "hash", "names": False})
    assert step.hash_salt_source == "installation" and step._hash_salt
    copy = pickle.loads(pickle.dumps(step))  # what a worker gets
    a, _ = _run(step, [dict(RECORDS[0])])
    b, _ = _run(copy, [dict(RECORDS[0])])
    assert a[0]["text"] == b[0]["text"] and "[PHONE_" in a[0]["text"]


def test_setup_loads_the_name_models_once_without_third_party_spacy_factories():
    """The step's setup loads the NER and the Chinese model (not the first batch that needs them), and
    the NER load skips spaCy factory entry points (Presidio's would import transformers)."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, django; django.setup()\n"
        "from curation.pipeline.base import build_step\n"
        "from curation.pii import names, zh_names\n"
        "step = build_step('pii'); step.ensure_setup()\n"
        "assert names._nlp is not None and zh_names._model is not None\n"
        "assert 'presidio_analyzer' not in sys.modules and 'transformers' not in sys.modules\n"
        "ents = names.get_nlp()('Tom Hanks flew to Paris.').ents\n"
        "print(sorted((e.text, e.label_) for e in ents))\n"
        "none = build_step('pii', {'names': False}); none.ensure_setup()\n"
    )
    root = Path(__file__).resolve().parents[3]
    env = {**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "refinery.settings"}
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "('Paris', 'GPE')" in done.stdout and "('Tom Hanks', 'PERSON')" in done.stdout
