"""Back-translation end to end with the seq2seq backend (a tiny Marian model built from a config): the
service, the job's live statistics, ``manage.py augment`` and ``process --steps backtranslate`` — parent
links, method, acceptance statistics, protected spans, and held-out samples never touched."""
from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from curation.augment.selectors import augment_figures
from curation.augment.services import JOB_KIND, samples_augment
from curation.models import Sample
from refinery.jobs import JobContext, job_create
from refinery.models import Job
from tests.conftest import api_client_for

from .conftest import make_sample

WIDE_BAND = [0.0, 0.99]  # random-weight outputs are far from the input: only the copy side of the band gates


@pytest.fixture
def bt_samples(collection, samples):
    """The shared samples (each of the three trainable ones holds a protected span) plus two without any."""
    clean = [
        make_sample(collection, [{"role": "user", "content": "我的信用卡被扣了年费,能退吗?"},
                                 {"role": "assistant", "content": "可以申请退还。"}], split="train", language="zh"),
        make_sample(collection, [{"role": "user", "content": "How do I close my savings account?"},
                                 {"role": "assistant", "content": "Visit a branch."}], language="en"),
    ]
    return {**samples, "clean": clean}


def _snapshot(rows):
    for s in rows:
        s.refresh_from_db()
    return [(s.pk, s.messages, s.split, s.entities, s.meta) for s in rows]


def test_service_backtranslates_with_seq2seq_and_links_parents(collection, bt_samples, tiny_marian, curator):
    held_before = _snapshot(bt_samples["held"])
    stats = samples_augment(collection=collection, methods=["backtranslate"], ratio=1.0, user=curator,
                            options={"backtranslate": {"backend": f"seq2seq:{tiny_marian}", "band": WIDE_BAND}})
    s = stats["methods"]["backtranslate"]
    assert stats["eligible"] == 5 and stats["held_out_skipped"] == 2
    # 5000 dollars, 300元 and [PERSON_1] do not survive a random model: those three are rejected
    assert (s["attempted"], s["accepted"], s["new_samples"]) == (5, 2, 2)
    assert s["rejected"] == {"protected span lost": 3} and s["acceptance_rate"] == 0.4
    assert s["band"] == WIDE_BAND and len(s["similarities"]) == 2
    children = list(Sample.objects.filter(origin=Sample.Origin.AUGMENTED).order_by("parent_id"))
    assert [c.parent_id for c in children] == [p.pk for p in bt_samples["clean"]]
    for child in children:
        parent = child.parent
        assert child.method == "backtranslate" and child.meta["augment"]["method"] == "backtranslate"
        assert child.meta["augment"]["backend"] == "seq2seq/*=tiny-marian"
        assert child.meta["augment"]["pivot_language"] == {"zh": "en", "en": "zh"}[parent.language]
        assert 0.0 <= child.meta["augment"]["similarity"] < 0.99
        assert child.messages[0]["content"] != parent.messages[0]["content"]
        assert child.messages[1] == parent.messages[1]  # only the user turn is translated by default
        assert child.split == parent.split and child.split not in ("validation", "test")
    assert _snapshot(bt_samples["held"]) == held_before
    assert not Sample.objects.filter(parent__in=bt_samples["held"]).exists()
    # the page's similarity histogram shades the band this run gated with, not the default one
    band = augment_figures(job=Job(result=stats))["similarity"]["layout"]["shapes"][0]
    assert (band["x0"], band["x1"]) == tuple(WIDE_BAND)
    # The default band keeps none of the random model's drifted outputs, and says so.
    again = samples_augment(collection=collection, methods=["backtranslate"], ratio=1.0,
                            options={"backtranslate": {"backend": f"seq2seq:{tiny_marian}"}})
    assert again["methods"]["backtranslate"]["rejected"] == {"protected span lost": 3, "drift": 2}
    assert again["new_samples"] == 0


def test_running_job_publishes_acceptance_so_far(collection, bt_samples, tiny_marian, curator):
    job = job_create(kind=JOB_KIND, title="bt", params={}, user=curator, target=collection)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    job.refresh_from_db()
    samples_augment(collection=collection, methods=["backtranslate", "perturb"], ratio=1.0, ctx=JobContext(job),
                    options={"backtranslate": {"backend": f"seq2seq:{tiny_marian}", "band": WIDE_BAND}})
    job.refresh_from_db()  # still running: the result holds the statistics so far
    assert job.status == Job.Status.RUNNING and job.result["live"] is True
    assert job.result["methods"]["backtranslate"]["accepted"] == 2
    assert job.result["methods"]["perturb"]["attempted"] == 5
    assert "similarities" not in job.result["methods"]["backtranslate"]
    assert job.stage.startswith("Augmenting: perturb") and "accepted" in job.stage
    api = api_client_for(curator)
    run = api.get(f"/api/augment-runs/{job.pk}/").json()
    assert {a["method"]: a["accepted"] for a in run["acceptance"]}["backtranslate"] == 2
    assert all(Sample.objects.get(pk=r["id"]).meta["augment"]["job"] == job.pk
               for r in api.get(f"/api/augment-runs/{job.pk}/samples/").json()["results"])


