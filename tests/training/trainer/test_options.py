"""Trainer options, each with the real bundled SmolLM2 on CPU (a few steps, short sequences): full fine-tuning
with the best-validation weights kept, early stopping, gradient checkpointing, label smoothing, lora.layers,
the ChatML fallback and its mismatch warning, and the tokenised-dataset cache (which still enforces the
no-loss check on a hit)."""
import json
import signal

import pytest
import torch

from training.basemodels import bundled_model_ensure
from training.trainer.config import LoraSettings, config_validate
from training.trainer.data import DataError, encode_conversation, encode_file
from training.trainer.loop import EXIT_OK, run_training
from training.trainer.modeling import (CHATML_TEMPLATE, LossModule, add_lora, eval_loss, load_model, load_tokenizer,
                                       tokenizer_prepare)

from .conftest import learnable_records


def off_pattern_records(n: int, start: int = 0) -> list[dict]:
    """Validation chats whose answers contradict the train pattern: training on the train split makes their
    loss rise from the first steps on (so the best validation step is an early one)."""
    recs = learnable_records(n, start)
    for r in recs:
        r["messages"][-1]["content"] = "I do not know the colour, sorry."
    return recs


def _jsonl(path, recs):
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return str(path)


@pytest.fixture
def restore_signals():
    """run_training installs its SIGTERM/SIGINT stop handlers in this (pytest's) process; put them back."""
    from training.trainer import stop

    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)
    stop._state["stop"] = False


def _run(tmp_path, name: str, *, validation=None, test=None, **over) -> tuple[dict, list[dict], object]:
    """One in-process trainer run; returns (result.json, log events, output folder)."""
    out = tmp_path / name
    out.mkdir()
    data = {"base_model": str(bundled_model_ensure()), "output_dir": str(out),
            "train_file": _jsonl(out / "train.jsonl", learnable_records(8)),
            "validation_file": _jsonl(out / "validation.jsonl", validation) if validation else "",
            "test_file": _jsonl(out / "test.jsonl", test) if test else "",
            "learning_rate": 2e-3, "batch_size": 1, "max_seq_len": 64, "warmup_ratio": 0.0,
            "early_stopping_patience": 0, "eval_generate_samples": 0, "max_steps": 2, "save_every": 1000,
            **over}
    assert run_training(config_validate(data)) == EXIT_OK
    events = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return json.loads((out / "result.json").read_text()), events, out


def _train_losses(events):
    return [e["loss"] for e in events if e["event"] == "train"]


@pytest.mark.slow
def test_full_fine_tuning_keeps_the_best_validation_weights(tmp_path, restore_signals):
    val = off_pattern_records(3, start=8)
    result, events, out = _run(tmp_path, "full", validation=val, method="full", max_steps=3, eval_every=1,
                               learning_rate=5e-4)
    start = next(e for e in events if e["event"] == "start")
    assert start["method"] == "full" and start["trainable_params"] == start["total_params"]
    evals = {e["step"]: e["loss"] for e in events if e["event"] == "eval"}
    assert sorted(evals) == [1, 2, 3]
    best_step = min(evals, key=evals.get)
    assert best_step < 3, f"validation loss did not rise after the first step: {evals}"
    assert result["method"] == "full" and result["best_step"] == best_step
    assert result["best_validation_loss"] == pytest.approx(evals[best_step])
    # the saved model is a full model (no adapter) and has the best step's weights, not the last step's
    adapter = out / "adapter"
    assert (adapter / "config.json").exists() and not (adapter / "adapter_config.json").exists()
    tok, _ = load_tokenizer(adapter)
    examples = encode_file(tok, out / "validation.jsonl", 64, strict=False)
    saved = eval_loss(LossModule(load_model(adapter)), examples, max_seq_len=64, batch_size=1,
                      pad_id=tok.pad_token_id, device="cpu")
    assert saved["loss"] == pytest.approx(evals[best_step], rel=1e-4)
    assert saved["loss"] != pytest.approx(evals[3], rel=1e-4)
    assert result["eval_after"]["split"] == "validation"  # no test split here: the validation split is scored


