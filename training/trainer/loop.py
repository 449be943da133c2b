"""The training loop (run inside the subprocess). See the package docstring for the files it writes."""
from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
import traceback
from pathlib import Path

import torch

from . import stop as stop_signals
from .config import ConfigError, RunConfig
from .data import DataError, batch_plan, collate_rows, encode_file, pack_rows, read_messages_jsonl

EXIT_OK = 0          # completed, early-stopped or stopped on request (see result.json "status")
EXIT_USER_ERROR = 2  # bad config or data: result.json "error" says what


class RunLog:
    """Append-only JSON-lines log; every line is flushed so a poller sees it at once."""

    def __init__(self, path: Path, enabled: bool = True):
        self.enabled = enabled
        self.fh = path.open("a", encoding="utf-8") if enabled else None

    def write(self, event: str, **data) -> None:
        if self.fh:
            self.fh.write(json.dumps({"event": event, "time": round(time.time(), 3), **data}) + "\n")
            self.fh.flush()


class StopFlag:
    """SIGTERM/SIGINT → stop at the next step boundary with a checkpoint (see ``stop.py``)."""

    def __init__(self):
        stop_signals.install()

    @property
    def stop(self) -> bool:
        return stop_signals.requested()


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    os.replace(tmp, path)


def _latest_checkpoint(out: Path) -> Path | None:
    ck = [p for p in (out / "checkpoints").glob("step-*") if (p / "state.pt").exists()]
    return max(ck, key=lambda p: int(p.name.split("-")[1])) if ck else None


def _trainable_state(model, method: str) -> dict:
    if method == "full":
        return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    from peft import get_peft_model_state_dict

    return {k: v.detach().cpu().clone() for k, v in get_peft_model_state_dict(model).items()}


def _load_trainable_state(model, method: str, state: dict) -> None:
    if method == "full":
        model.load_state_dict(state)
    else:
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, state)


