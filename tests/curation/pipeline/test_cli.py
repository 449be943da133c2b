"""`manage.py process` (headless, no database — these tests have no DB access) and `manage.py curate`."""
from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from .corpus import corpus


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_process_end_to_end_with_rejections_report_and_malformed_lines(tmp_path, capsys):
    recs = corpus(60)
    lines = [json.dumps({**r, "source": "unit"}, ensure_ascii=False) for r in recs]
    lines.insert(3, "{not json")
    lines.insert(7, json.dumps({"text": "no id here"}))
    lines.insert(9, json.dumps([1, 2]))
    src = _write(tmp_path / "in.jsonl", lines)
    out, rej, rep = tmp_path / "out.jsonl", tmp_path / "rej.jsonl", tmp_path / "report.json"
    call_command("process", "--steps", "normalize,length,exact_dedup,near_dedup", "--input", str(src),
                 "--output", str(out), "--rejected", str(rej), "--report", str(rep),
                 "--set", "near_dedup.threshold=0.7", "--set", "length.min_words=3", "--no-progress")
    kept, dropped, report = _jsonl(out), _jsonl(rej), json.loads(rep.read_text())
    assert len(kept) + len(dropped) == 60 == report["input"]
    assert all(r["source"] == "unit" for r in kept)  # other fields preserved
    assert {r["id"] for r in kept}.isdisjoint({r["id"] for r in dropped})
    reasons = {r["reason"] for r in dropped}
    assert {"too_short", "near_duplicate"} <= reasons
    near = [r for r in dropped if r["reason"] == "near_duplicate"]
    kept_ids = {r["id"] for r in kept}
    assert all(r["step"] == "near_dedup" and r["duplicate_of"] in kept_ids for r in near)
    assert [e["line"] for e in report["errors"]] == [4, 8, 10] and report["malformed_lines"] == 3
    assert "not valid JSON" in report["errors"][0]["error"] and "missing 'id'" in report["errors"][1]["error"]
    assert [s["step"] for s in report["steps"]] == ["normalize", "length", "exact_dedup", "near_dedup"]
    assert report["steps_config"][3]["options"] == {"threshold": 0.7}
    assert all(s["seconds"] >= 0 and s["in"] >= s["out"] for s in report["steps"])
    assert "pii" in report
    err = capsys.readouterr().err
    assert "in.jsonl:4: not valid JSON" in err
    assert not list(tmp_path.glob("*.part"))


def test_process_from_yaml_config_and_messages_records(tmp_path):
    cfg = tmp_path / "p.yaml"
    cfg.write_text("steps:\n  - normalize: {punctuation: keep}\n  - exact_dedup\n", encoding="utf-8")
    src = _write(tmp_path / "in.jsonl", [
        json.dumps({"id": 1, "messages": [{"role": "user", "content": "Ｈｅｌｌｏ   there"}]}),
        json.dumps({"id": 2, "text": "<p>Hello&nbsp;world</p>"}),
        json.dumps({"id": 3, "text": ""}),
    ])
    out, rej = tmp_path / "o.jsonl", tmp_path / "r.jsonl"
    call_command("process", "--config", str(cfg), "--input", str(src), "--output", str(out), "--rejected", str(rej),
                 "--no-progress")
    kept = _jsonl(out)
    assert kept[0]["messages"][0]["content"] == "Hello there" and kept[1]["text"] == "Hello world"
    assert _jsonl(rej) == [{"id": 3, "text": "", "step": "normalize", "reason": "empty"}]


@pytest.mark.parametrize("args, message", [
    (["--steps", "normalize,bogus"], "Unknown step 'bogus'. Valid steps: "),
    (["--steps", "normalize", "--set", "normalize.nope=1"], "Unknown option(s) nope for step 'normalize'. Valid options: "),
    (["--steps", "near_dedup", "--set", "near_dedup.threshold=high"], "cannot read 'high' as float"),
    (["--steps", "normalize", "--set", "length.min_words=3"], "'length' is not one of the steps"),
    (["--steps", "normalize", "--set", "oops"], "expected STEP.OPTION=VALUE"),
    ([], "Give --steps"),
    (["--steps", "normalize", "--report", "/nonexistent-dir/r.json"], "--report /nonexistent-dir/r.json: the folder"),
])
def test_process_refuses_bad_steps_and_options_listing_valid_ones(tmp_path, args, message):
    src = _write(tmp_path / "in.jsonl", [json.dumps({"id": 1, "text": "hello"})])
    with pytest.raises(CommandError) as exc:
        call_command("process", *args, "--input", str(src), "--output", str(tmp_path / "o.jsonl"), "--no-progress")
    assert message in str(exc.value)
    if "Valid steps" in message:
        assert "near_dedup" in str(exc.value) and "normalize" in str(exc.value)
    assert not (tmp_path / "o.jsonl").exists()