@pytest.mark.slow
def test_early_stopping_after_patience_evaluations_without_improvement(tmp_path, restore_signals):
    result, events, _ = _run(tmp_path, "es", validation=off_pattern_records(3, start=8), max_steps=12,
                             eval_every=1, early_stopping_patience=2, test=learnable_records(2, start=11))
    evals = [e for e in events if e["event"] == "eval"]
    assert [e["step"] for e in evals] == list(range(1, len(evals) + 1))
    # stopped at the first evaluation that was the 2nd in a row without improvement — not before, not after
    assert evals[-1]["bad_evals"] == 2 and all(e["bad_evals"] < 2 for e in evals[:-1])
    assert [e["bad_evals"] for e in evals[-3:]] == [0, 1, 2]
    assert result["status"] == "early_stopped" and result["step"] == evals[-1]["step"] < result["total_steps"]
    assert [e["step"] for e in events if e["event"] == "early_stop"] == [evals[-1]["step"]]
    assert result["best_step"] == evals[-3]["step"]  # and those weights are the ones saved
    assert _train_losses(events) and len(_train_losses(events)) == result["step"]
    assert result["eval_after"]["split"] == "test" and result["eval_before"]["split"] == "test"


@pytest.mark.slow
def test_gradient_checkpointing_gives_the_same_training(tmp_path, restore_signals):
    plain, plain_events, _ = _run(tmp_path, "plain")
    ckpt, ckpt_events, _ = _run(tmp_path, "ckpt", gradient_checkpointing=True)
    assert next(e for e in ckpt_events if e["event"] == "start")["gradient_checkpointing"] is True
    assert next(e for e in plain_events if e["event"] == "start")["gradient_checkpointing"] is False
    # recomputing activations in the backward pass changes nothing in the maths (same seed, same dropout)
    assert _train_losses(ckpt_events) == pytest.approx(_train_losses(plain_events), rel=1e-5)
    grads = [e["grad_norm"] for e in ckpt_events if e["event"] == "train"]
    assert all(g > 0 for g in grads)


@pytest.mark.slow
def test_label_smoothing_in_the_loss_and_in_a_run(tmp_path, restore_signals):
    tok, _ = load_tokenizer(bundled_model_ensure())
    model = load_model(bundled_model_ensure()).eval()
    from training.trainer.data import Example, collate_rows

    ex = Example("a", *encode_conversation(tok, learnable_records(1)[0]["messages"], 64))
    ids, pos, lab, _ = collate_rows([ex], [[0]], [0], tok.pad_token_id)
    with torch.no_grad():
        logits = model(input_ids=ids, position_ids=pos).logits[:, :-1]
        target = lab[:, 1:]
        sel = target != -100
        expected = torch.nn.functional.cross_entropy(logits[sel].float(), target[sel], reduction="sum",
                                                     label_smoothing=0.2)
        plain = torch.nn.functional.cross_entropy(logits[sel].float(), target[sel], reduction="sum")
        module = LossModule(model, label_smoothing=0.2)
        module.train()  # smoothing applies while training…
        smoothed, n = module(ids, pos, lab)
        module.eval()   # …and evaluation losses stay plain cross-entropy (comparable across runs)
        evaluated, _ = module(ids, pos, lab)
    assert int(n) == int(sel.sum())
    assert float(smoothed) == pytest.approx(float(expected), rel=1e-4)
    assert float(evaluated) == pytest.approx(float(plain), rel=1e-4)
    assert float(smoothed) != pytest.approx(float(plain), rel=1e-3)
    # in a run: the setting reaches the loss (same seed and data, the first step's loss differs accordingly)
    base, base_events, _ = _run(tmp_path, "ls0", max_steps=1)
    ls, ls_events, _ = _run(tmp_path, "ls2", max_steps=1, label_smoothing=0.2)
    assert next(e for e in ls_events if e["event"] == "start")["label_smoothing"] == 0.2
    assert _train_losses(ls_events)[0] > _train_losses(base_events)[0]


