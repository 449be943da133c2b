"""Training run, adapter registry, feedback and evaluation services (writes).

A run is launched by the job ``training.run`` (``training/tasks.py``): :func:`run_execute` starts the
trainer subprocess (``python -m training.trainer --config RUN_DIR/config.json``, or ``accelerate launch``
when ``TRAIN_LAUNCHER=accelerate``), follows its JSON-lines log into the job's progress, forwards a job
cancel as SIGTERM (the trainer stops cleanly with a checkpoint) and, on success, registers the adapter.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from refinery.jobs import JobCancelled, JobError, job_cancel, job_start
from refinery.models import Job, audit_log

from ..basemodels import BUNDLED_NAME, BaseModelError, base_model_resolve
from ..models.datasets import DatasetVersion
from ..models.runs import Adapter, HumanEvaluation, PlaygroundFeedback, TrainingRun
from ..trainer.config import DEFAULTS, USER_FIELDS, ConfigError, config_validate
from ..trainer.loop import EXIT_OK

ADAPTER_KEEP = 3          # unpromoted adapters per collection that keep their files
POLL_SECONDS = 1.0
STOP_GRACE_SECONDS = 180  # after SIGTERM, wait this long for the checkpoint before SIGKILL
LOG_TAIL_LINES = 40

# Settings a quick-start run uses on top of the trainer defaults (kept small: CPU-friendly).
QUICKSTART_OVERRIDES: dict = {"max_steps": 30, "max_seq_len": 512, "eval_generate_samples": 4}


class RunError(Exception):
    """A user-facing problem starting or managing a run (bad config, unknown base model …)."""


def run_user_config(config: dict | None) -> dict:
    """The user-editable part of a config with defaults filled in, validated (raises RunError)."""
    merged = {k: DEFAULTS[k] for k in USER_FIELDS}
    for k, v in (config or {}).items():
        if k == "lora" and isinstance(v, dict):
            merged["lora"] = {**DEFAULTS["lora"], **v}
        else:
            merged[k] = v
    try:
        cfg = config_validate(merged)
    except ConfigError as exc:
        raise RunError(str(exc)) from None
    full = cfg.to_dict()
    return {k: full[k] for k in USER_FIELDS}


def _write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    os.replace(tmp, path)


def run_trainer_config(run: TrainingRun, *, resume: bool = False) -> dict:
    """The full config the subprocess reads: user settings + resolved paths."""
    version = run.dataset_version
    try:
        base = base_model_resolve(run.base_model)
    except BaseModelError as exc:
        raise RunError(str(exc)) from None
    return {**run.config, "base_model": str(base), "train_file": str(version.split_file("train")),
            "validation_file": str(version.split_file("validation")), "test_file": str(version.split_file("test")),
            "output_dir": str(run.folder), "cache_dir": str(Path(settings.DATA_DIR) / "cache" / "tokenized"),
            "resume": resume}


def run_create(*, dataset_version: DatasetVersion, user=None, base_model: str = BUNDLED_NAME,
               config: dict | None = None) -> TrainingRun:
    """Validate settings, create the run row and its folder with ``config.json`` (nothing is started)."""
    if dataset_version.status != DatasetVersion.Status.READY:
        raise RunError(f"Dataset version {dataset_version} is not ready (status {dataset_version.status}).")
    if not dataset_version.split_file("train").exists():
        raise RunError(f"Dataset version {dataset_version} has no train file at {dataset_version.split_file('train')}.")
    user_cfg = run_user_config(config)
    try:
        base_model_resolve(base_model or BUNDLED_NAME)
    except BaseModelError as exc:
        raise RunError(str(exc)) from None
    with transaction.atomic():
        run = TrainingRun(dataset_version=dataset_version, base_model=base_model or BUNDLED_NAME, config=user_cfg)
        if user is not None and getattr(user, "is_authenticated", False):
            run.created_by = user
        run.save()
        run.run_dir = str(Path(settings.RUNS_DIR).relative_to(settings.DATA_DIR) / f"run-{run.pk}")
        run.save(update_fields=["run_dir"])
        run.folder.mkdir(parents=True, exist_ok=True)
        _write_json_atomic(run.folder / "config.json", run_trainer_config(run))
    return run


def run_start(*, run: TrainingRun, user=None, resume: bool = False) -> Job:
    """Queue the run's job (the worker launches the subprocess)."""
    if resume:
        _write_json_atomic(run.folder / "config.json", run_trainer_config(run, resume=True))
    with transaction.atomic():  # the run points at its job before the job is queued (a cancel can find it)
        TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.QUEUED, error="", exit_code=None)
        job = job_start(kind="training.run", title=f"Train run #{run.pk} on {run.dataset_version}",
                        params={"run_id": run.pk}, user=user, target=run)
        TrainingRun.objects.filter(pk=run.pk).update(job=job)
    # (with an immediate task backend the job has already run here)
    run.refresh_from_db()
    job.refresh_from_db()
    return job


