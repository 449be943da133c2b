"""The training subprocess: ``python -m training.trainer --config RUN_DIR/config.json``.

Pure PyTorch / transformers / PEFT — it never imports Django, so a crash (or OOM) cannot take the web
server or the worker down, and it can be started with ``accelerate launch -m training.trainer`` on
several GPUs. It writes, beside its outputs:

- ``log.jsonl``   one JSON object per line (events start/train/eval/checkpoint/done) — the run page polls it;
- ``checkpoints/step-N/``  adapter + optimizer/scheduler/RNG state (per rank), for resume and clean stops;
- ``best.pt``     the weights with the best validation loss so far (restored before saving the result);
- ``adapter/``    the final LoRA adapter (or full model), ``result.json`` the summary.

Modules: ``config`` (the one definition of run settings and defaults), ``data`` (chat template,
assistant-only labels, tokenised cache, padding-free packing), ``loop`` (the training loop),
``metrics`` (BLEU / ROUGE-L / exact match / token F1), ``evaluate`` (loss, perplexity, generation).
"""
