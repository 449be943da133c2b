"""Dataset version services: build an immutable version from a collection's samples, export, diff.

``dataset_version_create`` is the one way a version comes to be (web job, API, CLI). It streams: memory is
a fixed amount plus about 150 bytes per selected sample (numpy columns), whatever the collection's size.

1. select: the collection's rows are read in chunks (``values_list(...).iterator()``: a server-side cursor
   on PostgreSQL, JSON columns as text), filtered with the spec (origin, language, domain; with annotation
   summaries: labels, agreement, adjudication, quality; with a pipeline run: its kept, PII-scrubbed output);
   each selected sample's rows for every format go to a scratch file (its canonical record, alpaca and
   sharegpt lines, its lineage row) and its token hashes to another; what grouping, splitting and the
   manifest need stays in memory as compact columns (ids, codes, a 128-bit content hash, LSH band hashes);
2. group samples that must share a split (parent/augmented, same source document, identical content,
   exact and near-duplicates — ``training.splits.DuplicateFinder``), all on the columns (union-find in scipy);
3. assign seeded, stratified splits per group (pinned splits kept);
4. decontaminate train against validation/test and uploaded evaluation sets: one pass over the token file
   indexes the held-out side's n-grams, a second queries the train side in sorted batches;
5. write ``data/<split>.jsonl``, ``alpaca/``, ``sharegpt/`` and ``lineage.jsonl`` in one pass over the scratch
   file (rows copied as bytes, files hashed as they are written), ``parquet/`` from the canonical files
   (Arrow, in a background thread while the next split is written), then card, ``dataset_info.json`` and
   ``manifest.json`` — all in a temp folder, then number the version and rename the folder in one transaction.
"""
from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import ujson
import xxhash
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Max, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from ..dataset_spec import NEAR_DUP_THRESHOLD, DatasetSpec, DatasetSpecError
from ..decontam import HeldOutIndex, messages_text
from ..export import alpaca, hf, llamafactory, sharegpt
from ..export import card as card_mod
from ..export import messages as messages_fmt
from ..export.base import (
    FORMATS,
    BackgroundIO,
    ExportError,
    JsonlWriter,
    apply_cot,
    copy_file_atomic,
    file_sha256,
    iter_jsonl,
    write_json_atomic,
    write_jsonl_atomic,
    write_text_atomic,
)
from ..models.datasets import SPLITS, DatasetVersion, EvaluationSet
from ..splits import (
    PIN_STRENGTH,
    DuplicateFinder,
    assign_split_arrays,
    batch_token_hashes,
    components,
    group_order_keys,
)

MANIFEST_VERSION = 1
MANIFEST_LIST_CAP = 200  # per-sample lists kept in the database copy of the manifest (manifest.json has them all)
LABEL_CHUNK = 500
LABEL_MAX_CHARS = 100  # longer strings in a label are free text (an edited answer), not a category
FETCH_CHUNK = 2000       # rows per database round trip
SELECT_BATCH = 1024      # selected samples tokenised and hashed per numpy batch
SCAN_BATCH = 4096        # samples per batch when the token file is read back (decontamination)
WORKER_PROCESS_MIN = 50_000  # from this many rows the database-free per-sample work runs in a forked child
BUCKET_BYTES = 8 << 20   # records per bucket of the scratch file at the expected row size (one bucket in memory)
ROW_BYTES_GUESS = 4096   # expected bytes of a sample's three rows (canonical, alpaca, sharegpt)
MAX_BUCKETS = 4096
PENDING_BYTES = 4 << 20  # rows buffered across all buckets (per scratch file) before a bucket's block is written
MIN_BLOCK_BYTES = 16 << 10
JSONL_WRITERS = {"messages": messages_fmt, "alpaca": alpaca, "sharegpt": sharegpt}
VALID_ROLES = ("system", "user", "assistant")


def _dumps(obj: Any) -> str:
    return ujson.dumps(obj, ensure_ascii=False, escape_forward_slashes=False)


class DatasetError(ValueError):
    """A dataset version cannot be built as asked; the message says why (nothing is written)."""


# ============================================================================ selection
@dataclasses.dataclass(slots=True)
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

    @property
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



@dataclasses.dataclass
class _Tally:
    """What selection counted on the way (filled while ``_iter_candidates`` runs)."""
    total: int = 0
    matched: int = 0
    excluded: Counter = dataclasses.field(default_factory=Counter)
    labels_available: bool = False
    merged_system_messages: int = 0


def _labelled_sample_ids(collection) -> np.ndarray | None:
    """Sorted ids of the collection's samples that are in a labelling project (None: no annotation area)."""
    try:
        from annotation.selectors import sample_label_summaries  # noqa: F401
        Item = apps.get_model("annotation", "Item")
    except (ImportError, LookupError):
        return None
    ids = Item.objects.filter(sample__collection=collection).values_list("sample_id", flat=True).distinct()
    return np.unique(np.fromiter(ids.iterator(chunk_size=FETCH_CHUNK), dtype=np.int64))


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return ujson.loads(text)
    except ValueError:
        return json.loads(text)


class _RunOutputs:
    """The pipeline run's kept samples and their output messages, read alongside the samples (both by id):
    a merge join over two streamed queries, so no run is ever held in memory."""

    def __init__(self, run) -> None:
        RunOutput = apps.get_model("curation", "RunOutput")
        # the samples the run kept (as curation.selectors.run_sample_outputs), by sample id; the last row wins
        qs = (RunOutput.objects.filter(run=run, sample__isnull=False).order_by("sample_id", "id")
              .annotate(messages_text=Cast("messages", TextField())).values_list("sample_id", "messages_text"))
        self._rows = qs.iterator(chunk_size=FETCH_CHUNK)
        self._next = next(self._rows, None)

    def get(self, sample_id: int) -> tuple[bool, str | None]:
        """(kept?, output messages as JSON text) of ``sample_id``; ids must be asked in increasing order."""
        row, found, text = self._next, False, None
        while row is not None and row[0] <= sample_id:
            if row[0] == sample_id:
                found, text = True, row[1]
            row = next(self._rows, None)
        self._next = row
        return found, text


