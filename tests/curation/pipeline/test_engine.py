"""Engine: ordering, barriers, rejection sink, stats, multiprocessing and bad input (toy steps)."""
from __future__ import annotations

import pytest

from curation.pipeline.engine import PipelineError, run_pipeline, segments_of

from .toysteps import Dedup, DieInWorker, Lower, MinWords

TEXTS = ["Hello World foo", "hello world FOO", "a b", "", "X Y Z W", "Über straße ÄÖÜ", "中文 文本 内容 测试"]


def records(n_copies: int = 3):
    return [{"id": str(i), "text": t, "keep_me": i} for i, t in enumerate(TEXTS * n_copies)]


def run(recs, steps, **kw):
    rejected = []
    result = run_pipeline(recs, steps, reject=lambda r, rej: rejected.append((r["id"], rej)), **kw)
    return result, rejected


def test_segments_cut_before_global_steps():
    lower, minw, dedup, lower2 = Lower(), MinWords(), Dedup(), Lower()
    assert segments_of([lower, minw, dedup, lower2]) == [[lower, minw], [dedup, lower2]]
    d1, d2 = Dedup(), Dedup()
    assert segments_of([d1, d2]) == [[d1], [d2]]


def test_streaming_and_global_steps_with_counts_reasons_and_duplicates():
    result, rejected = run(records(), [Lower(), MinWords(), Dedup()])
    kept = result.records
    assert [r["id"] for r in kept] == ["0", "4", "5", "6"]
    assert kept[0]["text"] == "hello world foo" and kept[0]["keep_me"] == 0  # mapped; other fields preserved
    by_id = {rid: rej for rid, rej in rejected}
    assert by_id["3"].reason == "empty" and by_id["3"].step == "t_lower"
    assert by_id["2"].reason == "too_short" and by_id["2"].step == "t_min_words"
    assert by_id["1"].reason == "duplicate" and by_id["1"].duplicate_of == "0"
    assert by_id["11"].duplicate_of == "4"
    steps = result.report()["steps"]
    assert [(s["step"], s["in"], s["out"], s["dropped"]) for s in steps] == [
        ("t_lower", 21, 18, 3), ("t_min_words", 18, 15, 3), ("t_dedup", 15, 4, 11)]
    assert steps[1]["reasons"] == {"too_short": 3} and steps[0]["counters"] == {"lowered": 18}
    assert (result.n_input, result.n_output, result.n_rejected) == (21, 4, 17)
    assert all(s["seconds"] >= 0 for s in steps)


def test_global_step_first_and_twice_in_a_row():
    result, rejected = run(records(), [Dedup(), Dedup(), MinWords()])
    assert [r["id"] for r in result.records] == ["0", "1", "4", "5", "6"]
    assert result.report()["steps"][1]["in"] == 7  # the second dedup only sees what the first kept


def test_output_callback_streams_instead_of_collecting():
    seen = []
    result, _ = run(records(), [Lower(), Dedup()], output=seen.append)
    assert result.records is None and len(seen) == result.n_output == 5


def test_multiprocessing_gives_the_same_result():
    local, local_rej = run(records(5), [Lower(), MinWords(), Dedup(), Lower()])
    multi, multi_rej = run(records(5), [Lower(), MinWords(), Dedup(), Lower()], processes=2, batch_size=4)
    assert multi.records == local.records
    assert sorted((i, r.reason, r.duplicate_of) for i, r in multi_rej) == sorted((i, r.reason, r.duplicate_of) for i, r in local_rej)
    assert [s.as_dict()["in"] for s in multi.steps] == [s.as_dict()["in"] for s in local.steps]
    assert multi.steps[0].counters == local.steps[0].counters


def test_a_worker_that_dies_fails_the_run_with_a_clear_error_instead_of_hanging():
    with pytest.raises(PipelineError, match="worker process died"):
        run(records(5), [Lower(), DieInWorker()], processes=2, batch_size=4)