def run_quickstart(*, dataset_version: DatasetVersion, user=None) -> TrainingRun:
    """One click: a run with the defaults on the bundled base, started at once."""
    overrides = getattr(settings, "TRAINING_QUICKSTART", None) or QUICKSTART_OVERRIDES
    run = run_create(dataset_version=dataset_version, user=user, base_model=BUNDLED_NAME, config=dict(overrides))
    run_start(run=run, user=user)
    return run


def run_resume(*, run: TrainingRun, user=None) -> Job:
    if run.is_active:
        raise RunError("The run is still active.")
    if not list((run.folder / "checkpoints").glob("step-*")):
        raise RunError("The run has no checkpoint to resume from.")
    TrainingRun.objects.filter(pk=run.pk).update(resume_count=run.resume_count + 1)
    return run_start(run=run, user=user, resume=True)


def run_cancel(*, run: TrainingRun) -> None:
    if run.job_id:
        job_cancel(job=run.job)
    TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.QUEUED).update(
        status=TrainingRun.Status.CANCELLED, finished_at=timezone.now())


def _launch_command(config_path: Path) -> list[str]:
    launcher = getattr(settings, "TRAIN_LAUNCHER", "python")
    if launcher == "accelerate":
        return [sys.executable, "-m", "accelerate.commands.launch", "-m", "training.trainer", "--config", str(config_path)]
    return [sys.executable, "-m", "training.trainer", "--config", str(config_path)]


def read_log(path: Path, offset: int = 0) -> tuple[list[dict], int]:
    """Complete JSON lines of a run log from byte ``offset`` on, and the new offset."""
    if not path.exists():
        return [], offset
    with path.open("rb") as fh:
        fh.seek(offset)
        data = fh.read()
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    events = []
    for line in data[: end + 1].splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events, offset + end + 1


def _tail(path: Path, n: int = LOG_TAIL_LINES) -> str:
    if not path.exists():
        return ""
    lines = path.read_text(errors="replace").splitlines()
    return "\n".join(lines[-n:])


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group. Reads /proc on Linux; elsewhere asks the kernel."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for d in proc.iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) ": state ppid pgrp …
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            members.append(int(d.name))
    return members


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_trainer(proc: subprocess.Popen, grace: float) -> bool:
    """SIGTERM to the trainer's whole process group (the launcher — ``accelerate launch`` or torchrun —
    and every rank it started), then wait until none of them is left; SIGKILL the group after ``grace``
    seconds. Returns True when it had to kill."""
    pgid = proc.pid  # started with start_new_session: its own session and process group
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        proc.poll()  # reap the launcher as soon as it exits, so it does not count as alive
        if not _group_members(pgid):
            proc.wait()
            return False
        time.sleep(0.2)
    _signal_group(pgid, signal.SIGKILL)
    proc.wait()
    kill_deadline = time.monotonic() + 10
    while _group_members(pgid) and time.monotonic() < kill_deadline:
        time.sleep(0.1)
    return True


