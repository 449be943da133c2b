"""Dataset version services: build an immutable version from a collection's samples, export, diff.

``dataset_version_create`` is the one way a version comes to be (web job, API, CLI):

1. select the collection's samples with the filter spec (origin, language, domain; with annotation
   summaries: labels, agreement, adjudication, quality; with a pipeline run: its kept, PII-scrubbed output);
2. group samples that must share a split (parent/augmented, same source document, near-duplicates);
3. assign seeded, stratified splits (pinned splits kept);
4. decontaminate train against validation/test and uploaded evaluation sets (n-gram overlap);
5. write canonical ``data/<split>.jsonl`` plus the other formats, lineage, card, ``dataset_info.json`` and
   ``manifest.json`` to a temp folder, then number the version and rename the folder in one transaction.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import shutil
import tempfile
import uuid
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ..dataset_spec import NEAR_DUP_THRESHOLD, DatasetSpec, DatasetSpecError
from ..decontam import HeldOutIndex, messages_text
from ..export import alpaca, hf, llamafactory, sharegpt
from ..export import card as card_mod
from ..export import messages as messages_fmt
from ..export.base import (
    FORMATS,
    ExportError,
    apply_cot,
    file_sha256,
    iter_jsonl,
    write_json_atomic,
    write_jsonl_atomic,
    write_text_atomic,
)
from ..models.datasets import SPLITS, DatasetVersion, EvaluationSet
from ..splits import PIN_STRENGTH, UnionFind, assign_splits, near_duplicate_pairs, token_hashes

MANIFEST_VERSION = 1
MANIFEST_LIST_CAP = 200  # per-sample lists kept in the database copy of the manifest (manifest.json has them all)
LABEL_CHUNK = 500
DECONTAM_BATCH = 2000  # train samples checked against the held-out index per vectorised search
LABEL_MAX_CHARS = 100  # longer strings in a label are free text (an edited answer), not a category
JSONL_WRITERS = {"messages": messages_fmt, "alpaca": alpaca, "sharegpt": sharegpt}
VALID_ROLES = ("system", "user", "assistant")


class DatasetError(ValueError):
    """A dataset version cannot be built as asked; the message says why (nothing is written)."""


# ============================================================================ selection
@dataclasses.dataclass
class Candidate:
    sample_id: int
    messages: list[dict]
    origin: str
    method: str
    domain: str
    language: str
    intent: str
    pinned: str
    parent_id: int | None
    source_document_id: int | None
    source_file_id: int | None
    label: str | None = None
    agreement: float | None = None
    quality: float | None = None
    adjudicated: bool = False
    projects: tuple[int, ...] = ()
    pipeline_run_id: int | None = None
    cot_stripped: bool = False

    @functools.cached_property
    def content_hash(self) -> str:
        """Hash of the final messages (read only after selection has settled them)."""
        return hashlib.sha256(json.dumps(self.messages, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


@dataclasses.dataclass
class Selection:
    candidates: list[Candidate]
    excluded: Counter
    total: int
    run: Any | None
    labels_available: bool
    merged_system_messages: int = 0  # samples whose leading system messages were merged into one


def validate_messages(messages: Any) -> str | None:
    """Why ``messages`` cannot be a training sample (None when it can): optional leading system
    message(s) (several are merged into one by ``merge_system_messages``), then alternating user/assistant
    turns starting with user and ending with assistant."""
    if not isinstance(messages, list) or not messages:
        return "no messages"
    i = 0
    while i < len(messages) and isinstance(messages[i], dict) and messages[i].get("role") == "system":
        i += 1
    turns = messages[i:]
    if len(turns) < 2 or len(turns) % 2:
        return "needs user/assistant pairs"
    for j, m in enumerate(turns):
        if not isinstance(m, dict) or m.get("role") != ("user" if j % 2 == 0 else "assistant"):
            return "turns must alternate user/assistant"
        if not isinstance(m.get("content"), str) or not m["content"].strip():
            return "empty message"
    return None


def merge_system_messages(messages: list[dict]) -> tuple[list[dict], bool]:
    """One leading system message at most: sharegpt and alpaca have a single ``system`` field and chat
    templates expect one, so several leading system messages become one (joined by a blank line, in order)
    in every format alike. Returns (messages, merged?)."""
    n = 0
    while n < len(messages) and messages[n]["role"] == "system":
        n += 1
    if n < 2:
        return messages, False
    merged = {"role": "system", "content": "\n\n".join(m["content"] for m in messages[:n])}
    return [merged, *messages[n:]], True


def _label_text(value: Any) -> str | None:
    """The categorical part of a final label, as one string (for filters, strata and charts).

    Annotation labels are dicts (field → value): choice/taxonomy fields give the label; ratings, the
    accept/reject/edit decision, spans and the edited response text are left out.
    """
    if value in (None, "", [], {}):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        try:
            from annotation.schemes import DECISIONS
        except ImportError:
            DECISIONS = ("accept", "reject", "edit")
        cats = {k: v for k, v in value.items()
                if isinstance(v, str) and v and v not in DECISIONS and len(v) <= LABEL_MAX_CHARS
                and not k.startswith("edited")}
        if not cats:
            return None
        if len(cats) == 1:
            return next(iter(cats.values()))
        return "; ".join(f"{k}={cats[k]}" for k in sorted(cats))
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _float_or_none(value: Any) -> float | None:
    return None if value is None else round(float(value), 6)


def _label_summaries(sample_ids: list[int]) -> dict[int, Any] | None:
    """Annotation summaries per sample (None when the annotation area offers none)."""
    try:
        from annotation.selectors import sample_label_summaries
    except ImportError:
        return None
    out: dict[int, Any] = {}
    for i in range(0, len(sample_ids), LABEL_CHUNK):
        out.update(sample_label_summaries(sample_ids=sample_ids[i:i + LABEL_CHUNK]))
    return out


def _resolve_run(collection, spec: DatasetSpec):
    if not spec.pipeline_run:
        return None
    from curation import selectors as curation_selectors

    if spec.pipeline_run == "latest":
        run = curation_selectors.pipeline_run_latest(collection=collection)
        if run is None:
            raise DatasetSpecError(f"pipeline_run=latest: collection {collection.name!r} has no finished pipeline run")
        return run
    PipelineRun = apps.get_model("curation", "PipelineRun")
    run = PipelineRun.objects.filter(pk=int(spec.pipeline_run)).first()
    if run is None or getattr(run, "collection_id", collection.pk) != collection.pk:
        raise DatasetSpecError(f"pipeline_run={spec.pipeline_run}: no such run in collection {collection.name!r}")
    return run


class RunScrubber:
    """The PII step(s) of a pipeline run, rebuilt from the run's step snapshot (same options: mode, types,
    names, salt), for text that enters a version after the run — an annotator's edited answer."""

    def __init__(self, run) -> None:
        self.configs = [s for s in (getattr(run, "steps", None) or []) if isinstance(s, dict) and s.get("step") == "pii"]
        self._steps: list | None = None

    def scrub_turn(self, messages: list[dict], index: int) -> str | None:
        """The content of turn ``index`` scrubbed as the run would have scrubbed ``messages`` (all turns share one
        placeholder map, so a value the sample already had gets the placeholder the run gave it, and a name
        found in one turn is a name in every turn); None when the run's step drops records with PII."""
        texts = [m.get("content") if isinstance(m, dict) and isinstance(m.get("content"), str) else ""
                 for m in messages]
        if not self.configs:
            return texts[index]
        if self._steps is None:
            from curation.pipeline.base import build_step

            self._steps = [build_step("pii", c.get("options") or {}) for c in self.configs]
        for step in self._steps:
            results = step.scrubber.scrub_group(texts)
            if results[index].found and step.options.mode == "drop":
                return None
            texts = [r.text for r in results]
        return texts[index]