def test_lora_layers_restrict_the_trainable_parameters():
    model = load_model(bundled_model_ensure())
    cfg = model.config
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    r = 4
    lora_cfg = config_validate({"lora": {"r": r, "layers": [0, 3]}}).lora
    peft_model = add_lora(model, lora_cfg)
    trainable = {n: p.numel() for n, p in peft_model.named_parameters() if p.requires_grad}
    layers = {int(n.split(".layers.")[1].split(".")[0]) for n in trainable}
    assert layers == {0, 3}
    assert all(("q_proj" in n or "v_proj" in n) and "lora_" in n for n in trainable)
    per_layer = r * (cfg.hidden_size + cfg.hidden_size) + r * (cfg.hidden_size + cfg.num_key_value_heads * head_dim)
    assert sum(trainable.values()) == 2 * per_layer
    everywhere = add_lora(load_model(bundled_model_ensure()), LoraSettings(r=r))
    n_all = sum(p.numel() for p in everywhere.parameters() if p.requires_grad)
    assert n_all == cfg.num_hidden_layers * per_layer


def test_chatml_fallback_and_mismatch_warning(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    # 1) SmolLM2's tokenizer without its chat template: ChatML is used, and its markers exist in the vocabulary
    tok = AutoTokenizer.from_pretrained(str(bundled_model_ensure()))
    tok.chat_template = None
    warnings = tokenizer_prepare(tok)
    assert warnings == ["The tokenizer has no chat template; using ChatML."]
    assert tok.chat_template == CHATML_TEMPLATE
    msgs = [{"role": "user", "content": "Colour of sky?"}, {"role": "assistant", "content": "Refinery code BLUE."}]
    ids, labels = encode_conversation(tok, msgs, 64)
    assert tok.decode([t for t, lab in zip(ids, labels) if lab != -100]).strip() == "Refinery code BLUE.<|im_end|>"

    # 2) a vocabulary without ChatML markers (and pad == eos): ChatML fallback + mismatch warning + a distinct pad
    words = ["<unk>", "</s>", "colour", "of", "sky", "?", "refinery", "code", "blue", "."]
    wl = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    wl.pre_tokenizer = pre_tokenizers.Whitespace()
    other = PreTrainedTokenizerFast(tokenizer_object=wl, eos_token="</s>", unk_token="<unk>", pad_token="</s>")
    warnings = tokenizer_prepare(other)
    assert "The tokenizer has no chat template; using ChatML." in warnings
    assert any(w.startswith("Chat template mismatch: the template uses <|im_start|>") for w in warnings)
    assert other.pad_token_id is not None and other.pad_token_id != other.eos_token_id


def test_tokenised_cache_hit_and_no_loss_check_on_a_hit(tmp_path):
    tok, _ = load_tokenizer(bundled_model_ensure())
    cache = tmp_path / "cache"
    path = tmp_path / "split.jsonl"
    recs = learnable_records(3)
    recs.append({"id": "long", "messages": [{"role": "user", "content": "word " * 80},
                                             {"role": "assistant", "content": "yes"}]})
    _jsonl(path, recs)
    # as a validation split (not strict): the sample without loss tokens is left out, the cache is written
    first = encode_file(tok, path, 48, cache_dir=str(cache), strict=False)
    assert [e.sample_id for e in first] == ["0", "1", "2"]
    files = list(cache.glob("*.json"))
    assert len(files) == 1
    # a hit reads the cache (proof: an edit to the cached ids shows up), with the same filtering
    rows = json.loads(files[0].read_text())
    rows[0][1] = [7] + rows[0][1][1:]
    files[0].write_text(json.dumps(rows))
    second = encode_file(tok, path, 48, cache_dir=str(cache), strict=False)
    assert second[0].input_ids[0] == 7 and [e.sample_id for e in second] == ["0", "1", "2"]
    # as a train split (strict) the same cache hit still stops before training, naming the sample and line
    with pytest.raises(DataError, match=r"1 sample\(s\) have no tokens that carry loss.*sample long \(line 4\)"):
        encode_file(tok, path, 48, cache_dir=str(cache), strict=True)
    # another max_seq_len or tokenizer setting is another cache entry
    encode_file(tok, path, 512, cache_dir=str(cache), strict=True)
    assert len(list(cache.glob("*.json"))) == 2
    # a damaged cache file is rebuilt, not trusted
    files[0].write_text("{not json")
    assert [e.input_ids for e in encode_file(tok, path, 48, cache_dir=str(cache), strict=False)] == \
        [e.input_ids for e in first]