def run_execute(*, run: TrainingRun, ctx=None) -> dict:
    """Launch the trainer subprocess and follow it to the end (called by the job handler)."""
    folder = run.folder
    config_path = folder / "config.json"
    result_path = folder / "result.json"
    result_path.unlink(missing_ok=True)
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.RUNNING, started_at=timezone.now(),
                                                 finished_at=None, error="", log_tail="")
    out_log = folder / "stdout.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
    with out_log.open("ab") as out:
        proc = subprocess.Popen(_launch_command(config_path), cwd=settings.BASE_DIR, stdout=out,
                                stderr=subprocess.STDOUT, env=env, start_new_session=True)
    offset, cancelled = 0, False
    grace = float(getattr(settings, "TRAIN_STOP_GRACE_SECONDS", STOP_GRACE_SECONDS))

    def report(fn, *args, **kwargs) -> None:
        """Job progress/log calls raise JobCancelled on a cancel request: turn that into a stop."""
        nonlocal cancelled
        if ctx is None:
            return
        try:
            fn(*args, **kwargs)
        except JobCancelled:
            cancelled = True

    def follow() -> None:
        nonlocal offset
        events, offset = read_log(folder / "log.jsonl", offset)
        for ev in events:
            kind = ev.get("event")
            if kind == "train":
                TrainingRun.objects.filter(pk=run.pk).update(steps_done=ev["step"], total_steps=ev["total_steps"])
                report(getattr(ctx, "progress", None), ev["step"], ev["total_steps"], stage="Training")
            elif kind == "start":
                TrainingRun.objects.filter(pk=run.pk).update(total_steps=ev["total_steps"])
                report(getattr(ctx, "log", None), f"Training {ev['total_steps']} steps on {ev['train_samples']} "
                       f"samples ({ev['trainable_params']:,} trainable parameters, {ev['device']})")
            elif kind in ("eval_before", "eval_after") and ev.get("loss") is not None:
                report(getattr(ctx, "log", None), f"{kind.replace('_', ' ')} ({ev.get('split', 'validation')}): "
                       f"loss {ev['loss']:.4f}")
            elif kind in ("warning", "error", "resume", "early_stop"):
                report(getattr(ctx, "log", None), f"{kind}: {ev.get('message') or ev.get('step')}",
                       level="warning" if kind in ("warning", "error") else "info")

    killed = False
    try:
        while True:
            code = proc.poll()
            follow()
            if code is not None:
                break
            if ctx is not None and not cancelled and ctx.cancel_requested:
                cancelled = True
            if cancelled:
                killed = _stop_trainer(proc, grace)
                break
            time.sleep(POLL_SECONDS)
        if proc.returncode is not None and _group_members(proc.pid):
            # the launcher is gone but a rank is still alive (e.g. a launcher that died on its own): no orphans
            killed = _stop_trainer(proc, grace) or killed
        follow()
    except BaseException as exc:
        if proc.poll() is None or _group_members(proc.pid):  # the worker is going down: leave no orphan trainer
            _stop_trainer(proc, grace)
        TrainingRun.objects.filter(pk=run.pk).update(
            status=TrainingRun.Status.FAILED, finished_at=timezone.now(), exit_code=proc.poll(),
            error=f"The watcher stopped: {type(exc).__name__}: {exc}", log_tail=_tail(out_log))
        raise
    return run_finish(run=run, exit_code=proc.returncode, cancelled=cancelled, killed=killed)