def _apply_edit(base: list[dict], edited_raw: list[dict], scrubber: RunScrubber | None) -> list[dict] | None:
    """An "edit" decision on top of the messages the version uses (the run's scrubbed output, or the sample's).

    The annotation summary's ``edited_messages`` is the sample as ingested with the edited answer as its last
    assistant turn. Only that answer is taken and put in place of ``base``'s last assistant turn; with a
    pipeline run it is first scrubbed with the run's PII settings — an annotator can type personal data too —
    in the context of the sample as the run saw it. None: the run's pii step would drop the edited sample.
    """
    from annotation.selectors import edited_messages

    index = next((i for i in range(len(edited_raw) - 1, -1, -1)
                  if isinstance(edited_raw[i], dict) and edited_raw[i].get("role") == "assistant"), None)
    if index is None or not isinstance(edited_raw[index].get("content"), str):
        return base
    answer = scrubber.scrub_turn(edited_raw, index) if scrubber is not None else edited_raw[index]["content"]
    return None if answer is None else edited_messages(base, answer)


def dataset_samples_select(*, collection, spec: DatasetSpec | dict, ctx=None) -> Selection:
    """The samples a version with ``spec`` would contain (before splitting and decontamination)."""
    spec = spec if isinstance(spec, DatasetSpec) else DatasetSpec.parse(spec)
    Sample = apps.get_model("curation", "Sample")
    run = _resolve_run(collection, spec)
    run_outputs: dict[int, list[dict]] | None = None
    if run is not None:
        from curation import selectors as curation_selectors

        run_outputs = curation_selectors.run_sample_outputs(run=run)

    base = Sample.objects.filter(collection=collection)
    total = base.count()
    qs = base
    if spec.origins:
        qs = qs.filter(origin__in=spec.origins)
    if spec.languages:
        qs = qs.filter(language__in=spec.languages)
    if spec.domains:
        qs = qs.filter(domain__in=spec.domains)
    qs = qs.order_by("id").values_list(
        "id", "messages", "origin", "method", "domain", "language", "intent", "split", "parent_id",
        "source_document_id", "source_file_id", "meta",
    )
    excluded: Counter = Counter()
    matched = qs.count()
    if total - matched:
        excluded["filtered out (origin/language/domain)"] = total - matched

    rows: list[tuple] = []
    iterator = qs.iterator(chunk_size=2000)
    if ctx is not None:
        iterator = ctx.track(iterator, total=matched, stage="Selecting samples")
    cands: list[Candidate] = []
    for (sid, msgs, origin, method, domain, language, intent, pinned, parent_id, doc_id, file_id, meta) in iterator:
        if run_outputs is not None:
            if sid not in run_outputs:
                excluded["not kept by the pipeline run"] += 1
                continue
            msgs = run_outputs[sid]
        cand = Candidate(sid, msgs, origin, method or "", domain or "", language or "", intent or "", pinned or "",
                         parent_id, doc_id, file_id, pipeline_run_id=getattr(run, "pk", None))
        cot = (meta or {}).get("cot") if isinstance(meta, dict) else None
        rows.append((cand, cot))
    summaries = _label_summaries([c.sample_id for c, _ in rows]) if rows else {}
    if spec.needs_labels and summaries is None:
        raise DatasetSpecError("Label filters (labels, min_agreement, adjudicated_only, min_quality) need the "
                               "annotation app's label summaries, which are not available")
    run_scrubber = RunScrubber(run) if run is not None else None
    merged_system = 0
    for cand, cot in rows:
        s = (summaries or {}).get(cand.sample_id)
        if s is not None:
            cand.label = _label_text(getattr(s, "final_label", None))
            cand.agreement = _float_or_none(getattr(s, "agreement", None))
            cand.quality = _float_or_none(getattr(s, "quality_rating", None))
            cand.adjudicated = bool(getattr(s, "adjudicated", False))
            cand.projects = tuple(getattr(s, "project_ids", ()) or ())
            if getattr(s, "decision", "") == "reject":
                excluded["rejected in review"] += 1
                continue
            if getattr(s, "decision", "") == "edit" and getattr(s, "edited_messages", None):
                edited = _apply_edit(cand.messages, s.edited_messages, run_scrubber)
                if edited is None:
                    excluded["edited answer contains PII (the run's pii step drops such samples)"] += 1
                    continue
                cand.messages = edited
        if spec.labels and cand.label not in spec.labels:
            excluded["label not selected"] += 1
            continue
        if spec.adjudicated_only and not cand.adjudicated:
            excluded["not adjudicated"] += 1
            continue
        if spec.min_agreement is not None and (cand.agreement is None or cand.agreement < spec.min_agreement):
            excluded["agreement below minimum"] += 1
            continue
        if spec.min_quality is not None and (cand.quality is None or cand.quality < spec.min_quality):
            excluded["quality below minimum"] += 1
            continue
        problem = validate_messages(cand.messages)
        if problem:
            excluded[f"invalid messages: {problem}"] += 1
            continue
        cand.messages, merged = merge_system_messages([{"role": m["role"], "content": m["content"]} for m in cand.messages])
        merged_system += merged
        cand.messages, cand.cot_stripped = apply_cot(cand.messages, cot, spec.cot)
        cands.append(cand)
    return Selection(cands, excluded, total, run, summaries is not None, merged_system)


