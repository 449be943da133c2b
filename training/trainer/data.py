"""Chat data → token ids with assistant-only labels, cached; padding-free packing into rows.

Labels: the conversation is rendered once with the tokenizer's chat template; the character span of
each assistant turn (its content and the end-of-turn marker, so the model learns to stop) is found by
rendering the prefix with ``add_generation_prompt=True``. Tokens whose first character lies in such a
span carry loss (label = token id); every other token has label ``IGNORE`` (-100).

Packing: examples are placed first-fit-decreasing into rows of ``max_seq_len`` tokens; ``position_ids``
restart at 0 for every example, which makes transformers build a block-diagonal causal mask (no
attention across examples), and the first token of each example never carries loss.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

IGNORE = -100
ROLES = ("system", "user", "assistant")


class DataError(ValueError):
    """Bad training data; the message names the file, line and sample."""


@dataclass
class Example:
    sample_id: str
    input_ids: list[int]
    labels: list[int]

    @property
    def n_loss(self) -> int:
        return sum(1 for t in self.labels if t != IGNORE)


def read_messages_jsonl(path: str | Path) -> list[dict]:
    """Records ``{"id", "messages": [...]}`` from a messages-format JSONL file, checked line by line."""
    out = []
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path.name} line {lineno}: not JSON ({exc.msg})") from None
            msgs = rec.get("messages") if isinstance(rec, dict) else None
            if not isinstance(msgs, list) or not msgs:
                raise DataError(f"{path.name} line {lineno}: no 'messages' list")
            for i, m in enumerate(msgs):
                if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
                    raise DataError(f"{path.name} line {lineno}: message {i} needs role in {ROLES} and text content")
            if not any(m["role"] == "assistant" for m in msgs):
                raise DataError(f"{path.name} line {lineno} (sample {rec.get('id', '?')}): no assistant message to learn from")
            out.append({"id": str(rec.get("id", lineno)), "messages": msgs, "line": lineno})
    return out


def render_with_spans(tokenizer, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the [start, end) character spans of its assistant turns."""
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = tokenizer.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True) if i else ""
        through = tokenizer.apply_chat_template(messages[: i + 1], tokenize=False)
        if not text.startswith(through) or not through.startswith(before):
            raise DataError("The chat template does not render conversations prefix-stably; cannot mask prompt tokens.")
        spans.append((len(before), len(through)))
    return text, spans


def encode_conversation(tokenizer, messages: list[dict], max_seq_len: int) -> tuple[list[int], list[int]]:
    """(input_ids, labels) with loss only on assistant turns; truncated to ``max_seq_len``."""
    text, spans = render_with_spans(tokenizer, messages)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = enc["input_ids"]
    labels = []
    si = 0
    for tok_id, (start, _end) in zip(ids, enc["offset_mapping"]):
        while si < len(spans) and start >= spans[si][1]:
            si += 1
        inside = si < len(spans) and spans[si][0] <= start < spans[si][1]
        labels.append(tok_id if inside else IGNORE)
    if labels:
        labels[0] = IGNORE  # nothing predicts the first token
    return ids[:max_seq_len], labels[:max_seq_len]


def tokenizer_fingerprint(tokenizer) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(tokenizer.get_vocab(), sort_keys=True).encode())
    h.update((tokenizer.chat_template or "").encode())
    h.update(str(tokenizer.pad_token_id).encode())
    return h.hexdigest()[:16]