def run_finish(*, run: TrainingRun, exit_code: int, cancelled: bool = False, killed: bool = False) -> dict:
    """Record the outcome from ``result.json`` / the exit code; register the adapter on success.

    A cancelled run whose trainer wrote its "stopped" result (checkpoint saved) is a clean stop even when
    the launcher in front of it (``accelerate launch``) died of the same SIGTERM with a non-zero code."""
    folder = run.folder
    result = {}
    if (folder / "result.json").exists():
        result = json.loads((folder / "result.json").read_text())
    fields = {"exit_code": exit_code, "finished_at": timezone.now(),
              "eval_before": result.get("eval_before") or {}, "eval_after": result.get("eval_after") or {}}
    if result.get("tokens_per_second"):
        fields["tokens_per_second"] = result["tokens_per_second"]
    if result.get("step"):
        fields["steps_done"] = result["step"]
    if exit_code == EXIT_OK and result.get("status") in ("completed", "early_stopped"):
        with transaction.atomic():
            TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.SUCCEEDED, **fields)
            run.refresh_from_db()
            adapter = adapter_register(run=run, result=result)
        return {"run_id": run.pk, "adapter_id": adapter.pk, "status": result["status"],
                "eval_before_loss": (result.get("eval_before") or {}).get("loss"),
                "eval_after_loss": (result.get("eval_after") or {}).get("loss")}
    if result.get("status") == "stopped" and (exit_code == EXIT_OK or (cancelled and not killed)):
        TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.CANCELLED, **fields)
        if cancelled:
            raise JobCancelled()
        return {"run_id": run.pk, "status": "stopped"}
    if cancelled:  # stopped on request but not cleanly (e.g. killed after the grace period)
        grace = getattr(settings, "TRAIN_STOP_GRACE_SECONDS", STOP_GRACE_SECONDS)
        note = (f"\n[refinery] no clean stop within {grace} s of SIGTERM: the trainer's process group "
                "was killed; resume continues from the last checkpoint.") if killed else ""
        TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.CANCELLED,
                                                     log_tail=_tail(folder / "stdout.log") + note, **fields)
        raise JobCancelled()
    if result.get("status") == "failed" and result.get("error"):  # bad config/data (behind accelerate: exit 1)
        error = result["error"]
    else:
        error = f"The trainer exited with code {exit_code}."
    tail = _tail(folder / "stdout.log")
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.FAILED, error=error, log_tail=tail, **fields)
    if cancelled:
        raise JobCancelled()
    raise JobError(f"{error}\n\nLast output:\n{tail[-3000:]}")


# ---------------------------------------------------------------------------------- adapter registry
def adapter_register(*, run: TrainingRun, result: dict) -> Adapter:
    collection = run.dataset_version.collection
    src = Path(result["adapter_path"])
    with transaction.atomic():
        number = (Adapter.objects.select_for_update().filter(collection=collection)
                  .aggregate(m=Max("number"))["m"] or 0) + 1
        rel = Path(settings.ADAPTERS_DIR).relative_to(settings.DATA_DIR) / collection.name / f"a{number}"
        dest = Path(settings.DATA_DIR) / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / f".tmp-a{number}"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp)
        os.replace(tmp, dest)
        prev = Adapter.objects.filter(collection=collection).order_by("-number").first()
        adapter = Adapter(run=run, collection=collection, number=number, path=str(rel), base_model=run.base_model,
                          method=result.get("method", "lora"), created_by=run.created_by,
                          metrics={"eval_before": result.get("eval_before"), "eval_after": result.get("eval_after"),
                                   "tokens_per_second": result.get("tokens_per_second"), "steps": result.get("step")},
                          lineage={"dataset_version_id": run.dataset_version_id,
                                   "dataset_version": str(run.dataset_version),
                                   "dataset_content_hash": run.dataset_version.content_hash,
                                   "base_model": run.base_model, "config": run.config, "run_id": run.pk,
                                   "previous_adapter_id": prev.pk if prev else None})
        adapter.save()
    adapter_prune(collection=collection)
    return adapter


def adapter_prune(*, collection, keep: int = ADAPTER_KEEP) -> list[int]:
    """Archive all but the newest ``keep`` unpromoted adapters (files removed, rows kept for lineage)."""
    ready = list(Adapter.objects.filter(collection=collection, status=Adapter.Status.READY, promoted=False)
                 .order_by("-number"))
    archived = []
    for a in ready[keep:]:
        shutil.rmtree(a.folder, ignore_errors=True)
        if a.merged_path:
            shutil.rmtree(Path(settings.DATA_DIR) / a.merged_path, ignore_errors=True)
        a.status = Adapter.Status.ARCHIVED
        a.save(update_fields=["status"])
        archived.append(a.pk)
    return archived