def _iter_candidates(*, collection, spec: DatasetSpec, run, tally: _Tally, ctx=None) -> Iterator[Candidate]:
    """The samples a version with ``spec`` contains (before grouping and decontamination), in id order, streamed
    from the database in chunks; ``tally`` receives the counts and the reasons samples were left out."""
    Sample = apps.get_model("curation", "Sample")
    base = Sample.objects.filter(collection=collection)
    tally.total = base.count()
    qs = base
    if spec.origins:
        qs = qs.filter(origin__in=spec.origins)
    if spec.languages:
        qs = qs.filter(language__in=spec.languages)
    if spec.domains:
        qs = qs.filter(domain__in=spec.domains)
    tally.matched = matched = qs.count()
    if tally.total - matched:
        tally.excluded["filtered out (origin/language/domain)"] = tally.total - matched
    labelled = _labelled_sample_ids(collection)
    tally.labels_available = labelled is not None
    if spec.needs_labels and labelled is None:
        raise DatasetSpecError("Label filters (labels, min_agreement, adjudicated_only, min_quality) need the "
                               "annotation app's label summaries, which are not available")
    rows = (qs.order_by("id").annotate(messages_text=Cast("messages", TextField()), meta_text=Cast("meta", TextField()))
            .values_list("id", "messages_text", "origin", "method", "domain", "language", "intent", "split",
                         "parent_id", "source_document_id", "source_file_id", "meta_text")
            .iterator(chunk_size=FETCH_CHUNK))
    outputs = _RunOutputs(run) if run is not None else None
    scrubber = RunScrubber(run) if run is not None else None
    run_id = getattr(run, "pk", None)
    if ctx is not None:
        ctx.progress(0, matched, stage="Selecting samples", force=True)
    chunk: list[tuple] = []
    done = 0
    for row in rows:
        chunk.append(row)
        if len(chunk) >= FETCH_CHUNK:
            yield from _select_chunk(chunk, spec, outputs, labelled, scrubber, run_id, tally)
            done += len(chunk)
            chunk = []
            if ctx is not None:
                ctx.progress(done)
    if chunk:
        yield from _select_chunk(chunk, spec, outputs, labelled, scrubber, run_id, tally)
        if ctx is not None:
            ctx.progress(done + len(chunk))


def _select_chunk(rows: list[tuple], spec: DatasetSpec, outputs: _RunOutputs | None, labelled: np.ndarray | None,
                  scrubber: RunScrubber | None, run_id: int | None, tally: _Tally) -> Iterator[Candidate]:
    excluded = tally.excluded
    kept: list[tuple] = []
    for row in rows:
        msgs_text = row[1]
        if outputs is not None:
            found, msgs_text = outputs.get(row[0])
            if not found:
                excluded["not kept by the pipeline run"] += 1
                continue
        kept.append((row, msgs_text))
    summaries: dict[int, Any] = {}
    if labelled is not None and len(labelled) and kept:
        ids = np.fromiter((r[0] for r, _ in kept), dtype=np.int64, count=len(kept))
        ids = ids[np.isin(ids, labelled, assume_unique=True)].tolist()
        if ids:
            from annotation.selectors import sample_label_summaries

            for i in range(0, len(ids), LABEL_CHUNK):
                summaries.update(sample_label_summaries(sample_ids=ids[i:i + LABEL_CHUNK]))
    for (sid, _m, origin, method, domain, language, intent, pinned, parent_id, doc_id, file_id, meta_text), msgs_text in kept:
        cand = Candidate(sid, _loads(msgs_text), origin, method or "", domain or "", language or "", intent or "",
                         pinned or "", parent_id, doc_id, file_id, pipeline_run_id=run_id)
        cot = None
        if meta_text and meta_text != "{}":
            meta = _loads(meta_text)
            cot = meta.get("cot") if isinstance(meta, dict) else None
        s = summaries.get(sid)
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
                edited = _apply_edit(cand.messages, s.edited_messages, scrubber)
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
        tally.merged_system_messages += merged
        cand.messages, cand.cot_stripped = apply_cot(cand.messages, cot, spec.cot)
        yield cand


def dataset_samples_select(*, collection, spec: DatasetSpec | dict, ctx=None) -> Selection:
    """The samples a version with ``spec`` would contain (before splitting and decontamination), as a list —
    for small collections and tests; ``dataset_version_create`` streams the same selection."""
    spec = spec if isinstance(spec, DatasetSpec) else DatasetSpec.parse(spec)
    run = _resolve_run(collection, spec)
    tally = _Tally()
    cands = list(_iter_candidates(collection=collection, spec=spec, run=run, tally=tally, ctx=ctx))
    return Selection(cands, tally.excluded, tally.total, run, tally.labels_available, tally.merged_system_messages)


def dataset_preview_count(*, collection, spec: dict) -> dict:
    """Live count for the create form: how many samples the spec selects, and why others are left out."""
    spec = spec if isinstance(spec, DatasetSpec) else DatasetSpec.parse(spec)
    tally = _Tally()
    langs: Counter = Counter()
    for c in _iter_candidates(collection=collection, spec=spec, run=_resolve_run(collection, spec), tally=tally):
        langs[c.language or "unknown"] += 1
    return {"selected": sum(langs.values()), "total": tally.total, "excluded": dict(tally.excluded),
            "languages": dict(langs.most_common())}


# ============================================================================ the build: compact columns + scratch files
AUGMENTED_HELD_OUT = "augmented from held-out sample"
AUGMENTED_PINNED = "augmented sample pinned to a held-out split"
_TRAIN, _VALIDATION, _TEST = range(3)
_LEFT_OUT = -1


class _Codes(dict):
    """str → small int, assigned on first sight (a column of codes plus this dict stands for a column of strings)."""

    def __missing__(self, key):
        code = self[key] = len(self)
        return code

    def names(self) -> list:
        return sorted(self, key=self.__getitem__)


def _bucket_ids(seed: int, sample_ids: np.ndarray, n_buckets: int) -> np.ndarray:
    """Bucket of each sample: the top bits of its seeded order key (so buckets follow the split files' order)."""
    if n_buckets == 1:
        return np.zeros(len(sample_ids), dtype=np.int64)
    shift = np.uint64(64 - int(np.log2(n_buckets)))
    return (_sample_order_keys(seed, np.asarray(sample_ids, dtype=np.int64)) >> shift).astype(np.int64)


class _BucketSpill:
    """Rows appended bucket by bucket to one scratch file: each bucket a chain of blocks (a bucket's buffer is
    written as a block once it holds ``block`` bytes). ``add`` returns each row's offset in its bucket's stream;
    ``read(fd, b)`` is the whole of bucket b."""

    def __init__(self, path: Path, n_buckets: int, block: int, write=None) -> None:
        self._fh = open(path, "wb")  # noqa: SIM115 — closed by close()
        self._write = write or self._fh.write
        self._bufs = [bytearray() for _ in range(n_buckets)]
        self._lens = [0] * n_buckets
        self.blocks: list[list[tuple[int, int]]] = [[] for _ in range(n_buckets)]  # (file offset, bytes)
        self._pos = 0
        self._block = block

    def add(self, rows: list[bytes], buckets: list[int]) -> list[int]:
        bufs, lens, block = self._bufs, self._lens, self._block
        offs = []
        for row, b in zip(rows, buckets):
            offs.append(lens[b])
            lens[b] += len(row)
            buf = bufs[b]
            buf += row
            if len(buf) >= block:
                self._seal(b)
        return offs

    def _seal(self, b: int) -> None:
        data = bytes(self._bufs[b])
        self._bufs[b].clear()
        self.blocks[b].append((self._pos, len(data)))
        self._pos += len(data)
        self._write(data)

    def finish(self) -> None:
        for b, buf in enumerate(self._bufs):
            if buf:
                self._seal(b)

    def close(self) -> None:
        self._fh.close()

    def read(self, fd: int, b: int) -> bytes:
        return b"".join([os.pread(fd, size, off) for off, size in self.blocks[b]])