def file_fingerprint(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


CACHE_FORMAT = 2  # bump when the cached layout changes


def encode_file(tokenizer, path: str | Path, max_seq_len: int, *, cache_dir: str | None = None,
                strict: bool = True, limit: int | None = None) -> list[Example]:
    """Tokenise a split (cached per data file + tokenizer + max_seq_len). ``strict`` = hard error when a
    sample carries no loss token (e.g. truncation removed its answer) — raised before any training, on a
    cache hit exactly as on a miss (the cache keeps every sample, the check runs after reading it)."""
    cache = None
    examples: list[Example] | None = None
    lines: list[int] = []  # source line of each example (for error messages)
    if cache_dir:
        key = f"{file_fingerprint(path)}-{tokenizer_fingerprint(tokenizer)}-{max_seq_len}-v{CACHE_FORMAT}"
        cache = Path(cache_dir) / f"{key}.json"
        if cache.exists():
            try:
                rows = json.loads(cache.read_text())
                examples = [Example(r[0], r[1], r[2]) for r in rows]
                lines = [int(r[3]) for r in rows]
            except (ValueError, IndexError, TypeError):
                examples = None  # a damaged cache file is rebuilt below
    if examples is None:
        examples = []
        for rec in read_messages_jsonl(path):
            ids, labels = encode_conversation(tokenizer, rec["messages"], max_seq_len)
            examples.append(Example(rec["id"], ids, labels))
            lines.append(rec["line"])
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                json.dump([[e.sample_id, e.input_ids, e.labels, line] for e, line in zip(examples, lines)], fh)
            os.replace(tmp, cache)
    empty = [f"sample {e.sample_id} (line {line})" for e, line in zip(examples, lines) if e.n_loss == 0]
    if empty and strict:
        raise DataError(
            f"{Path(path).name}: {len(empty)} sample(s) have no tokens that carry loss after applying the chat "
            f"template and truncating to max_seq_len={max_seq_len}: {', '.join(empty[:10])}"
            + (" …" if len(empty) > 10 else "") + ". Raise max_seq_len or fix the samples.")
    examples = [e for e in examples if e.n_loss]
    return examples[:limit] if limit else examples


# ------------------------------------------------------------------------------------------ packing
def pack_rows(examples: list[Example], max_seq_len: int, *, packing: bool = True) -> list[list[int]]:
    """Group example indices into rows of ≤ max_seq_len tokens (first-fit decreasing)."""
    if not packing:
        return [[i] for i in range(len(examples))]
    order = sorted(range(len(examples)), key=lambda i: -len(examples[i].input_ids))
    rows: list[list[int]] = []
    free: list[int] = []
    for i in order:
        n = len(examples[i].input_ids)
        for r, space in enumerate(free):
            if n <= space:
                rows[r].append(i)
                free[r] -= n
                break
        else:
            rows.append([i])
            free.append(max_seq_len - n)
    return rows


def batch_plan(n_rows: int, *, batch_size: int, grad_accum: int, epochs: float, max_steps: int,
               seed: int) -> tuple[list[list[int]], int]:
    """The deterministic sequence of micro-batches (row indices) for the whole run, and the step count.

    Deterministic from the seed, so a resumed run replays exactly the batches it had not yet seen.
    """
    per_step = batch_size * grad_accum
    steps_per_epoch = max(1, -(-n_rows // per_step))
    total_steps = max_steps if max_steps > 0 else max(1, round(epochs * steps_per_epoch))
    micro: list[list[int]] = []
    epoch = 0
    while len(micro) < total_steps * grad_accum:
        order = list(range(n_rows))
        random.Random(seed + epoch).shuffle(order)
        for s in range(0, n_rows, batch_size):
            micro.append(order[s:s + batch_size])
        epoch += 1
    return micro[: total_steps * grad_accum], total_steps


def collate_rows(examples: list[Example], rows: list[list[int]], row_ids: list[int], pad_id: int):
    """Tensors for a micro-batch of packed rows: input_ids, position_ids, labels (no attention mask).

    Rows are padded to the longest row in the batch; the padding forms its own block (positions from 0)
    and carries no loss.
    """
    import torch

    seqs = []
    for r in row_ids:
        ids, pos, lab = [], [], []
        for ei in rows[r]:
            e = examples[ei]
            ids.extend(e.input_ids)
            pos.extend(range(len(e.input_ids)))
            lab.append(IGNORE)
            lab.extend(e.labels[1:])
        seqs.append((ids, pos, lab))
    width = max(len(s[0]) for s in seqs)
    input_ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    position_ids = torch.zeros((len(seqs), width), dtype=torch.long)
    labels = torch.full((len(seqs), width), IGNORE, dtype=torch.long)
    n_tokens = 0
    for b, (ids, pos, lab) in enumerate(seqs):
        n = len(ids)
        n_tokens += n
        input_ids[b, :n] = torch.tensor(ids)
        position_ids[b, :n] = torch.tensor(pos)
        labels[b, :n] = torch.tensor(lab)
        if n < width:
            position_ids[b, n:] = torch.arange(width - n)
    return input_ids, position_ids, labels, n_tokens


def label_preview(tokenizer, messages: list[dict], max_seq_len: int) -> list[dict]:
    """Per token: its text and whether it carries loss — for the masked-label preview page."""
    ids, labels = encode_conversation(tokenizer, messages, max_seq_len)
    return [{"text": tokenizer.decode([t]), "loss": lab != IGNORE} for t, lab in zip(ids, labels)]