def dataset_preview_count(*, collection, spec: dict) -> dict:
    """Live count for the create form: how many samples the spec selects, and why others are left out."""
    sel = dataset_samples_select(collection=collection, spec=spec)
    langs = Counter(c.language or "unknown" for c in sel.candidates)
    return {"selected": len(sel.candidates), "total": sel.total, "excluded": dict(sel.excluded),
            "languages": dict(langs.most_common())}


# ============================================================================ grouping and splits
AUGMENTED_HELD_OUT = "augmented from held-out sample"
AUGMENTED_PINNED = "augmented sample pinned to a held-out split"


def _is_augmented(c: Candidate) -> bool:
    return c.origin == "augmented"


def _group_and_split(cands: list[Candidate], spec: DatasetSpec, th_of: dict[int, Any],
                     ctx=None) -> tuple[dict[int, str], dict[int, str], dict, list[dict]]:
    """→ (sample id → split, sample id → group key, stats, augmented samples left out).

    Groups (union-find): a sample with its parent and siblings, samples of one source document, samples with
    the same content hash, exact and MinHash near-duplicates (``near_duplicate_pairs``). Splits are assigned
    to the groups' *original* (non-augmented) members only, so augmentation never decides which originals
    are held out. Augmented members then follow their group into train; a group that went to validation or
    test keeps its originals there and leaves its augmented members out of the version (listed with
    ``AUGMENTED_HELD_OUT``): held-out splits hold only real samples, and no paraphrase of a held-out sample is
    trained on. A group with no original in the version (parents filtered out) goes to train.
    """
    uf = UnionFind()
    by_hash: dict[str, int] = {}
    for c in cands:
        uf.find(c.sample_id)
        if c.parent_id:
            uf.union(c.sample_id, c.parent_id)  # also joins siblings whose parent is not selected
        if c.source_document_id:
            uf.union(c.sample_id, f"d{c.source_document_id}")
        # identical samples share a group (and so the group key, the smallest content hash, is unique)
        first = by_hash.setdefault(c.content_hash, c.sample_id)
        if first != c.sample_id:
            uf.union(first, c.sample_id)
    if ctx is not None:
        ctx.progress(0, len(cands), stage="Grouping near-duplicates", force=True)
    pairs = near_duplicate_pairs(((c.sample_id, th_of[c.sample_id]) for c in cands), threshold=NEAR_DUP_THRESHOLD)
    for a, b in pairs:
        uf.union(a, b)
    members: dict[Any, list[Candidate]] = defaultdict(list)
    for c in cands:
        members[uf.find(c.sample_id)].append(c)
    groups: dict[str, list[int]] = {}
    strata: dict[str, str] = {}
    pinned: dict[str, str] = {}
    group_of: dict[int, str] = {}
    augmented_of: dict[str, list[Candidate]] = {}
    for mem in members.values():
        key = min(c.content_hash for c in mem)
        originals = [c for c in mem if not _is_augmented(c)]
        augmented_of[key] = [c for c in mem if _is_augmented(c)]
        placed = originals or mem
        groups[key] = [c.sample_id for c in placed]
        labels = Counter(c.label or c.domain or "" for c in placed)
        strata[key] = min(labels, key=lambda lab: (-labels[lab], lab))
        pins = [c.pinned for c in originals if c.pinned in PIN_STRENGTH]
        if pins:
            pinned[key] = max(pins, key=PIN_STRENGTH.__getitem__)
        elif not originals:
            pinned[key] = "train"
        for c in mem:
            group_of[c.sample_id] = key
    if ctx is not None:
        ctx.progress(0, len(groups), stage="Assigning splits", force=True)
    split_of = assign_splits(groups=groups, strata=strata, pinned=pinned, ratios=spec.ratios, seed=spec.seed)
    left_out: list[dict] = []
    for key, aug in augmented_of.items():
        split = split_of[groups[key][0]]
        for c in aug:
            if c.pinned in ("validation", "test"):
                left_out.append({"id": str(c.sample_id), "reason": AUGMENTED_PINNED, "parent": c.parent_id,
                                 "split": c.pinned})
            elif split == "train":
                split_of[c.sample_id] = "train"
            else:
                left_out.append({"id": str(c.sample_id), "reason": AUGMENTED_HELD_OUT, "parent": c.parent_id,
                                 "split": split})
    left_out.sort(key=lambda e: _id_key(e["id"]))
    stats = {"seed": spec.seed, "ratios": spec.ratios, "groups": len(groups),
             "multi_sample_groups": sum(1 for k in groups if len(groups[k]) + len(augmented_of[k]) > 1),
             "largest_group": max((len(groups[k]) + len(augmented_of[k]) for k in groups), default=0),
             "near_duplicate_pairs": len(pairs), "pinned_groups": len(pinned),
             "augmented_left_out": len(left_out),
             "stratified_by": "label" if any(c.label for c in cands) else "domain"}
    return split_of, group_of, stats, left_out