class _SampleWork:
    """The per-sample work that needs no database, for each batch of selected samples (ids and canonical
    messages JSON): their alpaca and sharegpt rows (the bucketed ``formats.bin``), their token hashes
    (``tokens.u64``, in selection order) and the duplicate finder. In-process here; ``_SampleWorkProcess``
    does the same in a forked child, on the other core, while this process reads and serialises the next
    batch. ``finish()`` returns what the build keeps: token offsets, finder, format row offsets/lengths/blocks."""

    def __init__(self, scratch: Path, capacity: int, seed: int, n_buckets: int, block: int) -> None:
        self._seed, self._n_buckets = seed, n_buckets
        self._tokens = open(scratch / "tokens.u64", "wb")  # noqa: SIM115 — closed by finish() / close()
        self._formats = _BucketSpill(scratch / "formats.bin", n_buckets, block)
        self._counts: list[np.ndarray] = []
        self._offs: list[list[int]] = []
        self._lens: list[np.ndarray] = []
        self.finder = DuplicateFinder(threshold=NEAR_DUP_THRESHOLD, capacity=capacity)

    def add(self, sids: list[int], m_jsons: list[str]) -> None:
        dumps, loads, to_alpaca, to_sharegpt = _dumps, ujson.loads, alpaca.convert, sharegpt.convert
        rows, texts = [], []
        for sid, m_json in zip(sids, m_jsons):
            msgs = loads(m_json)
            rec = {"id": str(sid), "messages": msgs}
            rows.append(f"{dumps(to_alpaca(rec))}\t{dumps(to_sharegpt(rec))}".encode("utf-8"))
            texts.append("\n".join([m["content"] for m in msgs if m["role"] != "system"]))
        self._offs.append(self._formats.add(rows, _bucket_ids(self._seed, np.array(sids), self._n_buckets).tolist()))
        self._lens.append(np.fromiter(map(len, rows), dtype=np.int32, count=len(rows)))
        toks, counts = batch_token_hashes(texts)
        toks.tofile(self._tokens)
        self._counts.append(counts)
        self.finder.add(toks, counts)

    def finish(self) -> dict:
        self._formats.finish()
        self._formats.close()
        self._tokens.close()
        counts = np.concatenate(self._counts) if self._counts else np.zeros(0, np.int64)
        return {"tok_off": np.concatenate(([0], np.cumsum(counts))).astype(np.int64), "finder": self.finder,
                "fmt_off": np.array([o for part in self._offs for o in part], dtype=np.int64),
                "fmt_len": np.concatenate(self._lens) if self._lens else np.zeros(0, np.int32),
                "fmt_blocks": self._formats.blocks}

    def close(self) -> None:
        self._tokens.close()
        self._formats.close()


def _sample_work_child(conn, args: tuple) -> None:
    """The forked child of ``_SampleWorkProcess``: batches in, at the end its arrays saved beside the scratch
    files and (status, detail) sent back."""
    try:
        work = _SampleWork(*args)
        while (batch := conn.recv()) is not None:
            work.add(*batch)
        out = work.finish()
        scratch = Path(args[0])
        finder = out.pop("finder")
        n = finder.n
        for name, arr in (("tok_off", out.pop("tok_off")), ("fmt_off", out.pop("fmt_off")),
                          ("fmt_len", out.pop("fmt_len")), ("digest", finder.digest[:n]),
                          ("ntok", finder.ntok[:n]), ("bands", finder.bands[:n])):
            np.save(scratch / f"{name}.npy", arr)
        conn.send(("ok", out["fmt_blocks"]))
    except BaseException as exc:  # noqa: BLE001 — reported to the parent, which raises it
        import traceback

        conn.send(("error", (type(exc).__name__, str(exc), traceback.format_exc())))
    finally:
        conn.close()


class _SampleWorkProcess:
    """``_SampleWork`` in a forked child process (large builds). Batches go down a pipe — a full pipe makes
    this process wait, so about one batch is in flight — and ``finish`` reads the child's arrays back from the
    scratch folder. The child runs numpy and the format writers only, never the database."""

    def __init__(self, scratch: Path, capacity: int, seed: int, n_buckets: int, block: int) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._scratch = scratch
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_sample_work_child, args=(child, (scratch, capacity, seed, n_buckets, block)),
                                 daemon=True, name="dataset-sample-work")
        self._proc.start()
        child.close()

    def add(self, sids: list[int], m_jsons: list[str]) -> None:
        try:
            self._conn.send((sids, m_jsons))
        except (BrokenPipeError, ConnectionResetError):
            self.finish()  # the child stopped: raise what it reported
            raise

    def finish(self) -> dict:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._conn.send(None)
        try:
            status, detail = self._conn.recv()
        except EOFError:
            status, detail = "error", ("RuntimeError", f"the worker process ended (exit code {self._proc.exitcode})", "")
        self._proc.join()
        if status != "ok":
            kind, message, trace = detail
            if kind == "ExportError":
                raise ExportError(message)
            raise RuntimeError(f"dataset build worker failed: {kind}: {message}\n{trace}")
        load = lambda name: np.load(self._scratch / f"{name}.npy")  # noqa: E731
        finder = DuplicateFinder.from_arrays(threshold=NEAR_DUP_THRESHOLD, digest=load("digest"), ntok=load("ntok"),
                                             bands=load("bands"))
        return {"tok_off": load("tok_off"), "finder": finder, "fmt_off": load("fmt_off"), "fmt_len": load("fmt_len"),
                "fmt_blocks": detail}

    def close(self) -> None:
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join()
        self._conn.close()


_PIN_GET = lambda pinned: PIN_STRENGTH.get(pinned, 0)  # noqa: E731


def _num(value: int | float | None) -> str:
    """JSON of a number or None (as ``_dumps`` writes it)."""
    return "null" if value is None else str(value) if isinstance(value, int) else _dumps(value)


