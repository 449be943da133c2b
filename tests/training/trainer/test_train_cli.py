"""A real 30-step LoRA run of the bundled SmolLM2 on CPU through `manage.py train`."""
import json

import pytest
from django.core.management import call_command

from training.models import Adapter, TrainingRun

from .conftest import FAST


@pytest.mark.slow
@pytest.mark.django_db
def test_train_cli_30_steps_validation_loss_falls(version, tmp_path):
    summary_path = tmp_path / "summary.json"
    call_command("train", "--dataset-version", "latest", "--max-steps", "30", *FAST,
                 "--json-summary", str(summary_path), "--no-progress")
    summary = json.loads(summary_path.read_text())
    assert summary["status"] == "succeeded"
    assert summary["eval_after"]["loss"] < summary["eval_before"]["loss"] * 0.7
    # scored on the test split (never used to pick the checkpoint); validation drove the best checkpoint
    assert summary["eval_before"]["split"] == summary["eval_after"]["split"] == "test"
    assert summary["eval_after"]["samples"] == version.n_test
    assert summary["tokens_per_second"] > 0
    run = TrainingRun.objects.get()
    assert run.steps_done == 30 and run.exit_code == 0
    adapter = Adapter.objects.get(run=run)
    assert summary["adapter_path"] == str(adapter.folder)
    assert (adapter.folder / "adapter_config.json").exists()
    assert adapter.lineage["dataset_version_id"] == version.pk
    # the JSON-lines log has every step with loss, lr, grad norm, tokens/s and ETA
    events = [json.loads(line) for line in (run.folder / "log.jsonl").read_text().splitlines()]
    steps = [e for e in events if e["event"] == "train"]
    assert [e["step"] for e in steps] == list(range(1, 31))
    assert all({"loss", "lr", "grad_norm", "tokens_per_s", "eta_s"} <= set(e) for e in steps)
    for key in ("bleu", "rouge_l", "exact_match", "token_f1", "perplexity"):
        assert key in summary["eval_after"]