def adapter_promote(*, adapter: Adapter, user=None) -> Adapter:
    """Make ``adapter`` the one served for its collection (the previous one stays, for roll back)."""
    if adapter.status != Adapter.Status.READY:
        raise RunError(f"{adapter} is archived; its files are gone.")
    with transaction.atomic():
        Adapter.objects.filter(collection=adapter.collection, promoted=True).exclude(pk=adapter.pk).update(promoted=False)
        adapter.promoted = True
        adapter.promoted_at = timezone.now()
        adapter.save(update_fields=["promoted", "promoted_at"])
    return adapter


def adapter_rollback(*, collection, user=None) -> Adapter:
    """Promote the adapter that was promoted before the current one."""
    current = Adapter.objects.filter(collection=collection, promoted=True).first()
    history = Adapter.objects.filter(collection=collection, promoted_at__isnull=False, status=Adapter.Status.READY)
    if current:
        history = history.exclude(pk=current.pk).filter(promoted_at__lt=current.promoted_at)
    previous = history.order_by("-promoted_at").first()
    if previous is None:
        raise RunError("No earlier promoted adapter to roll back to.")
    with transaction.atomic():
        if current:
            current.promoted = False
            current.promoted_at = None  # leaves the history, so a second roll back goes further back
            current.save(update_fields=["promoted", "promoted_at"])
        previous.promoted = True
        previous.save(update_fields=["promoted"])
    return previous


def adapter_merge(*, adapter: Adapter) -> Path:
    """Merge LoRA weights into the base on CPU and save a standalone model folder (atomic)."""
    import torch
    from peft import PeftModel

    from ..trainer.modeling import load_model, load_tokenizer

    if adapter.status != Adapter.Status.READY:
        raise RunError(f"{adapter} is archived; its files are gone.")
    base = base_model_resolve(adapter.base_model)
    rel = Path(adapter.path + "-merged")
    dest = Path(settings.DATA_DIR) / rel
    tmp = dest.parent / f".tmp-{dest.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    if adapter.method == "full":
        shutil.copytree(adapter.folder, tmp)
    else:
        model = load_model(base, dtype=torch.float32, device="cpu")
        merged = PeftModel.from_pretrained(model, str(adapter.folder)).merge_and_unload()
        merged.save_pretrained(tmp, safe_serialization=True)
        tok, _ = load_tokenizer(adapter.folder)
        tok.save_pretrained(tmp)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    Adapter.objects.filter(pk=adapter.pk).update(merged_path=str(rel))
    adapter.refresh_from_db()
    return dest


def adapter_archive_zip(*, adapter: Adapter, merged: bool = False) -> Path:
    """A zip of the adapter (or merged model) folder for download, built once, atomically."""
    if merged and not adapter.merged_path:
        raise RunError("Nothing to download: this adapter has not been merged yet (merge first).")
    if adapter.status != Adapter.Status.READY:
        raise RunError(f"{adapter} is archived; its files are gone.")
    folder = Path(settings.DATA_DIR) / adapter.merged_path if merged else adapter.folder
    if not folder.exists():
        raise RunError("Nothing to download: the files are gone" + (" (merge first)." if merged else "."))
    target = folder.parent / f"{folder.name}.zip"
    if not target.exists():
        tmp = shutil.make_archive(str(folder.parent / f".tmp-{folder.name}"), "zip", root_dir=folder)
        os.replace(tmp, target)
    return target


