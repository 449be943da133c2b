"""Job handlers for training runs, adapter merges and layer importance (registered via training/tasks.py)."""
from __future__ import annotations

from refinery.jobs import JobContext, JobError, job_handler

from .models.runs import Adapter, LayerImportance, TrainingRun

LAYER_IMPORTANCE_SAMPLES = 16
LAYER_IMPORTANCE_SEQ_LEN = 256


@job_handler("training.run")
def training_run_job(ctx: JobContext, *, run_id: int) -> dict:
    from .services.runs import run_execute

    run = TrainingRun.objects.select_related("dataset_version__collection").get(pk=run_id)
    ctx.progress(0, run.total_steps or None, stage="Starting the trainer", force=True)
    return run_execute(run=run, ctx=ctx)


@job_handler("training.adapter_merge")
def adapter_merge_job(ctx: JobContext, *, adapter_id: int) -> dict:
    from .services.runs import RunError, adapter_merge

    adapter = Adapter.objects.get(pk=adapter_id)
    ctx.progress(0, 1, stage="Merging adapter into the base model (CPU)", force=True)
    try:
        path = adapter_merge(adapter=adapter)
    except RunError as exc:
        raise JobError(str(exc)) from None
    ctx.progress(1, 1, force=True)
    return {"merged_path": str(path)}


@job_handler("training.layer_importance")
def layer_importance_job(ctx: JobContext, *, report_id: int) -> dict:
    from .basemodels import base_model_resolve
    from .trainer.data import DataError, encode_file
    from .trainer.importance import layer_scores, suggest_layers
    from .trainer.modeling import load_model, load_tokenizer

    report = LayerImportance.objects.select_related("dataset_version").get(pk=report_id)
    ctx.progress(0, None, stage="Loading the base model", force=True)
    base = base_model_resolve(report.base_model)
    tok, _ = load_tokenizer(base)
    try:
        examples = encode_file(tok, report.dataset_version.split_file("train"), LAYER_IMPORTANCE_SEQ_LEN,
                               strict=False, limit=LAYER_IMPORTANCE_SAMPLES)
    except DataError as exc:
        raise JobError(str(exc)) from None
    if not examples:
        raise JobError("The train split has no samples with assistant tokens.")
    model = load_model(base)
    scores = layer_scores(model, examples, max_seq_len=LAYER_IMPORTANCE_SEQ_LEN, pad_id=tok.pad_token_id,
                          progress=lambda d, t: ctx.progress(d, t, stage="Back-propagating samples"))
    report.scores = scores
    report.suggested_layers = suggest_layers(scores)
    report.n_samples = len(examples)
    report.save(update_fields=["scores", "suggested_layers", "n_samples"])
    return {"report_id": report.pk, "suggested_layers": report.suggested_layers}


@job_handler("training.adapters_compare")
def adapters_compare_job(ctx: JobContext, *, comparison_id: int) -> dict:
    from .models.runs import AdapterComparison
    from .services.compare import comparison_execute
    from .services.runs import RunError

    comparison = AdapterComparison.objects.get(pk=comparison_id)
    try:
        return comparison_execute(comparison=comparison, ctx=ctx)
    except RunError as exc:
        raise JobError(str(exc)) from None