def test_progress_is_reported_and_can_cancel_without_leaving_temp_files(tmp_path):
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    calls = []
    run(records(100), [Lower(), Dedup()], progress=lambda stage, done, total: calls.append((stage, done, total)),
        workdir=tmp_path)
    stages = [c[0] for c in calls]
    assert "Step 1/2: t_lower" in stages and "Fitting t_dedup" in stages and "Step 2/2: t_dedup" in stages
    assert ("Step 1/2: t_lower", 700, 700) in calls

    class Stop(Exception):
        pass

    def cancel(stage, done, total):
        if done >= 200:
            raise Stop()

    with pytest.raises(Stop):
        run(records(100), [Lower(), Dedup()], progress=cancel, workdir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # spill files removed


def test_messages_records_and_big_document():
    big = "word " * 2_000_000  # 10 MB
    recs = [{"id": "m", "messages": [{"role": "user", "content": "Hi THERE you"}, {"role": "assistant", "content": "OK Fine Then"}]},
            {"id": "big", "text": big}]
    result, rejected = run(recs, [Lower(), MinWords(), Dedup()])
    assert result.records[0]["messages"][1]["content"] == "ok fine then"
    assert len(result.records[1]["text"]) == len(big) and not rejected


def test_bad_executor_and_empty_pipeline():
    with pytest.raises(PipelineError, match="Valid executors: local, ray"):
        run_pipeline([], [Lower()], executor="spark")
    with pytest.raises(PipelineError, match="no steps"):
        run_pipeline([], [])
    result = run_pipeline([], [Lower(), Dedup()])
    assert result.records == [] and result.n_input == 0


# ---------------------------------------------------------------- duplicate_of always names a kept record
EN = ("Refinery takes a team from raw domain documents to a LoRA adapter. Curators ingest files, clean them, "
      "remove duplicates and personal data, then build instruction samples that annotators review before a dataset "
      "version is exported and a small model is trained on it. Every step records why it dropped a document so the "
      "curator can check the decision and change the settings when a rule is too strict for the domain.")


@pytest.mark.parametrize("processes", [1, 2])
def test_duplicate_chains_resolve_to_the_kept_record(processes):
    from curation.pipeline.base import build_step

    near_copy = EN.replace("strict", "strikt").replace("Curators ingest", "Curators  ingest,")
    recs = [{"id": "B", "text": EN}, {"id": "A", "text": near_copy}, {"id": "A2", "text": near_copy.upper()},
            {"id": "C", "text": "Something else entirely, about the weather in the mountains in spring."}]
    result, rejected = run(recs, [build_step("exact_dedup"), build_step("near_dedup")], processes=processes, batch_size=2)
    kept_ids = [r["id"] for r in result.records]
    assert kept_ids == ["B", "C"]
    by_id = {rid: rej for rid, rej in rejected}
    assert by_id["A"].step == "near_dedup" and by_id["A"].duplicate_of == "B"
    # A2 is an exact copy of A; A was then dropped as a near copy of B → A2 points at B, the direct link is kept
    assert by_id["A2"].step == "exact_dedup" and by_id["A2"].duplicate_of == "B"
    assert by_id["A2"].details["duplicate_of_direct"] == "A"
    assert all(rej.duplicate_of in kept_ids for rej in by_id.values())


def test_duplicate_of_a_record_a_later_filter_dropped_says_so():
    from .toysteps import DropIds

    recs = [{"id": "a", "text": "same words here"}, {"id": "b", "text": "same words here"}, {"id": "c", "text": "other words now"}]
    result, rejected = run(recs, [Dedup(), DropIds(ids=["a"])])
    assert [r["id"] for r in result.records] == ["c"]
    by_id = {rid: rej for rid, rej in rejected}
    assert by_id["b"].duplicate_of == "a"  # no kept record in its group: the direct one, flagged
    assert by_id["b"].details["duplicate_of_dropped"] == {"id": "a", "step": "t_drop_ids", "reason": "listed"}


def test_repeated_ids_through_the_engine_keep_every_distinct_record():
    from curation.pipeline.base import build_step

    recs = [{"id": "x", "text": "alpha beta gamma delta"}, {"id": "y", "text": "epsilon zeta eta theta"},
            {"id": "x", "text": "Epsilon zeta eta theta!"}, {"id": "x", "text": "iota kappa lambda mu"}]
    for processes in (1, 2):
        result, rejected = run([dict(r) for r in recs], [Lower(), build_step("exact_dedup"), Lower()],
                               processes=processes, batch_size=1)
        assert [r["text"] for r in result.records] == ["alpha beta gamma delta", "epsilon zeta eta theta",
                                                       "iota kappa lambda mu"]
        assert [(rid, rej.duplicate_of) for rid, rej in rejected] == [("x", "y")]


def test_global_steps_are_fitted_while_the_stream_is_spilled_with_their_own_time(tmp_path):
    import time as _time

    from curation.pipeline.base import Mapper

    class Slow(Mapper):
        name = "t_slow"

        def map(self, record):
            _time.sleep(0.002)
            return record

    result, _ = run(records(10), [Slow(), Dedup()])
    slow, dedup = result.steps
    assert slow.seconds >= 0.002 * 70 * 0.9
    assert dedup.seconds < slow.seconds / 4  # the upstream step's time is not counted as the fit's
