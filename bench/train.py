"""Training throughput: Refinery's real training loop vs a plain HF Trainer + PEFT script, side by side.

Same model, same tokenised data (chat template applied, assistant-only labels), same LoRA settings
(r 16, α 32, dropout 0.1, q_proj/v_proj), same optimiser (AdamW, lr 1e-4, weight decay 0.01, linear
schedule, no warm-up), gradient clipping 1.0, same micro-batch size and number of optimiser steps.

* Refinery: ``training.trainer.loop.run_training`` — the function the trainer subprocess runs — on a
  config written like the web app writes it (padding-free packing into rows of ``max_seq_len`` tokens,
  position_ids reset per sample → block-diagonal attention, loss only at labelled positions).
* Peer: ``transformers.Trainer`` + ``peft.get_peft_model`` with ``DataCollatorForSeq2Seq`` (dynamic
  padding to the longest sample of the batch), the usual script.

Measured the same way on both sides, each side in its own fresh subprocess (so peaks never mix), for
``--rounds`` rounds alternating the two (a shared machine's load then hits both alike):

* the first ``--warmup`` optimiser steps are not timed; the timed window runs from the end of the last
  warm-up step to the end of the last step (wall clock, everything the loop does in between);
* tokens/s = real (non-padding) tokens of the timed steps / the window;
* peak memory = the highest RSS sampled (every 5 ms) inside the window minus the RSS before the model
  was built (after imports and tokenisation); on CUDA the highest allocated bytes sampled in the window.

A packed row holds about ``max_seq_len`` tokens while a padded peer batch holds the longest sample's length
per row, so at the same ``--batch-size`` our micro-batch carries more tokens (and activations). The bench
therefore also runs ours at the *same token budget per micro-batch* as the peer's padded batches (the
number of packed rows that matches the peer's mean padded positions) — the fair memory comparison.

Reported: the median of each side over the rounds, and the ratio of the medians. MFU (CUDA) uses the
non-embedding parameter count N: 4·N·tokens/s (forward 2N + backward through activations 2N; frozen
weights get no weight gradients) over the GPU's bf16 peak.

    .venv/bin/python bench/train.py [--steps 8] [--warmup 2] [--rounds 3] [--samples 96] [--batch-size 4] [--max-seq-len 256]
    .venv/bin/python bench/train.py --device cuda --model-config 0.5b --steps 20 --batch-size 8 --max-seq-len 1024
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refinery.settings")

WORDS = ("account payment refund order delivery invoice balance card transfer branch loan interest rate "
         "patient dose symptom clinic doctor report result fever blood pressure the a is are was please "
         "thank you can your my we will should check confirm within days weeks support team policy").split()
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0}
LORA = {"r": 16, "alpha": 32, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]}
LR, WEIGHT_DECAY, MAX_GRAD_NORM = 1e-4, 0.01, 1.0


def synthetic_chats(n: int, seed: int = 0) -> list[dict]:
    """Customer-service-like chats with realistic length spread (short questions, varied answers)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        q = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(5, 40))) + "?"
        a = " ".join(rnd.choice(WORDS) for _ in range(int(rnd.lognormvariate(3.3, 0.8)) + 3)) + "."
        out.append({"id": str(i), "messages": [{"role": "system", "content": "You are a support agent."},
                                                {"role": "user", "content": q}, {"role": "assistant", "content": a}]})
    return out