def _cat_fragment(values: tuple) -> str:
    """``"origin":…,"method":…,…,"label":…,`` — the JSON of a record's categorical fields (few distinct
    combinations, so each is written once), with a trailing comma; the first two are lineage's."""
    keys = ("origin", "method", "domain", "language", "intent", "label")
    return "".join(f'"{k}":{_dumps(v)},' for k, v in zip(keys, values))


class _Fragments(dict):
    """key → JSON fragment, made by ``make`` on first use (bounded: cleared when it grows large)."""

    def __init__(self, make) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, key):
        if len(self) >= 100_000:
            self.clear()
        value = self[key] = self._make(key)
        return value


class _Build:
    """One version build.

    Per selected sample (index = selection order = sample id order) it keeps numpy columns only: ids, parent,
    source document and file, pin, codes of label / stratum / language / domain / origin, agreement and
    quality, flags, the 128-bit content hash, where its rows and tokens lie in the scratch files, and the
    ``DuplicateFinder``'s 100 bytes. Scratch files (deleted with the build):

    * ``records.bin`` — per sample its canonical record without the group, its alpaca row and its sharegpt row
      (tab-separated: JSON text never holds an unescaped tab). Samples are put in *buckets* by the top bits of
      their seeded order key (the order of the split files), each bucket a chain of blocks in the file, so the
      writing pass reads one bucket at a time, sequentially (≈ ``BUCKET_BYTES``), and sorts it in memory;
    * ``lineage.jsonl`` — one lineage row per sample without its split, in id order (the order of lineage.jsonl);
    * ``tokens.u64`` — every sample's token hashes, in id order (near-duplicate checks, decontamination).

    Scratch writes, tokenising and the duplicate finder run on one worker thread (numpy and file writes
    release the GIL) while the next batch's rows are built.
    """

    COLUMNS = {"sid": np.int64, "parent": np.int64, "doc": np.int64, "file": np.int64,  # -1: none
               "pin": np.int8, "aug": bool, "label": np.int32, "stratum": np.int32, "language": np.int32,
               "domain": np.int32, "origin": np.int32, "agreement": np.float64, "quality": np.float64,  # NaN: none
               "cot": bool, "projects": bool, "hash_hi": np.uint64, "hash_lo": np.uint64,
               "rec_off": np.int64, "rec_len": np.int32, "bucket": np.int32}

    def __init__(self, *, capacity: int, scratch: Path, seed: int) -> None:
        self.n = 0
        self.cap = max(1, capacity)
        self.seed = seed
        for name, dtype in self.COLUMNS.items():  # every row below ``n`` is assigned; np.empty: the untouched
            setattr(self, name, np.empty(self.cap, dtype=dtype))  # pages of a generous capacity cost nothing
        self.tok_off = np.zeros(1, dtype=np.int64)  # set by close_selection (n + 1 offsets into tokens.u64)
        self.labels, self.strata, self.languages = _Codes(), _Codes(), _Codes()
        self.domains, self.origins = _Codes(), _Codes()
        self.files: dict[int, tuple[str, str] | None] = {}  # source file id → (name, sha256)
        self.finder: DuplicateFinder | None = None
        self.scratch = scratch
        self._io = BackgroundIO()
        # buckets: a power of two, ≈ BUCKET_BYTES of rows each at the expected size; blocks ≤ BLOCK_BYTES
        n_buckets = 1 << max(0, int(np.ceil(np.log2(max(1.0, self.cap * ROW_BYTES_GUESS / BUCKET_BYTES)))))
        self.n_buckets = min(n_buckets, MAX_BUCKETS)
        block = max(MIN_BLOCK_BYTES, PENDING_BYTES // self.n_buckets)
        self.records = _BucketSpill(scratch / "records.bin", self.n_buckets, block,
                                    write=lambda data: self._io.submit(self.records._fh.write, data))
        self._lineage = open(scratch / "lineage.jsonl", "wb")  # noqa: SIM115 — closed by close_selection() / close()
        self._work = (_SampleWorkProcess if self.cap >= WORKER_PROCESS_MIN else _SampleWork)(
            scratch, self.cap, seed, self.n_buckets, block)
        self.formats: dict = {}
        self._pending: list[Candidate] = []
        self._token_fd: int | None = None
        self._cat = _Fragments(_cat_fragment)
        self._file_frag = _Fragments(self._file_fragment)

    # ------------------------------------------------------------------------ pass 1: selection
    def add(self, cand: Candidate) -> None:
        self._pending.append(cand)
        if len(self._pending) >= SELECT_BATCH:
            self._flush()

    def _grow(self, need: int) -> None:
        if need <= self.cap:
            return
        cap = max(need, 2 * self.cap)
        for name in self.COLUMNS:
            old = getattr(self, name)
            new = np.empty(cap, dtype=old.dtype)
            new[:len(old)] = old
            setattr(self, name, new)
        self.cap = cap

    def _file_fragment(self, file_id: int | None) -> tuple[str, str]:
        """JSON of a source file's name and of its lineage object ({id, name, sha256}), null when unknown."""
        info = self.files.get(file_id) if file_id else None
        if info is None:
            return "null", "null"
        return _dumps(info[0]), _dumps({"id": file_id, "name": info[0], "sha256": info[1]})

    def _file_info(self, cands: list[Candidate]) -> None:
        unknown = {c.source_file_id for c in cands if c.source_file_id and c.source_file_id not in self.files}
        if unknown:
            SourceFile = apps.get_model("curation", "SourceFile")
            found = {pk: (name, sha) for pk, name, sha in
                     SourceFile.objects.filter(pk__in=unknown).values_list("id", "name", "sha256")}
            for pk in unknown:
                self.files[pk] = found.get(pk)

    def _flush(self) -> None:
        cands, self._pending = self._pending, []
        if not cands:
            return
        lo, k = self.n, len(cands)
        self._grow(lo + k)
        self._file_info(cands)
        dumps, digest, num, cat, file_frag = _dumps, xxhash.xxh3_128_digest, _num, self._cat, self._file_frag
        run = num(cands[0].pipeline_run_id)
        records: list[bytes] = []
        m_jsons: list[str] = []
        lineage: list[bytes] = []
        hashes: list[bytes] = []
        rows: list[tuple] = []
        for c in cands:
            sid, parent, doc, file = c.sample_id, c.parent_id, c.source_document_id, c.source_file_id
            m_json = dumps(c.messages)
            m_jsons.append(m_json)
            hashes.append(digest(m_json.encode("utf-8")))
            name, fref = file_frag[file]
            # the canonical record up to its group (the same text as _dumps of the record dict; see _cat)
            records.append((
                f'{{"id":"{sid}","messages":{m_json},"meta":{{"sample_id":{sid},'
                f'{cat[c.origin, c.method, c.domain, c.language, c.intent, c.label]}'
                f'"agreement":{num(c.agreement)},"quality":{num(c.quality)},"source_file":{num(file)},'
                f'"source_file_name":{name},"source_document":{num(doc)},"pipeline_run":{run},"parent":{num(parent)},'
                f'"group":"').encode("utf-8"))
            lineage.append((
                f'{{{cat[c.origin, c.method][:-1]},"parent":{num(parent)},"source_document":{num(doc)},'
                f'"source_file":{fref},"pipeline_run":{run},'
                f'"labelling_projects":{dumps(list(c.projects)) if c.projects else "[]"}}}').encode("utf-8"))
            rows.append((sid, parent or -1, doc or -1, file or -1, c.pinned, c.origin, c.label, c.label or c.domain or "",
                         c.language, c.domain, c.agreement, c.quality, c.cot_stripped, bool(c.projects)))
        (sids, parents, docs, files, pins, origins, labels, strata, languages, domains, agreements, qualities, cots,
         projects) = zip(*rows)
        sl = slice(lo, lo + k)
        self.sid[sl], self.parent[sl], self.doc[sl], self.file[sl] = sids, parents, docs, files
        self.pin[sl] = list(map(_PIN_GET, pins))
        self.aug[sl] = [o == "augmented" for o in origins]
        self.origin[sl] = list(map(self.origins.__getitem__, origins))
        self.label[sl] = list(map(self.labels.__getitem__, labels))
        self.stratum[sl] = list(map(self.strata.__getitem__, strata))
        self.language[sl] = list(map(self.languages.__getitem__, languages))
        self.domain[sl] = list(map(self.domains.__getitem__, domains))
        self.agreement[sl] = np.array(agreements, dtype=np.float64)  # None → NaN
        self.quality[sl] = np.array(qualities, dtype=np.float64)
        self.cot[sl], self.projects[sl] = cots, projects
        h = np.frombuffer(b"".join(hashes), dtype=">u8").reshape(k, 2)
        self.hash_hi[sl], self.hash_lo[sl] = h[:, 0], h[:, 1]
        self.rec_len[sl] = np.fromiter(map(len, records), dtype=np.int64, count=k)
        buckets = _bucket_ids(self.seed, self.sid[sl], self.n_buckets)
        self.bucket[sl] = buckets
        self.rec_off[sl] = self.records.add(records, buckets.tolist())
        lineage.append(b"")
        self._io.submit(self._lineage.write, b"\n".join(lineage))  # scratch writes release the GIL
        self.n += k
        self._work.add(list(sids), m_jsons)

    def close_selection(self) -> None:
        self._flush()
        self.records.finish()
        self._io.close()
        self.records.close()
        self._lineage.close()
        out = self._work.finish()
        self.tok_off, self.finder = out["tok_off"], out["finder"]
        self.formats = {"off": out["fmt_off"], "len": out["fmt_len"], "blocks": out["fmt_blocks"]}
        self._token_fd = os.open(self.scratch / "tokens.u64", os.O_RDONLY)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._io.close()
        self._work.close()
        self.records.close()
        self._lineage.close()
        if self._token_fd is not None:
            os.close(self._token_fd)
            self._token_fd = None

    # ------------------------------------------------------------------------ token file
    def tokens_of(self, i: int) -> np.ndarray:
        a, b = int(self.tok_off[i]), int(self.tok_off[i + 1])
        return np.frombuffer(os.pread(self._token_fd, 8 * (b - a), 8 * a), dtype=np.uint64)

    def token_batches(self, mask: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(sample indices, their token hashes concatenated, token counts) for the samples in ``mask``, read
        sequentially from the token file in batches of ``SCAN_BATCH`` samples."""
        n = self.n
        for lo in range(0, n, SCAN_BATCH):
            hi = min(n, lo + SCAN_BATCH)
            sel = np.flatnonzero(mask[lo:hi])
            if not len(sel):
                continue
            a, b = int(self.tok_off[lo]), int(self.tok_off[hi])
            toks = np.frombuffer(os.pread(self._token_fd, 8 * (b - a), 8 * a), dtype=np.uint64)
            counts = np.diff(self.tok_off[lo:hi + 1])
            if len(sel) < hi - lo:
                toks = toks[np.repeat(mask[lo:hi], counts)]
                counts = counts[sel]
            yield lo + sel, toks, counts

    # ------------------------------------------------------------------------ pass 2: groups and splits
    def group_and_split(self, spec: DatasetSpec, ctx=None) -> dict:
        """Groups (connected components of: parent, siblings, source document, identical content, exact or
        near-duplicate text), then splits per group. Splits are assigned to the groups' *original*
        (non-augmented) members only, so augmentation never decides which originals are held out.
        Augmented members follow their group into train; a group that went to validation or test keeps its
        originals there and leaves its augmented members out of the version (``AUGMENTED_HELD_OUT``):
        held-out splits hold only real samples, and no paraphrase of a held-out sample is trained on. A
        group with no original in the version (parents filtered out) goes to train. Sets ``split``
        (index into SPLITS, -1 left out), ``group`` and ``group_hi``; returns the manifest's split stats."""
        n = self.n
        if ctx is not None:
            ctx.progress(0, n, stage="Grouping near-duplicates", force=True)
        sid, idx = self.sid[:n], np.arange(n, dtype=np.int64)
        edges = []
        has_parent = np.flatnonzero(self.parent[:n] >= 0)
        parents = self.parent[has_parent]
        pos = np.minimum(np.searchsorted(sid, parents), n - 1)
        inside = sid[pos] == parents
        edges.append(np.stack([has_parent[inside], pos[inside]], axis=1))
        # a parent outside the selection is a node of its own: it still joins its children (siblings)
        missing, node = np.unique(parents[~inside], return_inverse=True)
        edges.append(np.stack([has_parent[~inside], n + node], axis=1))
        n_nodes = n + len(missing)
        has_doc = np.flatnonzero(self.doc[:n] >= 0)
        docs, node = np.unique(self.doc[has_doc], return_inverse=True)
        edges.append(np.stack([has_doc, n_nodes + node], axis=1))
        n_nodes += len(docs)
        hi, lo = self.hash_hi[:n], self.hash_lo[:n]
        order = np.lexsort((idx, lo, hi))  # identical content: one group, so the group key is unique
        same = np.r_[False, (hi[order][1:] == hi[order][:-1]) & (lo[order][1:] == lo[order][:-1])]
        first = order[np.maximum.accumulate(np.where(~same, np.arange(n), 0))]
        edges.append(np.stack([first[same], order[same]], axis=1))
        exact, eligible = self.finder.exact_links()
        edges.append(exact)
        hard = np.concatenate(edges).astype(np.int64)
        labels = components(n_nodes, hard)[:n]
        near = self.finder.near_links(self.tokens_of, eligible=eligible, labels=labels)
        self.finder = None  # 100 bytes a sample, not needed any more
        if len(near):
            labels = components(n_nodes, np.concatenate((hard, near)))[:n]
        del hard, edges
        _, group = np.unique(labels, return_inverse=True)
        n_groups = int(group.max()) + 1
        self.group = group.astype(np.int64)
        if ctx is not None:
            ctx.progress(0, n_groups, stage="Assigning splits", force=True)
        aug = self.aug[:n]
        orig_in = np.bincount(group[~aug], minlength=n_groups)
        members = np.bincount(group, minlength=n_groups)
        placed = ~aug | (orig_in[group] == 0)
        # the group key: the smallest content hash among all members
        order = np.lexsort((lo, hi, group))
        firsts = order[np.r_[True, group[order][1:] != group[order][:-1]]]
        key_hi, key_lo = hi[firsts], lo[firsts]
        self.group_hi = key_hi
        # stratum: the most common label (else domain) among the placed members (ties: the smaller name)
        names = self.strata.names()
        rank = np.empty(len(names), dtype=np.int64)
        rank[np.argsort(np.array(names, dtype=object), kind="stable")] = np.arange(len(names))
        srank = rank[self.stratum[:n]]
        pair, count = np.unique(group[placed] * len(names) + srank[placed], return_counts=True)
        pg, pr = pair // len(names), pair % len(names)
        pick = np.lexsort((pr, -count, pg))
        pick = pick[np.r_[True, pg[pick][1:] != pg[pick][:-1]]]
        stratum = np.zeros(n_groups, dtype=np.int64)
        stratum[pg[pick]] = pr[pick]
        # pins: the strongest pin among the originals; a group without originals goes to train
        pin_g = np.zeros(n_groups, dtype=np.int8)
        np.maximum.at(pin_g, group[~aug], self.pin[:n][~aug])
        pinned = np.where(pin_g > 0, pin_g.astype(np.int64) - 1, -1)  # strength 1/2/3 → train/validation/test
        pinned[orig_in == 0] = _TRAIN
        split_g = assign_split_arrays(sizes=np.bincount(group[placed], minlength=n_groups), strata=stratum,
                                      pinned=pinned, order=group_order_keys(spec.seed, key_hi, key_lo),
                                      ratios=spec.ratios)
        split = split_g[group].astype(np.int8)
        left_aug = aug & (orig_in[group] > 0)  # augmented members of groups with originals follow the rules below
        pin_held = aug & (self.pin[:n] >= PIN_STRENGTH["validation"])
        held = left_aug & (split != _TRAIN)
        split[pin_held | held] = _LEFT_OUT
        self.split = split
        out_idx = np.flatnonzero(pin_held | held)
        self.left_out = [
            {"id": str(int(sid[i])), "reason": AUGMENTED_PINNED if pin_held[i] else AUGMENTED_HELD_OUT,
             "parent": int(self.parent[i]) if self.parent[i] >= 0 else None,
             "split": SPLITS[self.pin[i] - 1] if pin_held[i] else SPLITS[split_g[group[i]]]}
            for i in out_idx.tolist()]
        return {"seed": spec.seed, "ratios": spec.ratios, "groups": n_groups,
                "multi_sample_groups": int((members > 1).sum()), "largest_group": int(members.max(initial=0)),
                "near_duplicate_pairs": int(len(exact) + len(near)), "pinned_groups": int((pinned >= 0).sum()),
                "augmented_left_out": len(self.left_out),
                "stratified_by": "label" if any(name is not None for name in self.labels) else "domain"}

    # ------------------------------------------------------------------------ pass 3: decontamination
    def decontaminate(self, spec: DatasetSpec, eval_sets: list[tuple[str, Iterator[str]]], ctx=None) -> list[dict]:
        """Train samples whose n-grams overlap held-out text too much: marked left out (``split`` -1) and
        returned as manifest entries, in id order."""
        if ctx is not None:
            ctx.progress(0, None, stage="Indexing held-out n-grams", force=True)
        index = HeldOutIndex(spec.ngram)
        split = self.split
        held = np.flatnonzero((split == _VALIDATION) | (split == _TEST))
        for s in split[held[:1]].tolist() + [_VALIDATION, _TEST]:  # sources in order of first appearance
            if (split == s).any() and SPLITS[s] not in index.sources:
                index.add_grams(np.empty(0, np.uint64), SPLITS[s])
        ntok = np.diff(self.tok_off)
        grams = np.where(ntok >= spec.ngram, ntok - spec.ngram + 1, np.minimum(ntok, 1))
        index.reserve(int(grams[held].sum()))  # the held-out buffer is allocated once, at its final size
        for s in (_VALIDATION, _TEST):
            for _i, toks, counts in self.token_batches(split == s):
                index.add_tokens(toks, counts, SPLITS[s])
        for name, texts in eval_sets:
            batch: list[str] = []
            source = f"eval:{name}"
            index.add_grams(np.empty(0, np.uint64), source)
            for text in texts:
                batch.append(text)
                if len(batch) >= SELECT_BATCH:
                    index.add_tokens(*batch_token_hashes(batch), source)
                    batch = []
            if batch:
                index.add_tokens(*batch_token_hashes(batch), source)
        entries: list[dict] = []
        if not index:
            return entries
        train = split == _TRAIN
        if ctx is not None:
            ctx.progress(0, int(train.sum()), stage="Decontaminating", force=True)
        done = 0
        index.build()  # once, before the threads share it
        # two threads query batches at once (numpy releases the GIL in the sorts and searches); at most a few
        # batches are read ahead
        with concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="dataset-decontam") as pool:
            pending: collections.deque = collections.deque()
            results = self._shares_in_order(pool, pending, index, self.token_batches(train))
            for at, (share, best) in results:
                bad = np.flatnonzero(share >= spec.max_overlap)
                for j in bad.tolist():
                    entries.append({"id": str(int(self.sid[at[j]])), "overlap": round(float(share[j]), 3),
                                    "against": index.sources[best[j]]})
                split[at[bad]] = _LEFT_OUT
                done += len(at)
                if ctx is not None:
                    ctx.progress(done)
        return entries

    @staticmethod
    def _shares_in_order(pool, pending, index: HeldOutIndex, batches):
        for at, toks, counts in batches:
            pending.append((at, pool.submit(index.shares, toks, counts)))
            if len(pending) >= 2:  # one batch per thread: the batches' scratch arrays are all the memory used
                at0, fut = pending.popleft()
                yield at0, fut.result()
        while pending:
            at0, fut = pending.popleft()
            yield at0, fut.result()

    # ------------------------------------------------------------------------ pass 4: files
    def write(self, folder: Path, ctx=None) -> tuple[dict[str, dict], set[int]]:
        """Every split's canonical, alpaca and sharegpt rows — one pass over the records file, bucket by bucket
        (each read sequentially and sorted in memory: buckets follow the order key, so the files come out in
        each split's seeded order); parquet from the canonical files (Arrow, in background threads while
        lineage.jsonl is written in id order). File writes and hashing happen on a background thread.
        Returns (relative path → file stats, labelling projects of the written samples)."""
        files: dict[str, dict] = {}
        split, n = self.split, self.n
        kept = split >= 0
        by_bucket = np.argsort(self.bucket[:n], kind="stable")
        bounds = np.searchsorted(self.bucket[:n][by_bucket], np.arange(self.n_buckets + 1))
        fd = os.open(self.scratch / "records.bin", os.O_RDONLY)
        fmt_fd = os.open(self.scratch / "formats.bin", os.O_RDONLY)
        fmt_off, fmt_len, fmt_blocks = self.formats["off"], self.formats["len"], self.formats["blocks"]
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="dataset-parquet")
        parquet: dict[str, concurrent.futures.Future] = {}
        try:
            with BackgroundIO() as io:
                with contextlib.ExitStack() as stack:
                    writers = [tuple(stack.enter_context(JsonlWriter(folder / f"{d}/{name}.jsonl", io=io))
                                     for d in ("data", "alpaca", "sharegpt")) for name in SPLITS]
                    if ctx is not None:
                        ctx.progress(0, int(kept.sum()), stage="Writing splits", force=True)
                    done, tail = 0, b'"}}'
                    for b in range(self.n_buckets):
                        members = by_bucket[bounds[b]:bounds[b + 1]]
                        members = members[kept[members]]
                        if not len(members):
                            continue
                        data = self.records.read(fd, b)
                        formats = b"".join([os.pread(fmt_fd, size, off) for off, size in fmt_blocks[b]])
                        members = members[np.lexsort((self.sid[members], _sample_order_keys(self.seed, self.sid[members])))]
                        for off, size, foff, fsize, s, g in zip(
                                self.rec_off[members].tolist(), self.rec_len[members].tolist(), fmt_off[members].tolist(),
                                fmt_len[members].tolist(), split[members].tolist(),
                                self.group_hi[self.group[members]].tolist()):
                            alp, sg = formats[foff:foff + fsize].split(b"\t")
                            out = writers[s]
                            out[0].write_line(data[off:off + size] + b"%016x" % g + tail)
                            out[1].write_line(alp)
                            out[2].write_line(sg)
                        done += len(members)
                        if ctx is not None:
                            ctx.progress(done)
                for name, out in zip(SPLITS, writers):
                    for d, w in zip(("data", "alpaca", "sharegpt"), out):
                        files[f"{d}/{name}.jsonl"] = w.stats.as_dict()
                    parquet[name] = pool.submit(hf.write_parquet, folder / "parquet" / f"{name}.parquet",
                                                folder / "data" / f"{name}.jsonl")
                if ctx is not None:
                    ctx.progress(0, None, stage="Writing formats", force=True)
                projects: set[int] = set()
                with open(self.scratch / "lineage.jsonl", "rb") as fh, \
                        JsonlWriter(folder / "lineage.jsonl", io=io) as lineage:
                    names = [s.encode() for s in SPLITS]
                    for lo in range(0, n, SCAN_BATCH * 16):  # the scratch rows are in id order, one per sample
                        hi = min(n, lo + SCAN_BATCH * 16)
                        for keep, with_projects, sid, s, line in zip(  # fh last: zip stops before reading on
                                kept[lo:hi].tolist(), self.projects[lo:hi].tolist(), self.sid[lo:hi].tolist(),
                                split[lo:hi].tolist(), fh):
                            if keep:
                                lineage.write_line(b'{"id":"%d","split":"%s",' % (sid, names[s]) + line.rstrip(b"\n")[1:])
                                if with_projects:
                                    projects.update(ujson.loads(line)["labelling_projects"])
                files["lineage.jsonl"] = lineage.stats.as_dict()
            for name, fut in parquet.items():
                files[f"parquet/{name}.parquet"] = fut.result().as_dict()
        finally:
            for fut in parquet.values():
                fut.cancel()
            pool.shutdown(wait=True)
            os.close(fd)
            os.close(fmt_fd)
        return files, projects


