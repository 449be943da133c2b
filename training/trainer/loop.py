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

    try:
        tokenizer, warnings = load_tokenizer(cfg.base_model)
        for w in warnings:
            log.write("warning", message=w)
        cache = cfg.cache_dir or None
        train = encode_file(tokenizer, cfg.train_file, cfg.max_seq_len, cache_dir=cache, strict=True)
        if not train:
            raise DataError("The train split is empty.")
        eval_file = cfg.validation_file if cfg.validation_file and Path(cfg.validation_file).exists() else ""
        gen_file = eval_file or (cfg.test_file if cfg.test_file and Path(cfg.test_file).exists() else "")
        val = encode_file(tokenizer, eval_file, cfg.max_seq_len, cache_dir=cache, strict=False,
                          limit=cfg.eval_max_samples) if eval_file else []
        gen_records = read_messages_jsonl(gen_file)[: cfg.eval_generate_samples] if gen_file else []
    except (DataError, ConfigError, OSError) as exc:
        log.write("error", message=str(exc))
        if main:
            _write_json(out / "result.json", {"status": "failed", "error": str(exc)})
        return EXIT_USER_ERROR

    model = load_model(cfg.base_model, device=device, quantize_4bit=cfg.method == "qlora")
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer))
    if cfg.gradient_checkpointing:
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
        return evaluate_split(model, loss_module, tokenizer, val, gen_records if tag != "val" else [],
                              max_seq_len=cfg.max_seq_len, batch_size=cfg.batch_size,
                              generate_n=cfg.eval_generate_samples if tag != "val" else 0,
                              max_new_tokens=cfg.eval_max_new_tokens)

    start_step, best_val, bad_evals, best_state = 0, math.inf, 0, None
    tokens_done, train_seconds = 0, 0.0
    eval_before = None
    ckpt = _latest_checkpoint(out) if cfg.resume else None
    if ckpt:
        state = torch.load(ckpt / "state.pt", weights_only=False)
        _load_trainable_state(model, cfg.method, state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_step, best_val, bad_evals = state["step"], state["best_val"], state["bad_evals"]
        tokens_done, train_seconds = state.get("tokens", 0), state.get("seconds", 0.0)
        eval_before = state.get("eval_before")
        best_state = state.get("best_state")
        torch.set_rng_state(state["rng"])
        log.write("resume", step=start_step, checkpoint=str(ckpt))
    log.write("start", total_steps=total_steps, start_step=start_step, train_samples=len(train),
              packed_rows=len(rows), validation_samples=len(val), trainable_params=n_trainable,
              total_params=n_total, device=device, precision=precision, processes=world,
              eval_every=eval_every)

    if eval_before is None and not stop.stop:
        eval_before = evaluate("before")
        log.write("eval_before", **eval_before)

    def save_checkpoint(step: int) -> Path | None:
        if not main:
            return None
        base = out / "checkpoints"
        base.mkdir(exist_ok=True)
        tmp = base / f".tmp-step-{step}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        torch.save({"model": _trainable_state(model, cfg.method),
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": step,
                    "best_val": best_val, "bad_evals": bad_evals, "rng": torch.get_rng_state(),
                    "tokens": tokens_done, "seconds": train_seconds, "eval_before": eval_before,
                    "best_state": best_state}, tmp / "state.pt")
        final = base / f"step-{step}"
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for old in sorted(base.glob("step-*"), key=lambda p: int(p.name.split("-")[1]))[:-cfg.keep_checkpoints]:
            shutil.rmtree(old, ignore_errors=True)
        log.write("checkpoint", step=step, path=str(final))
        return final

    status = "completed"
    rank = accelerator.process_index
    loss_module.train()
    step = start_step
    while step < total_steps:
        if stop.stop:
            status = "stopped"
            break
        t0 = time.perf_counter()
        micro = plan[step * cfg.grad_accum * world:(step + 1) * cfg.grad_accum * world][rank::world]
        batches = [collate_rows(train, rows, m, tokenizer.pad_token_id) for m in micro if m]
        n_label = sum(int((b[2][:, 1:] != -100).sum()) for b in batches) * world
        step_loss, step_tokens = 0.0, 0
        for i, (ids, pos, lab, ntok) in enumerate(batches):
            ctx = accelerator.no_sync(loss_module) if i < len(batches) - 1 else _nullcontext()
            with ctx, accelerator.autocast():
                loss_sum, _ = loss_module(ids.to(accelerator.device), pos.to(accelerator.device),
                                          lab.to(accelerator.device))
                loss = loss_sum / max(n_label, 1)
            accelerator.backward(loss)
            step_loss += float(loss_sum.detach())
            step_tokens += ntok
        grad_norm = accelerator.clip_grad_norm_(params, cfg.max_grad_norm) if cfg.max_grad_norm > 0 else None
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        dt = time.perf_counter() - t0
        train_seconds += dt
        tokens_done += step_tokens * world
        rate = tokens_done / max(train_seconds, 1e-9)
        eta = (total_steps - step) * train_seconds / max(step - start_step, 1) if step > start_step else None
        log.write("train", step=step, total_steps=total_steps, loss=step_loss * world / max(n_label, 1),
                  lr=scheduler.get_last_lr()[0], grad_norm=float(grad_norm) if grad_norm is not None else None,
                  tokens=tokens_done, tokens_per_s=round(rate, 1), step_tokens_per_s=round(step_tokens * world / dt, 1),
                  eta_s=round(eta, 1) if eta is not None else None, epoch=round(step / max(1, -(-len(rows) // (cfg.batch_size * cfg.grad_accum * world))), 3))
        if val and (step % eval_every == 0 or step == total_steps):
            v = evaluate("val")
            improved = v["loss"] < best_val - 1e-6
            if improved:
                best_val, bad_evals = v["loss"], 0
                best_state = _trainable_state(model, cfg.method) if cfg.method != "full" else None
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
        path = save_checkpoint(step)
        log.write("done", status=status, step=step, checkpoint=str(path) if path else None)
        if main:
            _write_json(out / "result.json", {"status": status, "step": step, "total_steps": total_steps,
                                              "eval_before": eval_before, "checkpoint": str(path) if path else None})
        return EXIT_OK

    if best_state is not None:  # keep the weights with the best validation loss
        _load_trainable_state(model, cfg.method, best_state)
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
                  "eval_after": eval_after, "adapter_path": str(adapter_dir), "method": cfg.method,
                  "tokens": tokens_done, "train_seconds": round(train_seconds, 3),
                  "tokens_per_second": round(tokens_done / max(train_seconds, 1e-9), 1),
                  "trainable_params": n_trainable, "best_validation_loss": None if best_val == math.inf else best_val}
        _write_json(out / "result.json", result)
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