def test_augment_cli_backtranslate_with_seq2seq_backend(collection, bt_samples, tiny_marian, capsys):
    call_command("augment", "--collection", "bank", "--methods", "backtranslate", "--ratio", "1",
                 "--backend", f"seq2seq:{tiny_marian}", "--band", "0,0.99", "--no-progress")
    out = capsys.readouterr().out
    assert "2 held-out samples never touched" in out
    assert "backtranslate  accepted 2/5 (40%), 2 new samples" in out and "'protected span lost': 3" in out
    children = Sample.objects.filter(method="backtranslate")
    assert sorted(children.values_list("parent_id", flat=True)) == sorted(p.pk for p in bt_samples["clean"])
    assert not children.filter(parent__split__in=("validation", "test")).exists()
    with pytest.raises(CommandError, match="band"):
        call_command("augment", "--collection", "bank", "--methods", "backtranslate", "--backend",
                     f"seq2seq:{tiny_marian}", "--band", "0.9,0.2", "--no-progress")
    with pytest.raises(CommandError, match="No seq2seq model folder"):
        call_command("augment", "--collection", "bank", "--methods", "backtranslate", "--ratio", "1",
                     "--backend", f"seq2seq:{tiny_marian}-missing", "--no-progress")
    assert Sample.objects.filter(method="backtranslate").count() == 2  # the failed runs wrote nothing


def _process(tmp_path, records, *sets):
    src, out, report = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "report.json"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    args = ["process", "--steps", "backtranslate", "--input", str(src), "--output", str(out), "--report",
            str(report), "--no-progress"]
    for s in sets:
        args += ["--set", s]
    call_command(*args)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    step = next(s for s in json.loads(report.read_text())["steps"] if s["step"] == "backtranslate")
    return rows, step


RECORDS = [
    {"id": "z1", "text": "我的信用卡被扣了年费,能退吗?", "language": "zh"},
    {"id": "e1", "messages": [{"role": "user", "content": "How do I close my savings account?"},
                              {"role": "assistant", "content": "Visit a branch."}]},
    {"id": "e2", "text": "Please refund the 300 dollars charged to [PERSON_1]."},
    {"id": "v1", "text": "我想查询一下我的账户余额。", "split": "validation"},
    {"id": "t1", "text": "How can I reset my password?", "split": "test"},
]


def test_process_step_backtranslates_records(tmp_path, tiny_marian):
    rows, step = _process(tmp_path, RECORDS, f"backtranslate.backend=seq2seq:{tiny_marian}",
                          "backtranslate.band_low=0", "backtranslate.band_high=0.99")
    assert [r["id"] for r in rows if "parent_id" not in r] == ["z1", "e1", "e2", "v1", "t1"]
    children = {r["parent_id"]: r for r in rows if "parent_id" in r}
    assert set(children) == {"z1", "e1"}  # e2 lost its protected spans; v1/t1 are held out
    z1 = children["z1"]
    assert z1["id"] == "z1~backtranslate1" and z1["method"] == "backtranslate" and z1["origin"] == "augmented"
    assert z1["text"] != RECORDS[0]["text"] and z1["augment"]["pivot_language"] == "en"
    assert children["e1"]["messages"][1] == RECORDS[1]["messages"][1]
    assert step["counters"]["accepted"] == 2 and step["counters"]["rejected:protected span lost"] == 1
    assert step["counters"]["new_records"] == 2


def test_process_step_protects_glossary_terms(tmp_path, tiny_marian):
    terms = tmp_path / "terms.json"
    terms.write_text(json.dumps([{"canonical": "信用卡"}, {"canonical": "savings account"}], ensure_ascii=False),
                     encoding="utf-8")
    rows, step = _process(tmp_path, RECORDS[:2], f"backtranslate.backend=seq2seq:{tiny_marian}",
                          "backtranslate.band_low=0", "backtranslate.band_high=0.99",
                          f"backtranslate.terms_file={terms}")
    assert not [r for r in rows if "parent_id" in r]  # both records hold a glossary term the model lost
    assert step["counters"]["rejected:protected span lost"] == 2
    with pytest.raises(CommandError, match="backtranslate: glossary: terms_file .* does not exist"):
        _process(tmp_path, RECORDS[:1], f"backtranslate.terms_file={tmp_path / 'nope.json'}")