def _sample_order_keys(seed: int, sample_ids: np.ndarray) -> np.ndarray:
    """Seeded order of samples within a split (a hash of seed and id; ties by id)."""
    return group_order_keys(seed + 0x5EED, sample_ids.astype(np.uint64), np.zeros(len(sample_ids), np.uint64))


def _eval_set_texts(names: list[str]) -> list[tuple[str, Iterator[str]]]:
    out = []
    found = {e.name: e for e in EvaluationSet.objects.filter(name__in=names)}
    missing = [n for n in names if n not in found]
    if missing:
        raise DatasetSpecError(f"eval_sets: no evaluation set named {', '.join(missing)}")
    for name in names:
        out.append((name, (r.get("text", "") for r in iter_jsonl(found[name].file))))
    return out


# ============================================================================ manifest
def _distribution(codes: np.ndarray, names: list, *, none_code: int | None = None) -> dict[str, int]:
    """{name: count} (empty / missing → "unknown"), largest first (ties by name)."""
    counts: Counter = Counter()
    for code, k in zip(*np.unique(codes, return_counts=True)):
        code = int(code)
        name = None if code == none_code or code < 0 else names[code]
        counts[name or "unknown"] += int(k)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _summary(values: np.ndarray) -> dict:
    values = values[~np.isnan(values)]
    if not len(values):
        return {"n": 0}
    vs = np.sort(values)
    return {"n": len(vs), "mean": round(float(vs.sum()) / len(vs), 4), "min": float(vs[0]), "max": float(vs[-1]),
            "median": float(vs[len(vs) // 2]), "values_histogram": _histogram(vs)}


def _histogram(vs: np.ndarray, bins: int = 10) -> dict:
    lo, hi = float(vs[0]), float(vs[-1])
    if hi == lo:
        return {"edges": [lo, hi], "counts": [len(vs)]}
    width = (hi - lo) / bins
    counts = np.bincount(np.minimum(bins - 1, ((vs - lo) / width).astype(np.int64)), minlength=bins)
    return {"edges": [round(lo + i * width, 4) for i in range(bins + 1)], "counts": counts.tolist()}


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
    run = _resolve_run(collection, spec)
    eval_sets = _eval_set_texts(spec.eval_sets)
    exports_root = Path(settings.EXPORTS_DIR) / collection.name
    exports_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".scratch-", dir=exports_root))
    tmp: Path | None = None
    build: _Build | None = None
    try:
        tally = _Tally()
        for cand in _iter_candidates(collection=collection, spec=spec, run=run, tally=tally, ctx=ctx):
            if build is None:
                build = _Build(capacity=tally.matched, scratch=scratch, seed=spec.seed)
            build.add(cand)
        if build is None:
            reasons = ", ".join(f"{k}: {v}" for k, v in tally.excluded.items()) or "the collection has no samples"
            raise DatasetError(f"No samples match this filter ({reasons}).")
        build.close_selection()
        n = build.n
        split_stats = build.group_and_split(spec, ctx)
        if run is not None:
            # The run kept one record per duplicate cluster and dropped the rest, so a cluster is never split.
            from curation.selectors import run_duplicate_cluster_count

            split_stats["pipeline_duplicate_clusters_dropped"] = run_duplicate_cluster_count(run=run)
        decontam_entries = build.decontaminate(spec, eval_sets, ctx)
        left_out = build.left_out
        tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=exports_root))
        files, projects = build.write(tmp, ctx)
        content_hash = _content_hash(files)
        split = build.split
        kept = split >= 0
        by_split = {s: split == i for i, s in enumerate(SPLITS)}
        file_ids = np.unique(build.file[:n][kept & (build.file[:n] >= 0)]).tolist()
        sources = [{"id": pk, "name": build.files[pk][0], "sha256": build.files[pk][1]}
                   for pk in file_ids if build.files.get(pk)]
        label_names = build.labels.names()
        manifest_base = {
            "format_version": MANIFEST_VERSION,
            "collection": collection.name,
            "created_by": getattr(user, "username", None),
            "created_at": timezone.now().isoformat(timespec="seconds"),
            "spec": spec.as_dict(),
            "notes": notes,
            "counts": {
                "collection_samples": tally.total,
                "selected": n,
                "written": int(kept.sum()),
                "splits": {s: int(m.sum()) for s, m in by_split.items()},
                "excluded": {**dict(tally.excluded), **Counter(e["reason"] for e in left_out),
                             **({"contaminated": len(decontam_entries)} if decontam_entries else {})},
                "chain_of_thought_stripped": int(build.cot[:n][kept].sum()),
                "system_messages_merged": tally.merged_system_messages,
            },
            "label_distribution": {s: _distribution(build.label[:n][m], label_names) for s, m in by_split.items()},
            "language_distribution": _distribution(build.language[:n][kept], build.languages.names()),
            "domain_distribution": _distribution(build.domain[:n][kept], build.domains.names()),
            "origin_distribution": _distribution(build.origin[:n][kept], build.origins.names()),
            "agreement": _summary(build.agreement[:n][kept]),
            "quality": _summary(build.quality[:n][kept]),
            "labels_available": tally.labels_available,
            "pipeline_runs": ([{"id": run.pk, "created_at": str(getattr(run, "created_at", "")),
                                "status": str(getattr(run, "status", ""))}] if run is not None else []),
            "labelling_projects": sorted(projects),
            "source_files": sources,
            "splits": split_stats,
            "excluded_samples": left_out,
            "decontamination": {"ngram": spec.ngram, "max_overlap": spec.max_overlap, "eval_sets": spec.eval_sets,
                                "n_excluded": len(decontam_entries), "excluded": decontam_entries},
            "lineage": {"file": "lineage.jsonl", "rows": files["lineage.jsonl"]["rows"]},
            "content_hash": content_hash,
        }
        n_split = manifest_base["counts"]["splits"]
        build.close()
        shutil.rmtree(scratch, ignore_errors=True)
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
                n_train=n_split["train"], n_validation=n_split["validation"], n_test=n_split["test"],
                parent=parent, notes=notes,
            )
            if user is not None and getattr(user, "is_authenticated", False):
                version.created_by = user
            version.save()
            tmp.rename(final)
    except BaseException:
        if build is not None:
            build.close()
        shutil.rmtree(scratch, ignore_errors=True)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    if ctx is not None:
        ctx.log(f"{collection.name} {version.name}: {version.n_train} train / {version.n_validation} validation / "
                f"{version.n_test} test; {len(decontam_entries)} contaminated excluded")
    return version