# ------------------------------------------------------------------------------- feedback / human eval
def feedback_record(*, adapter: Adapter, messages: list[dict], reply: str, rating: str,
                    correction: str = "", user=None) -> PlaygroundFeedback:
    """Playground thumbs up/down (+ optional correction), always kept as a PlaygroundFeedback row.

    - thumbs up → a candidate Sample (origin feedback) answering with the adapter's reply;
    - a correction (either rating) → a candidate Sample answering with the correction;
    - thumbs down without a correction → no Sample: a negative example only, never a training target.
    """
    from curation.hashing import messages_hash
    from curation.models import Sample

    if rating not in PlaygroundFeedback.Rating.values:
        raise RunError("rating must be 'up' or 'down'")
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict) \
            or messages[-1].get("role") != "user":
        raise RunError("The conversation must end with the user's message.")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant") \
                or not isinstance(m.get("content"), str):
            raise RunError(f"conversation[{i}]: needs role system/user/assistant and text content")
    correction = (correction or "").strip()
    if rating == "up" and not correction and not reply.strip():
        raise RunError("Nothing to approve: the reply is empty.")
    answer = correction or (reply if rating == "up" else "")
    with transaction.atomic():
        sample = None
        if answer:
            sample_messages = [*messages, {"role": "assistant", "content": answer}]
            sample = Sample(collection=adapter.collection, messages=sample_messages, origin=Sample.Origin.FEEDBACK,
                            method=f"playground-{rating}", domain=adapter.collection.domain,
                            content_hash=messages_hash(sample_messages),
                            meta={"adapter_id": adapter.pk, "rating": rating, "model_reply": reply,
                                  "corrected": bool(correction)})
            if user is not None and getattr(user, "is_authenticated", False):
                sample.created_by = user
            sample.save()
        feedback = PlaygroundFeedback(adapter=adapter, messages=messages, reply=reply, rating=rating,
                                      correction=correction, sample=sample)
        if user is not None and getattr(user, "is_authenticated", False):
            feedback.created_by = user
        feedback.save()
    return feedback


def human_eval_record(*, adapter: Adapter, prompt: str, response: str, relevance: int, accuracy: int,
                      fluency: int, comment: str = "", user=None) -> HumanEvaluation:
    for name, v in (("relevance", relevance), ("accuracy", accuracy), ("fluency", fluency)):
        if not isinstance(v, int) or not 1 <= v <= 5:
            raise RunError(f"{name}: a score from 1 to 5")
    ev = HumanEvaluation(adapter=adapter, prompt=prompt, response=response, relevance=relevance,
                         accuracy=accuracy, fluency=fluency, comment=comment)
    if user is not None and getattr(user, "is_authenticated", False):
        ev.created_by = user
    ev.save()
    audit_log(obj=adapter, action="human_eval", user=user, summary=f"human eval of {adapter}")
    return ev


def run_execute_inline(*, run: TrainingRun, progress_bar: bool = True, resume: bool = False) -> Job:
    """CLI: run the training job in this process (still recorded as a Job), with a progress bar."""
    from refinery.jobs import job_create, job_execute

    if resume:
        _write_json_atomic(run.folder / "config.json", run_trainer_config(run, resume=True))
    job = job_create(kind="training.run", title=f"Train run #{run.pk} on {run.dataset_version}",
                     params={"run_id": run.pk}, target=run)
    TrainingRun.objects.filter(pk=run.pk).update(job=job)
    job = job_execute(job.pk, progress_bar=progress_bar)
    run.refresh_from_db()
    return job


def run_summary(*, run: TrainingRun) -> dict:
    """What ``manage.py train --json-summary`` writes."""
    adapter = Adapter.objects.filter(run=run).first()
    return {"run_id": run.pk, "status": run.status, "dataset_version_id": run.dataset_version_id,
            "base_model": run.base_model, "eval_before": run.eval_before, "eval_after": run.eval_after,
            "adapter_id": adapter.pk if adapter else None,
            "adapter_path": str(adapter.folder) if adapter else None,
            "tokens_per_second": run.tokens_per_second, "steps": run.steps_done, "error": run.error}