def _eval_set_texts(names: list[str]) -> list[tuple[str, Iterator[str]]]:
    out = []
    found = {e.name: e for e in EvaluationSet.objects.filter(name__in=names)}
    missing = [n for n in names if n not in found]
    if missing:
        raise DatasetSpecError(f"eval_sets: no evaluation set named {', '.join(missing)}")
    for name in names:
        out.append((name, (r.get("text", "") for r in iter_jsonl(found[name].file))))
    return out


def _decontaminate(cands: list[Candidate], split_of: dict[int, str], spec: DatasetSpec, th_of: dict[int, Any],
                   ctx=None) -> tuple[set[int], list[dict]]:
    """Train samples whose n-grams overlap held-out text too much → (excluded ids, manifest entries)."""
    if ctx is not None:
        ctx.progress(0, None, stage="Indexing held-out n-grams", force=True)
    index = HeldOutIndex(spec.ngram)
    for c in cands:
        if split_of[c.sample_id] != "train":
            index.add(th_of[c.sample_id], split_of[c.sample_id])
    for name, texts in _eval_set_texts(spec.eval_sets):
        for text in texts:
            index.add(text, f"eval:{name}")
    excluded: set[int] = set()
    entries: list[dict] = []
    if not index:
        return excluded, entries
    train = [c for c in cands if split_of[c.sample_id] == "train"]
    batches = [train[i:i + DECONTAM_BATCH] for i in range(0, len(train), DECONTAM_BATCH)]
    it: Iterable[list[Candidate]] = batches if ctx is None else ctx.track(batches, stage="Decontaminating")
    for batch in it:
        for c, (share, source) in zip(batch, index.overlaps([th_of[c.sample_id] for c in batch])):
            if share >= spec.max_overlap:
                excluded.add(c.sample_id)
                entries.append({"id": str(c.sample_id), "overlap": round(share, 3), "against": source})
    return excluded, entries


# ============================================================================ writing
def _order(seed: int, sample_id: int) -> bytes:
    return hashlib.sha256(f"{seed}:order:{sample_id}".encode()).digest()


def _canonical(c: Candidate, group: str, file_names: dict[int, str]) -> dict:
    return {
        "id": str(c.sample_id),
        "messages": c.messages,
        "meta": {
            "sample_id": c.sample_id, "origin": c.origin, "method": c.method, "domain": c.domain,
            "language": c.language, "intent": c.intent, "label": c.label, "agreement": c.agreement,
            "quality": c.quality, "source_file": c.source_file_id, "source_file_name": file_names.get(c.source_file_id),
            "source_document": c.source_document_id, "pipeline_run": c.pipeline_run_id, "parent": c.parent_id,
            "group": group[:16],
        },
    }