def _rng_state() -> dict:
    """Every random generator a step draws from: Python, CPU torch and (when present) each CUDA device."""
    return {"python": random.getstate(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def _set_rng_state(state) -> None:
    if isinstance(state, torch.Tensor):  # checkpoints written before the CUDA/Python state was kept
        torch.set_rng_state(state)
        return
    if "python" in state:
        random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        cuda = state["cuda"]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        else:  # a different number of visible devices: restore what matches
            for i, st in enumerate(cuda[: torch.cuda.device_count()]):
                torch.cuda.set_rng_state(st, i)


def _agreed(flag: bool, device) -> bool:
    """With several processes (torch.distributed initialised), True on every rank if True on any rank.

    A cancel reaches the ranks at slightly different moments; without agreement one rank would stop
    while the others wait in the next all-reduce forever."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return flag
    t = torch.tensor([1 if flag else 0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def _rank0_value(value: float, device) -> float:
    """Rank 0's number on every rank, so decisions taken from it (best checkpoint, early stop) agree."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(t, src=0)
    return float(t.item())


def run_training(cfg: RunConfig) -> int:
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    from accelerate import Accelerator

    from .modeling import (LossModule, add_lora, causal_lm_of, evaluate_split, load_model, load_tokenizer,
                           pick_device)

    device = pick_device(cfg.device)
    precision = cfg.precision
    if precision == "auto":
        precision = "bf16" if device == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    accelerator = Accelerator(cpu=(device == "cpu"),
                              mixed_precision={"fp32": "no", "bf16": "bf16", "fp16": "fp16"}[precision])
    main = accelerator.is_main_process
    log = RunLog(out / "log.jsonl", enabled=main)
    stop = StopFlag()
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)

    def existing(path: str) -> str:
        return path if path and Path(path).exists() else ""

    try:
        tokenizer, warnings = load_tokenizer(cfg.base_model)
        for w in warnings:
            log.write("warning", message=w)
        cache = cfg.cache_dir or None
        train = encode_file(tokenizer, cfg.train_file, cfg.max_seq_len, cache_dir=cache, strict=True)
        if not train:
            raise DataError("The train split is empty.")
        # validation: early stopping and the best checkpoint; test (when present): the before/after scores,
        # which the choice of checkpoint never saw. Without a test split the validation split is scored.
        val_file, test_file = existing(cfg.validation_file), existing(cfg.test_file)
        val = encode_file(tokenizer, val_file, cfg.max_seq_len, cache_dir=cache, strict=False,
                          limit=cfg.eval_max_samples) if val_file else []
        test = encode_file(tokenizer, test_file, cfg.max_seq_len, cache_dir=cache, strict=False,
                           limit=cfg.eval_max_samples) if test_file else []
        if test:
            held, held_split, held_file = test, "test", test_file
        else:
            held, held_split, held_file = val, "validation", val_file
        gen_records = read_messages_jsonl(held_file)[: cfg.eval_generate_samples] if held_file else []
    except (DataError, ConfigError, OSError) as exc:
        log.write("error", message=str(exc))
        if main:
            _write_json(out / "result.json", {"status": "failed", "error": str(exc)})
        return EXIT_USER_ERROR

    model = load_model(cfg.base_model, device=device, quantize_4bit=cfg.method == "qlora")
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer))
    if cfg.gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers ≥ 5 name
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if cfg.method in ("lora", "qlora"):
        model = add_lora(model, cfg.lora, prepare_kbit=cfg.method == "qlora")
    lm = causal_lm_of(model)
    loss_module = LossModule(lm, cfg.label_smoothing)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    n_total = sum(p.numel() for p in model.parameters())

    rows = pack_rows(train, cfg.max_seq_len, packing=cfg.packing)
    world = accelerator.num_processes
    plan, total_steps = batch_plan(len(rows), batch_size=cfg.batch_size, grad_accum=cfg.grad_accum * world,
                                   epochs=cfg.epochs, max_steps=cfg.max_steps, seed=cfg.seed)
    eval_every = cfg.eval_every or max(1, total_steps // 5)
    steps_per_epoch = max(1, -(-len(rows) // (cfg.batch_size * cfg.grad_accum * world)))

    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=cfg.learning_rate)
    from transformers import get_scheduler

    scheduler = get_scheduler(cfg.scheduler, optimizer, num_warmup_steps=math.ceil(cfg.warmup_ratio * total_steps),
                              num_training_steps=total_steps)
    loss_module, optimizer = accelerator.prepare(loss_module, optimizer)

    def evaluate(tag: str) -> dict:
        """``val``: validation loss only (early stopping); ``before``/``after``: the held-out scores."""
        if tag == "val":
            return evaluate_split(model, loss_module, tokenizer, val, [], max_seq_len=cfg.max_seq_len,
                                  batch_size=cfg.batch_size, generate_n=0, max_new_tokens=cfg.eval_max_new_tokens)
        result = evaluate_split(model, loss_module, tokenizer, held, gen_records, max_seq_len=cfg.max_seq_len,
                                batch_size=cfg.batch_size, generate_n=cfg.eval_generate_samples,
                                max_new_tokens=cfg.eval_max_new_tokens)
        return {**result, "split": held_split} if result else result

    best_file = out / "best.pt"
    ckpt_base = out / "checkpoints"

    def save_best(step: int, loss: float) -> None:
        """The weights with the best validation loss so far, on disk (full fine-tuning included), atomically."""
        if main:
            tmp = out / ".best.pt.tmp"
            torch.save({"model": _trainable_state(model, cfg.method), "step": step, "loss": loss}, tmp)
            os.replace(tmp, best_file)
        accelerator.wait_for_everyone()

    start_step, best_val, bad_evals = 0, math.inf, 0
    tokens_done, train_seconds = 0, 0.0
    eval_before = None
    ckpt = _latest_checkpoint(out) if cfg.resume else None
    if not ckpt:
        best_file.unlink(missing_ok=True)  # a fresh start never inherits another attempt's best weights
    if ckpt:
        state = torch.load(ckpt / "state.pt", weights_only=False)
        _load_trainable_state(model, cfg.method, state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_step, best_val, bad_evals = state["step"], state["best_val"], state["bad_evals"]
        tokens_done, train_seconds = state.get("tokens", 0), state.get("seconds", 0.0)
        eval_before = state.get("eval_before")
        if best_file.exists():  # may be newer than the checkpoint (killed in between)
            best_val = min(best_val, torch.load(best_file, weights_only=False)["loss"])
        rank_rng = ckpt / f"rng-{accelerator.process_index}.pt"
        _set_rng_state(torch.load(rank_rng, weights_only=False) if rank_rng.exists() else state["rng"])
        log.write("resume", step=start_step, checkpoint=str(ckpt))
    log.write("start", total_steps=total_steps, start_step=start_step, train_samples=len(train),
              packed_rows=len(rows), validation_samples=len(val), test_samples=len(test), eval_split=held_split,
              trainable_params=n_trainable, total_params=n_total, device=device, precision=precision,
              processes=world, eval_every=eval_every, method=cfg.method,
              gradient_checkpointing=bool(getattr(lm, "is_activation_checkpointing",
                                                  getattr(lm, "is_gradient_checkpointing", False))),
              label_smoothing=cfg.label_smoothing)

    if eval_before is None and not _agreed(stop.stop, accelerator.device):
        eval_before = evaluate("before")
        log.write("eval_before", **eval_before)

    def save_checkpoint(step: int) -> Path | None:
        """Called on every rank at the same step: each rank leaves its RNG state, rank 0 the rest."""
        tmp = ckpt_base / f".tmp-step-{step}"
        if main:
            ckpt_base.mkdir(exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
        accelerator.wait_for_everyone()
        torch.save(_rng_state(), tmp / f"rng-{accelerator.process_index}.pt")
        accelerator.wait_for_everyone()
        if not main:
            return None
        torch.save({"model": _trainable_state(model, cfg.method),
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": step,
                    "best_val": best_val, "bad_evals": bad_evals, "rng": _rng_state(),
                    "tokens": tokens_done, "seconds": train_seconds, "eval_before": eval_before}, tmp / "state.pt")
        final = ckpt_base / f"step-{step}"
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for old in sorted(ckpt_base.glob("step-*"), key=lambda p: int(p.name.split("-")[1]))[:-cfg.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)
        log.write("checkpoint", step=step, path=str(final))
        return final

    status = "completed"
    rank = accelerator.process_index
    loss_module.train()
    step = start_step
    while step < total_steps:
        if _agreed(stop.stop, accelerator.device):
            status = "stopped"
            break
        t0 = time.perf_counter()
        micro = plan[step * cfg.grad_accum * world:(step + 1) * cfg.grad_accum * world][rank::world]
        batches = [collate_rows(train, rows, m, tokenizer.pad_token_id) for m in micro if m]
        n_label = sum(int((b[2][:, 1:] != -100).sum()) for b in batches) * world
        step_loss = torch.zeros((), device=accelerator.device)
        step_tokens = 0
        for i, (ids, pos, lab, ntok) in enumerate(batches):
            ctx = accelerator.no_sync(loss_module) if i < len(batches) - 1 else _nullcontext()
            with ctx, accelerator.autocast():
                loss_sum, _ = loss_module(ids.to(accelerator.device, non_blocking=True),
                                          pos.to(accelerator.device, non_blocking=True),
                                          lab.to(accelerator.device, non_blocking=True))
                loss = loss_sum / max(n_label, 1)
            accelerator.backward(loss)
            step_loss += loss_sum.detach()
            step_tokens += ntok
        grad_norm = accelerator.clip_grad_norm_(params, cfg.max_grad_norm) if cfg.max_grad_norm > 0 else None
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        step_loss_value = float(step_loss)  # one device sync per step, after the optimizer step
        dt = time.perf_counter() - t0
        train_seconds += dt
        tokens_done += step_tokens * world
        rate = tokens_done / max(train_seconds, 1e-9)
        eta = (total_steps - step) * train_seconds / max(step - start_step, 1) if step > start_step else None
        log.write("train", step=step, total_steps=total_steps, loss=step_loss_value * world / max(n_label, 1),
                  lr=scheduler.get_last_lr()[0], grad_norm=float(grad_norm) if grad_norm is not None else None,
                  tokens=tokens_done, tokens_per_s=round(rate, 1), step_tokens_per_s=round(step_tokens * world / dt, 1),
                  step_seconds=round(dt, 4), eta_s=round(eta, 1) if eta is not None else None,
                  epoch=round(step / steps_per_epoch, 3))
        if val and (step % eval_every == 0 or step == total_steps):
            v = evaluate("val")
            v["loss"] = _rank0_value(v["loss"], accelerator.device)
            improved = v["loss"] < best_val - 1e-6
            if improved:
                best_val, bad_evals = v["loss"], 0
                save_best(step, best_val)
            else:
                bad_evals += 1
            log.write("eval", step=step, split="validation", loss=v["loss"], perplexity=v["perplexity"],
                      best=best_val, bad_evals=bad_evals)
            if cfg.early_stopping_patience and bad_evals >= cfg.early_stopping_patience:
                status = "early_stopped"
                log.write("early_stop", step=step, best=best_val)
                break
        if step % cfg.save_every == 0 and step < total_steps:
            save_checkpoint(step)
    if status == "stopped":
        done_already = (ckpt_base / f"step-{step}" / "state.pt").exists() and step > start_step
        path = (ckpt_base / f"step-{step}" if main else None) if done_already else save_checkpoint(step)
        log.write("done", status=status, step=step, checkpoint=str(path) if path else None)
        if main:
            _write_json(out / "result.json", {"status": status, "step": step, "total_steps": total_steps,
                                              "eval_before": eval_before, "checkpoint": str(path) if path else None})
        return EXIT_OK

    best_step = None
    if best_file.exists():  # keep the weights with the best validation loss (any method)
        best = torch.load(best_file, weights_only=False)
        _load_trainable_state(model, cfg.method, best["model"])
        best_step = best["step"]
        log.write("best_restored", step=best_step, loss=best["loss"])
    eval_after = evaluate("after")
    log.write("eval_after", **eval_after)
    adapter_dir = out / "adapter"
    if main:
        tmp = out / ".adapter-tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        shutil.rmtree(adapter_dir, ignore_errors=True)
        os.replace(tmp, adapter_dir)
        result = {"status": status, "step": step, "total_steps": total_steps, "eval_before": eval_before,
                  "eval_after": eval_after, "eval_split": held_split, "adapter_path": str(adapter_dir),
                  "method": cfg.method, "tokens": tokens_done, "train_seconds": round(train_seconds, 3),
                  "tokens_per_second": round(tokens_done / max(train_seconds, 1e-9), 1),
                  "trainable_params": n_trainable, "best_step": best_step,
                  "best_validation_loss": None if best_val == math.inf else best_val}
        _write_json(out / "result.json", result)
        best_file.unlink(missing_ok=True)  # its weights are the adapter now
        log.write("done", status=status, step=step, adapter_path=str(adapter_dir))
    return EXIT_OK


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def main(config_path: str) -> int:
    from .config import config_load

    out = None
    try:
        cfg = config_load(config_path)
        out = Path(cfg.output_dir)
        return run_training(cfg)
    except ConfigError as exc:
        target = out or Path(config_path).parent
        _write_json(target / "result.json", {"status": "failed", "error": str(exc)})
        RunLog(target / "log.jsonl").write("error", message=str(exc))
        return EXIT_USER_ERROR
    except Exception as exc:  # crash: leave the reason beside the outputs, exit non-zero
        target = out or Path(config_path).parent
        RunLog(target / "log.jsonl").write("error", message=f"{type(exc).__name__}: {exc}",
                                           traceback=traceback.format_exc(limit=15))
        raise
