"""Model side of the trainer: tokenizer preparation, loading base + LoRA, the loss module, evaluation.

Loss is computed only where a label exists: the decoder's hidden states are gathered at labelled
positions before the LM head, so the (vocab × tokens) logits matrix is never built for prompt or
padding tokens — most of the memory and a good part of the time of a plain Trainer step.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .data import IGNORE, Example, collate_rows, pack_rows

# Used when a tokenizer has no chat template of its own.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def tokenizer_prepare(tok) -> list[str]:
    """Give a tokenizer a chat template (ChatML fallback) and a pad token distinct from eos.

    Returns warnings for the user (template missing, or a template whose markers the vocabulary lacks).
    """
    warnings = []
    if not getattr(tok, "chat_template", None):
        tok.chat_template = CHATML_TEMPLATE
        warnings.append("The tokenizer has no chat template; using ChatML.")
    vocab = tok.get_vocab()
    if "<|im_start|>" in (tok.chat_template or "") and "<|im_start|>" not in vocab:
        warnings.append("Chat template mismatch: the template uses <|im_start|> but the vocabulary has no such token.")
    if tok.pad_token_id is None or tok.pad_token_id == tok.eos_token_id:
        # Prefer an existing token that is not eos, so the embeddings need no resize.
        for cand in (tok.unk_token, "<|endoftext|>", "<pad>", "<|pad|>"):
            if cand and cand in vocab and vocab[cand] != tok.eos_token_id:
                tok.pad_token = cand
                break
        else:
            tok.add_special_tokens({"pad_token": "<|pad|>"})
            warnings.append("Added a <|pad|> token (the embeddings are resized).")
    return warnings


def load_tokenizer(base: str | Path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(base))
    warnings = tokenizer_prepare(tok)
    return tok, warnings


def pick_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def load_model(base: str | Path, *, dtype=torch.float32, device: str = "cpu", quantize_4bit: bool = False):
    from transformers import AutoModelForCausalLM

    kwargs = {"dtype": dtype}
    if quantize_4bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                           bnb_4bit_compute_dtype=torch.bfloat16)
        kwargs["device_map"] = {"": 0}
    model = AutoModelForCausalLM.from_pretrained(str(base), **kwargs)
    if not quantize_4bit:
        model.to(device)
    return model


def add_lora(model, lora, *, prepare_kbit: bool = False):
    from peft import LoraConfig, get_peft_model

    if prepare_kbit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model)
    cfg = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                     target_modules=lora.target_modules, layers_to_transform=lora.layers or None,
                     bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, cfg)


def causal_lm_of(model):
    """The transformers CausalLM inside a (possibly PEFT-wrapped) model; LoRA layers are injected in place."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


class LossModule(nn.Module):
    """Summed cross-entropy over labelled tokens only (+ their count). Wrap this, not the model, in DDP."""

    def __init__(self, lm, label_smoothing: float = 0.0):
        super().__init__()
        self.lm = lm
        self.label_smoothing = label_smoothing

    def forward(self, input_ids, position_ids, labels):
        decoder = self.lm.get_decoder()
        hidden = decoder(input_ids=input_ids, position_ids=position_ids, use_cache=False).last_hidden_state
        target = labels[:, 1:]
        sel = target != IGNORE
        h = hidden[:, :-1][sel]
        logits = self.lm.get_output_embeddings()(h).float()
        loss = F.cross_entropy(logits, target[sel], reduction="sum",
                               label_smoothing=self.label_smoothing if self.training else 0.0)
        return loss, sel.sum()


@torch.no_grad()
def eval_loss(loss_module: LossModule, examples: list[Example], *, max_seq_len: int, batch_size: int,
              pad_id: int, device) -> dict | None:
    if not examples:
        return None
    was_training = loss_module.training
    loss_module.eval()
    rows = pack_rows(examples, max_seq_len)
    total, count = 0.0, 0
    for s in range(0, len(rows), batch_size):
        ids, pos, lab, _ = collate_rows(examples, rows, list(range(s, min(s + batch_size, len(rows)))), pad_id)
        loss, n = loss_module(ids.to(device), pos.to(device), lab.to(device))
        total += float(loss)
        count += int(n)
    loss_module.train(was_training)
    mean = total / max(count, 1)
    return {"loss": mean, "perplexity": math.exp(min(mean, 50.0)), "tokens": count, "samples": len(examples)}


def split_prompt_reference(messages: list[dict]) -> tuple[list[dict], str]:
    """Everything before the last assistant turn, and that turn's text (the reference answer)."""
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return messages[:last], messages[last]["content"]


@torch.no_grad()
def generate_replies(model, tokenizer, conversations: list[list[dict]], *, max_new_tokens: int = 64,
                     temperature: float = 0.0, batch_size: int = 8) -> list[str]:
    """Greedy (or sampled) assistant replies for chat prompts, batched with left padding."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out: list[str] = []
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        for s in range(0, len(conversations), batch_size):
            texts = [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
                     for c in conversations[s:s + batch_size]]
            enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            kwargs = {"do_sample": temperature > 0, "max_new_tokens": max_new_tokens,
                      "pad_token_id": tokenizer.pad_token_id, "eos_token_id": tokenizer.eos_token_id}
            if temperature > 0:
                kwargs["temperature"] = temperature
            else:
                kwargs.update(temperature=None, top_p=None, top_k=None)
            gen = model.generate(**enc, **kwargs)
            for row in gen[:, enc["input_ids"].shape[1]:]:
                out.append(tokenizer.decode(row, skip_special_tokens=True).strip())
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    return out


def evaluate_split(model, loss_module, tokenizer, examples: list[Example], records: list[dict], *,
                   max_seq_len: int, batch_size: int, generate_n: int, max_new_tokens: int) -> dict:
    """Loss/perplexity on ``examples`` and BLEU/ROUGE-L/EM/F1 on ``generate_n`` generated answers."""
    from .metrics import text_metrics

    device = next(model.parameters()).device
    result = eval_loss(loss_module, examples, max_seq_len=max_seq_len, batch_size=batch_size,
                       pad_id=tokenizer.pad_token_id, device=device) or {}
    if generate_n and records:
        pairs = [split_prompt_reference(r["messages"]) for r in records[:generate_n]]
        preds = generate_replies(model, tokenizer, [p for p, _ in pairs], max_new_tokens=max_new_tokens)
        result.update(text_metrics(preds, [r for _, r in pairs]))
        result["examples"] = [{"reference": r, "prediction": p} for (_, r), p in zip(pairs[:3], preds[:3])]
    return result