def _distribution(values: Iterable[str | None]) -> dict[str, int]:
    return dict(Counter(v or "unknown" for v in values).most_common())


def _summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    vs = sorted(values)
    return {"n": len(vs), "mean": round(sum(vs) / len(vs), 4), "min": vs[0], "max": vs[-1],
            "median": vs[len(vs) // 2], "values_histogram": _histogram(vs)}


def _histogram(vs: list[float], bins: int = 10) -> dict:
    lo, hi = vs[0], vs[-1]
    if hi == lo:
        return {"edges": [lo, hi], "counts": [len(vs)]}
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in vs:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    return {"edges": [round(lo + i * width, 4) for i in range(bins + 1)], "counts": counts}


def write_formats(folder: Path) -> dict[str, dict]:
    """From the canonical ``data/<split>.jsonl`` in ``folder``, write the other formats beside it
    (alpaca, sharegpt, parquet). Returns {relative path: file stats}. Streams every split; memory stays bounded.
    """
    files: dict[str, dict] = {}
    for fmt in ("alpaca", "sharegpt"):
        writer = JSONL_WRITERS[fmt]
        for split in SPLITS:
            rel = f"{fmt}/{split}.jsonl"
            files[rel] = write_jsonl_atomic(folder / rel, iter_jsonl(folder / "data" / f"{split}.jsonl"),
                                            writer.convert).as_dict()
    for split in SPLITS:
        rel = f"parquet/{split}.parquet"
        files[rel] = hf.write_parquet(folder / rel, folder / "data" / f"{split}.jsonl").as_dict()
    return files


def write_dataset_info(folder: Path, *, name: str) -> dict:
    """LLaMA-Factory ``dataset_info.json`` of a version folder (every format, every split); its file stats."""
    info = llamafactory.dataset_info(name=name, files={
        "messages": {s: f"data/{s}.jsonl" for s in SPLITS},
        "alpaca": {s: f"alpaca/{s}.jsonl" for s in SPLITS},
        "sharegpt": {s: f"sharegpt/{s}.jsonl" for s in SPLITS},
    })
    return write_json_atomic(folder / "dataset_info.json", info).as_dict()


def _next_number(collection, exports_root: Path) -> int:
    """One more than any number a version of ``collection`` ever had: in the database, or as a folder or zip
    left on disk (a build killed between renaming its folder and committing its row) — numbers are never reused."""
    in_db = DatasetVersion.objects.filter(collection=collection).aggregate(m=Max("number"))["m"] or 0
    on_disk = [int(p.name[1:].removesuffix(".zip")) for p in exports_root.glob("v*")
               if p.name[1:].removesuffix(".zip").isdigit()]
    return max([in_db, *on_disk]) + 1


def _content_hash(files: dict[str, dict]) -> str:
    h = hashlib.sha256()
    for rel in sorted(files):
        if rel.startswith("data/"):
            h.update(f"{rel}:{files[rel]['sha256']}\n".encode())
    return h.hexdigest()


def _lf_name(collection_name: str, number: int) -> str:
    return f"{collection_name}_v{number}".replace("-", "_")


def dataset_version_create(*, collection, spec: dict | DatasetSpec, user=None, notes: str = "", ctx=None) -> DatasetVersion:
    """Build, write and register a new immutable version (v<N+1>) of ``collection``'s dataset."""
    spec = spec if isinstance(spec, DatasetSpec) else DatasetSpec.parse(spec)
    sel = dataset_samples_select(collection=collection, spec=spec, ctx=ctx)
    if not sel.candidates:
        reasons = ", ".join(f"{k}: {v}" for k, v in sel.excluded.items()) or "the collection has no samples"
        raise DatasetError(f"No samples match this filter ({reasons}).")
    cands = sel.candidates
    # token hashes of the non-system text, computed once for near-duplicates and decontamination
    if ctx is not None:
        ctx.progress(0, len(cands), stage="Tokenising", force=True)
    th_of = {c.sample_id: token_hashes(messages_text(c.messages)) for c in cands}
    split_of, group_of, split_stats, left_out = _group_and_split(cands, spec, th_of, ctx)
    left_out_ids = {int(e["id"]) for e in left_out}
    cands = [c for c in cands if c.sample_id not in left_out_ids]
    if sel.run is not None:
        # The run kept one record per duplicate cluster and dropped the rest, so a cluster is never split.
        from curation.selectors import run_duplicate_clusters

        split_stats["pipeline_duplicate_clusters_dropped"] = len(run_duplicate_clusters(run=sel.run))
    contaminated, decontam_entries = _decontaminate(cands, split_of, spec, th_of, ctx)
    del th_of
    kept = [c for c in cands if c.sample_id not in contaminated]
    by_split: dict[str, list[Candidate]] = {s: [] for s in SPLITS}
    for c in kept:
        by_split[split_of[c.sample_id]].append(c)
    for s in SPLITS:
        by_split[s].sort(key=lambda c: _order(spec.seed, c.sample_id))

    SourceFile = apps.get_model("curation", "SourceFile")
    file_ids = {c.source_file_id for c in kept if c.source_file_id}
    sources = {f.pk: f for f in SourceFile.objects.filter(pk__in=file_ids).only("id", "name", "sha256")}
    file_names = {pk: f.name for pk, f in sources.items()}

    exports_root = Path(settings.EXPORTS_DIR) / collection.name
    exports_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=exports_root))
    try:
        files: dict[str, dict] = {}
        for split in SPLITS:
            rel = f"data/{split}.jsonl"
            rows = (_canonical(c, group_of[c.sample_id], file_names) for c in by_split[split])
            if ctx is not None:
                rows = ctx.track(rows, total=len(by_split[split]), stage=f"Writing {split}")
            files[rel] = write_jsonl_atomic(tmp / rel, rows).as_dict()
        lineage = ({"id": str(c.sample_id), "split": split_of[c.sample_id], "origin": c.origin, "method": c.method,
                    "parent": c.parent_id, "source_document": c.source_document_id,
                    "source_file": ({"id": c.source_file_id, "name": sources[c.source_file_id].name,
                                     "sha256": sources[c.source_file_id].sha256} if c.source_file_id in sources else None),
                    "pipeline_run": c.pipeline_run_id, "labelling_projects": list(c.projects)}
                   for c in kept)
        files["lineage.jsonl"] = write_jsonl_atomic(tmp / "lineage.jsonl", lineage).as_dict()
        content_hash = _content_hash(files)
        if ctx is not None:
            ctx.progress(0, None, stage="Writing formats", force=True)
        files.update(write_formats(tmp))
        run = sel.run
        manifest_base = {
            "format_version": MANIFEST_VERSION,
            "collection": collection.name,
            "created_by": getattr(user, "username", None),
            "created_at": timezone.now().isoformat(timespec="seconds"),
            "spec": spec.as_dict(),
            "notes": notes,
            "counts": {
                "collection_samples": sel.total,
                "selected": len(sel.candidates),
                "written": len(kept),
                "splits": {s: len(by_split[s]) for s in SPLITS},
                "excluded": {**dict(sel.excluded), **Counter(e["reason"] for e in left_out),
                             **({"contaminated": len(contaminated)} if contaminated else {})},
                "chain_of_thought_stripped": sum(1 for c in kept if c.cot_stripped),
                "system_messages_merged": sel.merged_system_messages,
            },
            "label_distribution": {s: _distribution(c.label for c in by_split[s]) for s in SPLITS},
            "language_distribution": _distribution(c.language for c in kept),
            "domain_distribution": _distribution(c.domain for c in kept),
            "origin_distribution": _distribution(c.origin for c in kept),
            "agreement": _summary([c.agreement for c in kept if c.agreement is not None]),
            "quality": _summary([c.quality for c in kept if c.quality is not None]),
            "labels_available": sel.labels_available,
            "pipeline_runs": ([{"id": run.pk, "created_at": str(getattr(run, "created_at", "")),
                                "status": str(getattr(run, "status", ""))}] if run is not None else []),
            "labelling_projects": sorted({p for c in kept for p in c.projects}),
            "source_files": [{"id": f.pk, "name": f.name, "sha256": f.sha256} for f in sorted(sources.values(), key=lambda f: f.pk)],
            "splits": split_stats,
            "excluded_samples": left_out,
            "decontamination": {"ngram": spec.ngram, "max_overlap": spec.max_overlap, "eval_sets": spec.eval_sets,
                                "n_excluded": len(decontam_entries), "excluded": decontam_entries},
            "lineage": {"file": "lineage.jsonl", "rows": files["lineage.jsonl"]["rows"]},
            "content_hash": content_hash,
        }
        with transaction.atomic():
            # lock the collection row so two builds never take the same number
            type(collection).objects.select_for_update().filter(pk=collection.pk).first()
            number = _next_number(collection, exports_root)
            parent = (DatasetVersion.objects.filter(collection=collection, status=DatasetVersion.Status.READY)
                      .order_by("-number").first())
            name = f"v{number}"
            files["dataset_info.json"] = write_dataset_info(tmp, name=_lf_name(collection.name, number))
            manifest = {"name": name, **manifest_base, "parent": parent.name if parent else None}
            files["README.md"] = write_text_atomic(tmp / "README.md", card_mod.render(
                manifest=manifest, data_files={s: f"parquet/{s}.parquet" for s in SPLITS})).as_dict()
            manifest["files"] = dict(sorted(files.items()))
            write_json_atomic(tmp / "manifest.json", manifest)
            final = exports_root / name
            version = DatasetVersion(
                collection=collection, number=number, status=DatasetVersion.Status.READY, spec=spec.as_dict(),
                manifest={k: v for k, v in manifest.items() if k not in ("decontamination", "excluded_samples")} | {
                    "excluded_samples": left_out[:MANIFEST_LIST_CAP],
                    "decontamination": {**manifest["decontamination"],
                                        "excluded": decontam_entries[:MANIFEST_LIST_CAP]}},
                path=str(final.relative_to(Path(settings.DATA_DIR))), content_hash=content_hash,
                n_train=len(by_split["train"]), n_validation=len(by_split["validation"]), n_test=len(by_split["test"]),
                parent=parent, notes=notes,
            )
            if user is not None and getattr(user, "is_authenticated", False):
                version.created_by = user
            version.save()
            tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if ctx is not None:
        ctx.log(f"{collection.name} {version.name}: {version.n_train} train / {version.n_validation} validation / "
                f"{version.n_test} test; {len(contaminated)} contaminated excluded")
    return version


