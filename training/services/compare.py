"""Adapter comparison on one common evaluation set ("did curation help?", measured fairly).

Each run's own before/after numbers come from its own dataset version's test split, so two versions of a
collection are scored on different samples. An :class:`AdapterComparison` scores several adapters (and
their base models, as the reference) on the *same* messages file — the test (or validation) split of one
chosen dataset version, or an uploaded messages JSONL — in one job (``training.adapters_compare``).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction

from refinery.jobs import job_start

from ..models.datasets import DatasetVersion
from ..models.runs import Adapter, AdapterComparison
from .runs import RunError

COMPARE_SPLITS = ("test", "validation")
COMPARE_MAX_SAMPLES = 200        # loss / perplexity on at most this many samples
COMPARE_GENERATE_DEFAULT = 16    # BLEU / ROUGE-L / EM / F1 on this many generated answers
COMPARE_MAX_NEW_TOKENS = 64
COMPARE_MAX_SEQ_LEN = 1024
UPLOAD_MAX_BYTES = 20 * 2**20


def comparison_start(*, collection, adapters: list[Adapter], dataset_version: DatasetVersion | None = None,
                     split: str = "test", upload=None, generate_samples: int = COMPARE_GENERATE_DEFAULT,
                     max_new_tokens: int = COMPARE_MAX_NEW_TOKENS, user=None) -> AdapterComparison:
    """Check the choice, store the evaluation file, queue the scoring job. Raises RunError saying what is wrong."""
    from ..trainer.data import DataError, read_messages_jsonl

    adapters = list(adapters)
    if not adapters:
        raise RunError("Pick at least one adapter to score.")
    wrong = [str(a) for a in adapters if a.collection_id != collection.pk]
    if wrong:
        raise RunError(f"Not adapters of {collection.name}: {', '.join(wrong)}")
    gone = [str(a) for a in adapters if a.status != Adapter.Status.READY]
    if gone:
        raise RunError(f"Archived adapters have no files to score: {', '.join(gone)}")
    if not 0 <= generate_samples <= 1000:
        raise RunError("generate_samples: a number from 0 to 1000")
    if not 1 <= max_new_tokens <= 1024:
        raise RunError("max_new_tokens: a number from 1 to 1024")
    if (dataset_version is None) == (upload is None):
        raise RunError("Choose either a dataset version's split or an uploaded file as the evaluation set.")
    if dataset_version is not None:
        if split not in COMPARE_SPLITS:
            raise RunError(f"split: one of {', '.join(COMPARE_SPLITS)}")
        if dataset_version.status != DatasetVersion.Status.READY:
            raise RunError(f"{dataset_version} is not ready.")
        src = dataset_version.split_file(split)
        if not src.exists():
            raise RunError(f"{dataset_version} has no {split} split file.")
        data = src.read_bytes()
        source = f"{dataset_version} {split} split"
        name = f"{split}.jsonl"
    else:
        data = upload.read(UPLOAD_MAX_BYTES + 1)
        if len(data) > UPLOAD_MAX_BYTES:
            raise RunError(f"{upload.name}: larger than {UPLOAD_MAX_BYTES // 2**20} MiB.")
        source = f"uploaded {upload.name}"
        name = "eval.jsonl"
    # Validate before anything is written: line by line, the trainer's own reader.
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as fh:
        fh.write(data)
        probe = Path(fh.name)
    try:
        records = read_messages_jsonl(probe)
    except (DataError, UnicodeDecodeError) as exc:
        raise RunError(f"{source}: {exc}") from None
    finally:
        probe.unlink(missing_ok=True)
    if not records:
        raise RunError(f"{source}: no samples to score.")
    with transaction.atomic():
        comparison = AdapterComparison.objects.create(
            collection=collection, adapter_ids=[a.pk for a in adapters], dataset_version=dataset_version,
            split=split if dataset_version is not None else "", source=source, n_samples=len(records),
            generate_samples=generate_samples, max_new_tokens=max_new_tokens, path="",
            created_by=user if getattr(user, "is_authenticated", False) else None)
        rel = Path("comparisons") / f"c{comparison.pk}" / name
        dest = Path(settings.DATA_DIR) / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)
        comparison.path = str(rel)
        comparison.save(update_fields=["path"])
        job = job_start(kind="training.adapters_compare", title=f"Score {len(adapters)} adapter(s) on {source}",
                        params={"comparison_id": comparison.pk}, user=user, target=comparison)
        AdapterComparison.objects.filter(pk=comparison.pk).update(job=job)
    comparison.refresh_from_db()
    return comparison


def comparison_execute(*, comparison: AdapterComparison, ctx=None) -> dict:
    """Score each base model once (the reference) and each adapter on the comparison's file."""
    import torch

    from ..serving import model_load
    from ..trainer.data import encode_file, read_messages_jsonl
    from ..trainer.modeling import LossModule, causal_lm_of, evaluate_split

    adapters = list(Adapter.objects.filter(pk__in=comparison.adapter_ids).order_by("number"))
    missing = set(comparison.adapter_ids) - {a.pk for a in adapters}
    if missing:
        raise RunError(f"Adapters deleted since the comparison was queued: {sorted(missing)}")
    records = read_messages_jsonl(comparison.file)
    bases = sorted({a.base_model for a in adapters})
    targets: list[tuple[str, str, Adapter | None]] = [(f"base:{b}", b, None) for b in bases]
    targets += [(str(a.pk), a.base_model, a) for a in adapters]
    results: dict[str, dict] = {}
    for i, (key, base_name, adapter) in enumerate(targets):
        if ctx is not None:
            ctx.progress(i, len(targets), stage=f"Scoring {adapter or base_name}", force=True)
        model, tok = model_load(base_name, adapter)
        # one sequence length for every model: each is scored on exactly the same tokens
        examples = encode_file(tok, comparison.file, COMPARE_MAX_SEQ_LEN, strict=False, limit=COMPARE_MAX_SAMPLES)
        loss_module = LossModule(causal_lm_of(model)).eval()
        metrics = evaluate_split(model, loss_module, tok, examples, records, max_seq_len=COMPARE_MAX_SEQ_LEN, batch_size=4,
                                 generate_n=comparison.generate_samples, max_new_tokens=comparison.max_new_tokens)
        metrics["label"] = str(adapter) if adapter is not None else f"base {base_name}"
        results[key] = metrics
        del model, loss_module
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    AdapterComparison.objects.filter(pk=comparison.pk).update(results=results)
    if ctx is not None:
        ctx.progress(len(targets), len(targets), force=True)
    return {"comparison_id": comparison.pk, "scored": len(targets)}