class Sampler:
    """RSS (CPU) or allocated bytes (CUDA) sampled every few ms, with timestamps, in a thread."""

    def __init__(self, device: str):
        import psutil

        self.device, self.proc, self.samples, self._stop = device, psutil.Process(), [], False

    def now(self) -> int:
        if self.device == "cuda":
            import torch

            return torch.cuda.memory_allocated()
        return self.proc.memory_info().rss

    def __enter__(self):
        def loop():
            while not self._stop:
                self.samples.append((time.time(), self.now()))
                time.sleep(0.005)

        self._t = threading.Thread(target=loop, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._t.join()

    def peak_between(self, t0: float, t1: float) -> int:
        inside = [v for t, v in self.samples if t0 <= t <= t1]
        return max(inside) if inside else 0


def _encode(args, tok):
    from training.trainer.data import encode_file

    return encode_file(tok, Path(args.workdir) / "train.jsonl", args.max_seq_len, strict=True)


# ------------------------------------------------------------------------------------------ the two sides
def side_ours(args) -> dict:
    import torch

    from training.trainer.config import config_validate
    from training.trainer.loop import run_training
    from training.trainer.modeling import load_tokenizer

    tok, _ = load_tokenizer(args.base)
    _encode(args, tok)  # same preparation as the peer's (and it fills the tokenised cache run_training reads)
    out = Path(tempfile.mkdtemp(prefix="ours-", dir=args.workdir))
    cfg = config_validate({
        "base_model": args.base, "train_file": str(Path(args.workdir) / "train.jsonl"), "output_dir": str(out),
        "cache_dir": str(Path(args.workdir) / "cache"), "method": "lora", "lora": LORA, "learning_rate": LR,
        "scheduler": "linear", "warmup_ratio": 0.0, "weight_decay": WEIGHT_DECAY, "max_grad_norm": MAX_GRAD_NORM,
        "batch_size": args.batch_size, "grad_accum": 1, "max_steps": args.warmup + args.steps,
        "max_seq_len": args.max_seq_len, "packing": True, "seed": 0, "device": args.device,
        "eval_generate_samples": 0, "save_every": 10**9, "early_stopping_patience": 0})
    if args.device == "cuda":
        torch.cuda.synchronize()
    with Sampler(args.device) as mem:
        base = mem.now()
        assert run_training(cfg) == 0
    events = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    steps = {e["step"]: e for e in events if e["event"] == "train"}
    first, last = steps[args.warmup], steps[args.warmup + args.steps]
    # the log's times are taken right after each optimiser step (and its one device sync)
    window = last["time"] - first["time"]
    tokens = last["tokens"] - first["tokens"]
    peak = mem.peak_between(first["time"], last["time"])
    shutil.rmtree(out, ignore_errors=True)
    return {"tokens": tokens, "seconds": window, "tokens_per_s": tokens / window,
            "peak_mib": (peak - (0 if args.device == "cuda" else base)) / 2**20, "steps": args.steps}


def side_peer(args) -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import (AutoModelForCausalLM, DataCollatorForSeq2Seq, Trainer, TrainerCallback,
                              TrainingArguments)

    from training.trainer.modeling import load_tokenizer

    tok, _ = load_tokenizer(args.base)
    examples = _encode(args, tok)
    ds = Dataset.from_list([{"input_ids": e.input_ids, "attention_mask": [1] * len(e.input_ids), "labels": e.labels}
                            for e in examples])
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    marks: dict[int, float] = {}
    counted = {"tokens": 0, "step": 0}

    class Clock(TrainerCallback):
        def on_step_end(self, a, state, control, **kw):
            if args.device == "cuda":
                torch.cuda.synchronize()
            marks[state.global_step] = time.time()

    class CountingTrainer(Trainer):
        """Counts the real tokens of the batches trained on after the warm-up steps."""

        def training_step(self, model, inputs, num_items_in_batch=None):
            if self.state.global_step >= args.warmup:
                counted["tokens"] += int(inputs["attention_mask"].sum())
            return super().training_step(model, inputs, num_items_in_batch)

    with Sampler(args.device) as mem:
        base = mem.now()
        model = AutoModelForCausalLM.from_pretrained(args.base, dtype=dtype).to(args.device)
        model = get_peft_model(model, LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=LORA["dropout"],
                                                 target_modules=LORA["target_modules"], task_type="CAUSAL_LM"))
        with tempfile.TemporaryDirectory(dir=args.workdir) as out:
            targs = TrainingArguments(output_dir=out, per_device_train_batch_size=args.batch_size, learning_rate=LR,
                                      weight_decay=WEIGHT_DECAY, max_grad_norm=MAX_GRAD_NORM, lr_scheduler_type="linear",
                                      warmup_steps=0, max_steps=args.warmup + args.steps, logging_steps=10**6,
                                      save_strategy="no", report_to=[], use_cpu=args.device == "cpu", seed=0,
                                      bf16=args.device == "cuda", dataloader_num_workers=0,
                                      remove_unused_columns=False, disable_tqdm=True)
            trainer = CountingTrainer(model=model, args=targs, train_dataset=ds,
                                      data_collator=DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=-100),
                                      callbacks=[Clock()])
            trainer.train()
    t0, t1 = marks[args.warmup], marks[args.warmup + args.steps]
    peak = mem.peak_between(t0, t1)
    return {"tokens": counted["tokens"], "seconds": t1 - t0, "tokens_per_s": counted["tokens"] / (t1 - t0),
            "peak_mib": (peak - (0 if args.device == "cuda" else base)) / 2**20, "steps": args.steps}