def test_process_shows_a_progress_bar_on_stderr(tmp_path, capsys):
    src = _write(tmp_path / "in.jsonl", [json.dumps(r) for r in corpus(30)])
    call_command("process", "--steps", "normalize,exact_dedup", "--input", str(src), "--output", str(tmp_path / "o.jsonl"))
    err = capsys.readouterr().err
    assert "Step 1/2: normalize" in err and "Fitting exact_dedup" in err and "30/30" in err


@pytest.mark.django_db
def test_curate_runs_the_collection_pipeline_as_a_job(tmp_path, capsys):
    from curation.models import Collection, Document, PipelineConfig, PipelineRun
    from refinery.models import Job

    coll = Collection.objects.create(name="fin")
    for i, rec in enumerate(corpus(40)):
        Document.objects.create(collection=coll, record_index=i, text=rec["text"], content_hash=str(i))
    PipelineConfig.objects.create(collection=coll, name="light", steps=[{"step": "normalize", "options": {}},
                                                                       {"step": "exact_dedup", "options": {}}])
    call_command("curate", "--collection", "fin", "--config", "light", "--no-progress")
    run = PipelineRun.objects.get()
    assert run.status == "succeeded" and run.n_input == 40 and run.config_name == "light"
    assert Job.objects.get(pk=run.job_id).status == "succeeded"
    assert f"Run #{run.pk}: 40 records" in capsys.readouterr().out
    call_command("curate", "--collection", "fin", "--no-progress")  # creates and uses the 'default' config
    assert PipelineConfig.objects.filter(collection=coll, name="default").exists()
    with pytest.raises(CommandError, match="no pipeline named 'nope'.*light"):
        call_command("curate", "--collection", "fin", "--config", "nope")
    with pytest.raises(CommandError, match="No collection named 'zzz'"):
        call_command("curate", "--collection", "zzz")


@pytest.mark.parametrize("steps, sets, message", [
    ("normalize,glossary", ["glossary.terms_file=/nonexistent/terms.json"], "terms_file /nonexistent/terms.json does not exist"),
    ("normalize,quality", ["quality.classifier_path=/nonexistent/clf.joblib"], "classifier file /nonexistent/clf.joblib does not exist"),
    ("normalize,quality", ["quality.classifier_path={src}"], "is not a saved classifier"),
    # only found once the run is under way (the model is loaded when the step sets itself up)
    ("normalize,semantic_dedup", ["semantic_dedup.model=/nonexistent/model"], "model folder /nonexistent/model does not exist"),
])
def test_process_step_setup_errors_are_clear_exit_2_and_leave_no_part_files(tmp_path, steps, sets, message):
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    src = _write(tmp_path / "in.jsonl", [json.dumps(r) for r in corpus(20)])
    out, rej, rep = tmp_path / "o.jsonl", tmp_path / "r.jsonl", tmp_path / "rep.json"
    args = [a for s in sets for a in ("--set", s.format(src=src))]
    with pytest.raises(CommandError) as exc:
        call_command("process", "--steps", steps, *args, "--input", str(src), "--output", str(out),
                     "--rejected", str(rej), "--report", str(rep), "--no-progress")
    assert message in str(exc.value) and exc.value.returncode == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]  # no outputs, no .part files


def test_process_failure_midway_leaves_previous_outputs_and_no_part_files(tmp_path):
    src = _write(tmp_path / "in.jsonl", [json.dumps(r) for r in corpus(20)])
    out = tmp_path / "o.jsonl"
    out.write_text("previous run\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("process", "--steps", "normalize,exact_dedup,semantic_dedup", "--set", "semantic_dedup.model=/nope",
                     "--input", str(src), "--output", str(out), "--no-progress")
    assert out.read_text(encoding="utf-8") == "previous run\n"
    assert not list(tmp_path.glob("*.part"))


def test_process_reports_invalid_utf8_with_its_line_number_and_processes_the_rest(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": 1, "text": "first line ok"}).encode() + b"\n"
                    + b'{"id": 2, "text": "caf\xe9 latin-1"}\n'
                    + json.dumps({"id": 3, "text": "third line ok"}).encode() + b"\n")
    out, rep = tmp_path / "o.jsonl", tmp_path / "rep.json"
    call_command("process", "--steps", "normalize", "--input", str(src), "--output", str(out), "--report", str(rep),
                 "--no-progress")
    assert [r["id"] for r in _jsonl(out)] == [1, 3]
    report = json.loads(rep.read_text())
    assert report["errors"] == [{"line": 2, "error": "not valid UTF-8 (byte 0xe9 at byte 23 of the line)"}]


def test_process_command_line_prints_the_error_without_a_traceback_and_exits_2(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    src = _write(tmp_path / "in.jsonl", [json.dumps({"id": 1, "text": "hello there"})])
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.run([sys.executable, str(root / "manage.py"), "process", "--steps", "glossary",
                           "--set", "glossary.terms_file=/nonexistent/t.json", "--input", str(src),
                           "--output", str(tmp_path / "o.jsonl"), "--no-progress"],
                          capture_output=True, text=True, cwd=root, timeout=300)
    assert proc.returncode == 2
    assert "terms_file /nonexistent/t.json does not exist" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