# ============================================================================ export, zip
def dataset_version_export(*, version: DatasetVersion, fmt: str, out_dir: Path, ctx=None) -> dict[str, Any]:
    """Write ``version`` in format ``fmt`` into ``out_dir``, with ``dataset_info.json`` and ``manifest.json``.

    The manifest written there is the version's, except ``files``: the files of *this* folder (path → rows,
    bytes, sha256; for ``hf`` every file of the ``save_to_disk`` folder too), and ``export`` says what it is
    (format, the version's name and content hash). Files come from the version's canonical data, streamed.
    """
    if fmt not in FORMATS:
        raise ExportError(f"Unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
    if version.status != DatasetVersion.Status.READY:
        raise DatasetError(f"{version} is not ready (status {version.status})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((version.folder / "manifest.json").read_text(encoding="utf-8"))
    files: dict[str, dict] = {}
    it: Iterable[str] = SPLITS if ctx is None else ctx.track(SPLITS, stage=f"Exporting {fmt}")
    for split in it:
        if fmt in JSONL_WRITERS:
            writer = JSONL_WRITERS[fmt]
            files[f"{split}.jsonl"] = write_jsonl_atomic(out_dir / f"{split}.jsonl", iter_jsonl(version.split_file(split)),
                                                         writer.convert).as_dict()
        else:
            files[f"parquet/{split}.parquet"] = hf.write_parquet(out_dir / "parquet" / f"{split}.parquet",
                                                                 version.split_file(split)).as_dict()
    name = _lf_name(version.collection.name, version.number)
    if fmt == "hf":
        hf.save_to_disk(out_dir / "hf", {s: out_dir / "parquet" / f"{s}.parquet" for s in SPLITS})
        for path in sorted((out_dir / "hf").rglob("*")):
            if path.is_file():
                files[path.relative_to(out_dir).as_posix()] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
        files["README.md"] = write_text_atomic(out_dir / "README.md", card_mod.render(
            manifest=manifest, data_files={s: f"parquet/{s}.parquet" for s in SPLITS})).as_dict()
        info = llamafactory.dataset_info(name=name, files={"messages": {s: f"parquet/{s}.parquet" for s in SPLITS}})
    else:
        info = llamafactory.dataset_info(name=name, files={fmt: {s: f"{s}.jsonl" for s in SPLITS}})
    files["dataset_info.json"] = write_json_atomic(out_dir / "dataset_info.json", info).as_dict()
    manifest["files"] = dict(sorted(files.items()))
    manifest["export"] = {"format": fmt, "version": version.name, "version_content_hash": version.content_hash}
    write_json_atomic(out_dir / "manifest.json", manifest)
    return {"format": fmt, "out": str(out_dir), "files": files}


def dataset_version_zip(*, version: DatasetVersion) -> Path:
    """The version folder as one zip (built once on first request; the folder never changes)."""
    target = version.zip_file
    if target.exists():
        return target
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")  # concurrent first downloads do not collide
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            root = version.folder
            prefix = f"{version.collection.name}-{version.name}"
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    zf.write(path, f"{prefix}/{path.relative_to(root).as_posix()}")
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


# ============================================================================ diff
DIFF_FIELDS = ("messages", "label", "quality")  # what makes a sample present in both versions "changed"


@dataclasses.dataclass
class VersionDiff:
    a: DatasetVersion
    b: DatasetVersion
    added: list[str]
    removed: list[str]
    changed: list[str]
    moved: list[tuple[str, str, str]]  # (id, split in a, split in b)
    unchanged: int
    stats: dict[str, dict[str, Any]]  # stat name → {"a": ..., "b": ...}
    changed_fields: dict[str, int] = dataclasses.field(default_factory=dict)  # field → samples where it changed

    def as_dict(self, *, limit: int | None = None) -> dict:
        cut = (lambda xs: xs[:limit]) if limit else (lambda xs: xs)
        return {"a": self.a.name, "b": self.b.name, "counts": {
            "added": len(self.added), "removed": len(self.removed), "changed": len(self.changed),
            "moved": len(self.moved), "unchanged": self.unchanged},
            "changed_fields": {f: self.changed_fields.get(f, 0) for f in DIFF_FIELDS},
            "added": cut(self.added), "removed": cut(self.removed), "changed": cut(self.changed),
            "moved": [list(m) for m in cut(self.moved)], "stats": self.stats}


def _index(version: DatasetVersion) -> dict[str, tuple[str, tuple]]:
    """sample id → (split, (messages digest, label, quality))."""
    out = {}
    for split in SPLITS:
        for rec in iter_jsonl(version.split_file(split)):
            digest = hashlib.sha1(json.dumps(rec["messages"], ensure_ascii=False, sort_keys=True).encode()).hexdigest()
            meta = rec.get("meta") or {}
            out[rec["id"]] = (split, (digest, meta.get("label"), meta.get("quality")))
    return out


def dataset_version_diff(*, a: DatasetVersion, b: DatasetVersion) -> VersionDiff:
    """Samples added / removed / changed (same sample, different messages, label or quality rating) / moved
    between splits, and statistics side by side."""
    if a.collection_id != b.collection_id:
        raise DatasetError(f"{a} and {b} belong to different collections")
    ia, ib = _index(a), _index(b)
    added = sorted(set(ib) - set(ia), key=_id_key)
    removed = sorted(set(ia) - set(ib), key=_id_key)
    common = sorted(set(ia) & set(ib), key=_id_key)
    changed = [i for i in common if ia[i][1] != ib[i][1]]
    changed_fields = Counter(field for i in changed for field, va, vb in zip(DIFF_FIELDS, ia[i][1], ib[i][1]) if va != vb)
    moved = [(i, ia[i][0], ib[i][0]) for i in common if ia[i][0] != ib[i][0]]
    unchanged = sum(1 for i in common if ia[i] == ib[i])
    stats: dict[str, dict[str, Any]] = {}
    for s in SPLITS:
        stats[f"{s} samples"] = {"a": getattr(a, f"n_{s}"), "b": getattr(b, f"n_{s}")}
    for key in ("language_distribution", "domain_distribution", "origin_distribution"):
        stats[key.replace("_", " ")] = {"a": a.manifest.get(key, {}), "b": b.manifest.get(key, {})}
    stats["labels (train)"] = {"a": a.manifest.get("label_distribution", {}).get("train", {}),
                               "b": b.manifest.get("label_distribution", {}).get("train", {})}
    stats["mean agreement"] = {"a": a.manifest.get("agreement", {}).get("mean"), "b": b.manifest.get("agreement", {}).get("mean")}
    stats["mean quality"] = {"a": a.manifest.get("quality", {}).get("mean"), "b": b.manifest.get("quality", {}).get("mean")}
    stats["contaminated excluded"] = {"a": a.manifest.get("decontamination", {}).get("n_excluded", 0),
                                      "b": b.manifest.get("decontamination", {}).get("n_excluded", 0)}
    return VersionDiff(a, b, added, removed, changed, moved, unchanged, stats, dict(changed_fields))


def _id_key(i: str):
    return (0, int(i)) if i.isdigit() else (1, i)


# ============================================================================ evaluation sets
EVAL_TEXT_FIELDS = ("instruction", "input", "question", "prompt", "query", "output", "answer", "response", "text")


def _eval_texts_from(path: Path, original_name: str) -> Iterator[str]:
    suffix = Path(original_name).suffix.lower()
    if suffix in (".jsonl", ".json"):
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{original_name} line {lineno}: not valid JSON ({exc.msg})") from None
                if isinstance(rec, dict) and isinstance(rec.get("messages"), list):
                    text = messages_text(m for m in rec["messages"] if isinstance(m, dict))
                elif isinstance(rec, dict):
                    text = "\n".join(str(rec[k]) for k in EVAL_TEXT_FIELDS if isinstance(rec.get(k), str) and rec[k])
                elif isinstance(rec, str):
                    text = rec
                else:
                    raise DatasetError(f"{original_name} line {lineno}: expected an object or a string")
                if not text.strip():
                    raise DatasetError(f"{original_name} line {lineno}: no text found (fields: messages or "
                                       f"{', '.join(EVAL_TEXT_FIELDS)})")
                yield text
    elif suffix in (".txt", ""):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield line.strip()
    else:
        raise DatasetError(f"{original_name}: evaluation sets must be .jsonl or .txt")


def evaluation_set_create(*, name: str, path: Path, original_name: str = "", description: str = "", user=None) -> EvaluationSet:
    """Register an evaluation set from an uploaded file (normalised to texts.jsonl)."""
    from django.utils.text import slugify

    slug = slugify(name)
    if not slug:
        raise DatasetError("Give the evaluation set a name (letters, digits, dashes).")
    if EvaluationSet.objects.filter(name=slug).exists():
        raise DatasetError(f"An evaluation set named {slug!r} already exists.")
    original_name = original_name or Path(path).name
    try:
        texts = list(_eval_texts_from(Path(path), original_name))
    except UnicodeDecodeError:
        raise DatasetError(f"{original_name}: not UTF-8 text") from None
    if not texts:
        raise DatasetError(f"{original_name}: no items found")
    folder = Path(settings.DATA_DIR) / "evalsets" / slug
    stats = write_jsonl_atomic(folder / "texts.jsonl", ({"text": t} for t in texts))
    with transaction.atomic():
        ev = EvaluationSet(name=slug, description=description, original_name=original_name[:500],
                           sha256=stats.sha256, n_items=len(texts),
                           path=str((folder / "texts.jsonl").relative_to(Path(settings.DATA_DIR))))
        if user is not None and getattr(user, "is_authenticated", False):
            ev.created_by = user
        ev.save()
    return ev