def child(args) -> None:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    fn = side_ours if args.side == "ours" else side_peer
    result = fn(args)
    Path(args.result).write_text(json.dumps(result))


# ---------------------------------------------------------------------------------------------- parent
def peer_positions_per_batch(args, base) -> float:
    """Mean padded positions (batch × longest sample) of the peer's random micro-batches on this data."""
    from training.trainer.modeling import load_tokenizer

    tok, _ = load_tokenizer(base)
    lens = [len(e.input_ids) for e in _encode(args, tok)]
    rnd = random.Random(0)
    draws = [max(rnd.sample(lens, min(args.batch_size, len(lens)))) * min(args.batch_size, len(lens))
             for _ in range(2000)]
    return sum(draws) / len(draws)


def prepare(args) -> tuple[str, int]:
    """Data file, base model folder (the bundled model, or a ~0.5B one built from a config) → (base, N)."""
    import django

    django.setup()
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, LlamaConfig

    from training.basemodels import bundled_model_ensure

    work = Path(args.workdir)
    (work / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in synthetic_chats(args.samples)))
    base = bundled_model_ensure()
    if args.model_config == "0.5b":
        base_cfg = AutoConfig.from_pretrained(str(base))
        cfg = LlamaConfig(vocab_size=base_cfg.vocab_size, hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                          num_attention_heads=16, num_key_value_heads=16, max_position_embeddings=4096,
                          tie_word_embeddings=True, bos_token_id=base_cfg.bos_token_id, eos_token_id=base_cfg.eos_token_id,
                          pad_token_id=base_cfg.pad_token_id)
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
        folder = work / "model-0.5b"
        model.save_pretrained(folder)
        for f in base.iterdir():
            if f.name.startswith("tokenizer") or f.name in ("chat_template.jinja", "special_tokens_map.json"):
                shutil.copy(f, folder / f.name)
        base = folder
    cfg = AutoConfig.from_pretrained(str(base))
    with torch.device("meta"):
        meta = AutoModelForCausalLM.from_config(cfg)
    embed = {id(p) for p in meta.get_input_embeddings().parameters()} | {id(p) for p in meta.get_output_embeddings().parameters()}
    n_nonembed = sum(p.numel() for p in meta.parameters() if id(p) not in embed)
    return str(base), n_nonembed