# ============================================================================ export, zip
def dataset_version_export(*, version: DatasetVersion, fmt: str, out_dir: Path, ctx=None) -> dict[str, Any]:
    """Write ``version`` in format ``fmt`` into ``out_dir``, with ``dataset_info.json`` and ``manifest.json``.

    The manifest written there is the version's, except ``files``: the files of *this* folder (path → rows,
    bytes, sha256; for ``hf`` every file of the ``save_to_disk`` folder too), and ``export`` says what it is
    (format, the version's name and content hash). Files come from the version's canonical data, streamed;
    files the version already holds in this format (alpaca, sharegpt, parquet — written from the same
    canonical data by the same writers) are copied, and checked against the version's manifest on the way.
    """
    if fmt not in FORMATS:
        raise ExportError(f"Unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
    if version.status != DatasetVersion.Status.READY:
        raise DatasetError(f"{version} is not ready (status {version.status})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((version.folder / "manifest.json").read_text(encoding="utf-8"))
    held = manifest.get("files", {})
    files: dict[str, dict] = {}
    it: Iterable[str] = SPLITS if ctx is None else ctx.track(SPLITS, stage=f"Exporting {fmt}")
    for split in it:
        if fmt in JSONL_WRITERS:
            target = out_dir / f"{split}.jsonl"
            stats = _copy_held(version, held, f"{fmt}/{split}.jsonl", target) if fmt != "messages" else None
            if stats is None:
                stats = write_jsonl_atomic(target, iter_jsonl(version.split_file(split)), JSONL_WRITERS[fmt].convert)
            files[f"{split}.jsonl"] = stats.as_dict()
        else:
            target = out_dir / "parquet" / f"{split}.parquet"
            stats = _copy_held(version, held, f"parquet/{split}.parquet", target)
            if stats is None:
                stats = hf.write_parquet(target, version.split_file(split))
            files[f"parquet/{split}.parquet"] = stats.as_dict()
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


def _copy_held(version: DatasetVersion, held: dict[str, dict], rel: str, target: Path):
    """Copy the version's file ``rel`` to ``target`` when the version has it and the copy's sha256 matches the
    version's manifest (its stats, rows from the manifest); None (nothing left at ``target``) otherwise."""
    info = held.get(rel)
    src = version.folder / rel
    if not info or not src.is_file():
        return None
    stats = copy_file_atomic(src, target)
    if stats.sha256 != info.get("sha256"):
        target.unlink(missing_ok=True)
        return None
    stats.rows = int(info.get("rows", stats.rows))
    return stats


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

