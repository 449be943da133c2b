"""Layer importance: first-order (gradient × weight) sensitivity of each decoder layer's loss.

For a few samples, the assistant-only loss is back-propagated through the frozen base model; a layer's
score is Σ |w · ∂L/∂w| over its attention and MLP projection weights (the Taylor estimate of how much
the loss moves if that layer changes). The suggestion is the smallest set of layers that holds
``coverage`` of the total score — LoRA targets for ``lora.layers``.
"""
from __future__ import annotations

import torch

from .data import Example, collate_rows, pack_rows
from .modeling import LossModule

LAYER_COVERAGE = 0.5


def layer_scores(model, examples: list[Example], *, max_seq_len: int, pad_id: int, progress=None) -> list[float]:
    lm = model
    layers = lm.get_decoder().layers
    for p in lm.parameters():
        p.requires_grad_(False)
    weights = []
    for i, layer in enumerate(layers):
        ws = [m.weight for name, m in layer.named_modules() if isinstance(m, torch.nn.Linear)]
        for w in ws:
            w.requires_grad_(True)
        weights.append(ws)
    loss_module = LossModule(lm)
    loss_module.eval()
    rows = pack_rows(examples, max_seq_len)
    scores = [0.0] * len(layers)
    for r in range(len(rows)):
        ids, pos, lab, _ = collate_rows(examples, rows, [r], pad_id)
        loss_sum, n = loss_module(ids, pos, lab)
        (loss_sum / max(int(n), 1)).backward()
        for i, ws in enumerate(weights):
            scores[i] += float(sum((w.detach() * w.grad).abs().sum() for w in ws if w.grad is not None))
            for w in ws:
                w.grad = None
        if progress:
            progress(r + 1, len(rows))
    return scores


def suggest_layers(scores: list[float], coverage: float = LAYER_COVERAGE) -> list[int]:
    total = sum(scores) or 1.0
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    chosen, acc = [], 0.0
    for i in order:
        chosen.append(i)
        acc += scores[i]
        if acc / total >= coverage:
            break
    return sorted(chosen)