def run_side(args, side: str, base: str, batch_size: int | None = None) -> dict:
    result = Path(args.workdir) / f"{side}.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--side", side, "--base", base, "--workdir", args.workdir, "--result", str(result),
           "--device", args.device, "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--batch-size", str(batch_size or args.batch_size), "--max-seq-len", str(args.max_seq_len),
           "--threads", str(args.threads)]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"{side} failed with exit code {proc.returncode}")
    return json.loads(result.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--model-config", default="smollm2", choices=["smollm2", "0.5b"])
    ap.add_argument("--steps", type=int, default=8, help="timed optimiser steps per side and round")
    ap.add_argument("--warmup", type=int, default=2, help="untimed optimiser steps first")
    ap.add_argument("--samples", type=int, default=96)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--max-seq-len", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3, help="fresh subprocesses per side, alternating; medians reported")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads in each side (0 = torch's default)")
    ap.add_argument("--json", default=None, help="also write the results here")
    # internal: one side in a child process
    ap.add_argument("--side", choices=["ours", "peer"], help=argparse.SUPPRESS)
    ap.add_argument("--base", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side:
        return child(args)

    with tempfile.TemporaryDirectory(prefix="bench-train-") as work:
        args.workdir = work
        base, n_nonembed = prepare(args)
        positions = peer_positions_per_batch(args, base)
        eq_rows = max(1, round(positions / args.max_seq_len))
        print(f"data: {args.samples} chats; model {args.model_config} ({n_nonembed / 1e6:.0f}M non-embedding params) "
              f"on {args.device}; {args.warmup} warm-up + {args.steps} timed steps, micro-batch {args.batch_size}, "
              f"max_seq_len {args.max_seq_len}; {args.rounds} rounds, each side in a fresh process; the peer's "
              f"padded micro-batches hold {positions:.0f} positions on average = {eq_rows} packed row(s) of ours")
        rounds = {"ours": [], "ours_eq": [], "peer": []}
        order = ["ours", "ours_eq", "peer"] if eq_rows != args.batch_size else ["ours", "peer"]
        for i in range(args.rounds):
            for side in (order if i % 2 == 0 else order[::-1]):
                r = run_side(args, "ours" if side.startswith("ours") else "peer", base,
                             eq_rows if side == "ours_eq" else None)
                rounds[side].append(r)
            print(f"  round {i + 1}: " + ", ".join(f"{k} {rounds[k][-1]['tokens_per_s']:.0f} tok/s "
                                                   f"{rounds[k][-1]['peak_mib']:.0f} MiB" for k in order), flush=True)
        if eq_rows == args.batch_size:
            rounds["ours_eq"] = rounds["ours"]

    keys = ("tokens_per_s", "peak_mib", "tokens", "seconds")

    def med(side):
        return {k: statistics.median(r[k] for r in rounds[side]) for k in keys}

    ours, ours_eq, peer = med("ours"), med("ours_eq"), med("peer")
    ratio = ours["tokens_per_s"] / peer["tokens_per_s"]
    per_round = [o["tokens_per_s"] / p["tokens_per_s"] for o, p in zip(rounds["ours"], rounds["peer"])]
    print(f"{'median of ' + str(args.rounds) + ' rounds':34}{'tokens/s':>10}{'tokens':>9}{'seconds':>9}{'peak MiB':>10}")
    for name, r in ((f"refinery, micro-batch {args.batch_size} rows", ours),
                    (f"refinery, micro-batch {eq_rows} row(s)*", ours_eq),
                    (f"HF Trainer + PEFT, micro-batch {args.batch_size}", peer)):
        print(f"{name:34}{r['tokens_per_s']:>10.1f}{r['tokens']:>9.0f}{r['seconds']:>9.2f}{r['peak_mib']:>10.0f}")
    print(f"  * the same token budget per micro-batch as the peer's padded batches ({positions:.0f} positions)")
    print(f"tokens/s ratio refinery / HF Trainer (same settings): {ratio:.2f}x (bar >= 1.3x); per round: "
          + ", ".join(f"{x:.2f}" for x in per_round))
    print(f"tokens/s ratio at the same token budget: {ours_eq['tokens_per_s'] / peer['tokens_per_s']:.2f}x")
    print(f"peak memory ratio refinery / HF Trainer: {ours['peak_mib'] / max(peer['peak_mib'], 1e-9):.2f} (same settings), "
          f"{ours_eq['peak_mib'] / max(peer['peak_mib'], 1e-9):.2f} (same token budget)")
    result = {"ours": ours, "ours_same_token_budget": ours_eq, "peer": peer, "ratio": ratio,
              "ratio_same_token_budget": ours_eq["tokens_per_s"] / peer["tokens_per_s"], "equal_budget_rows": eq_rows,
              "peer_positions_per_batch": positions, "ratio_per_round": per_round, "rounds": rounds,
              "device": args.device, "model": args.model_config, "non_embedding_params": n_nonembed}
    if args.device == "cuda":
        import torch

        name = torch.cuda.get_device_name()
        peak = next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
        if peak:
            for r in (ours, ours_eq, peer):
                r["mfu"] = 4 * n_nonembed * r["tokens_per_s"] / (peak * 1e12)
            print(f"MFU on {name} (4·N·tokens/s / {peak} TFLOPS bf16, N = {n_nonembed / 1e6:.0f}M non-embedding): "
                  f"refinery {ours['mfu']:.1%}, HF Trainer {peer['mfu']:.1%}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
