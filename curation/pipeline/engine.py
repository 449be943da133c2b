"""Pipeline engine: run ordered steps over a stream of records, locally or on Ray.

    result = run_pipeline(records, [build_step("normalize"), build_step("near_dedup")],
                          executor="local", reject=on_reject, output=on_keep, progress=on_progress)
    result.report()   # per-step in/out/dropped, timings, reasons, counters (e.g. PII by type)

How it runs
-----------
The step list is cut into *segments* at every global step: a segment is a global step (already fitted)
followed by the streaming steps (filters, mappers) up to the next global step. Streaming steps are
chained lazily, so memory holds a handful of records at a time. A global step is a barrier: the stream
that reaches it is spilled to a temporary file, the step is fitted (``fit`` — or ``fit_distributed`` on
Ray), then the file is replayed through the next segment. Memory therefore stays bounded by what the steps
themselves keep (hashes, signatures), not by the corpus. With the local executor the global step is fitted
*while* the stream is spilled (one pass, no re-read), and spill files are pickled batches (Ray: JSONL).

A global step's ``apply`` is told each record's position in the stream it was fitted on, so its decisions
are keyed by position, not by id: records that share an id are judged each on its own.

``duplicate_of`` always names a record that is in the output: rejections that carry one are held back (in
a temporary file) until the run ends; when the named record was itself dropped later as a duplicate (an
exact copy of A, then A a near copy of B) the chain is followed to the kept record (B), and the direct
one is kept in ``details.duplicate_of_direct``. If the chain ends at a record a filter dropped, the
rejection keeps the direct id and says so in ``details.duplicate_of_dropped`` (step and reason).

Executors
---------
* ``local``: in this process. ``processes=N`` (N > 1) runs the streaming segments in a pool of N forked
  workers, in order-preserving batches; global steps are always fitted in the driver. With one process
  every step is set up before the first record and the loaded models are ``gc.freeze()``-d for the run
  (the cyclic collector would otherwise rescan them on every full collection).
* ``ray``: ``ray.data``. Each segment is a ``map_batches`` over the spilled JSONL file (put into the
  object store block by block, so a remote cluster never reads the driver's disk) with a pool of
  actors (steps are set up once per actor); global steps use ``fit_distributed(ds)`` when they define it,
  else the driver streams the file to ``fit``. ``ray_address`` (or ``RAY_ADDRESS``) points at a cluster;
  empty starts Ray on this machine. Order is preserved, so Ray and local give the same result.

Rejections, kept records and progress are reported through callbacks; the engine knows nothing about the
database (the headless ``process`` command and the web runs share it).
"""
from __future__ import annotations

import collections
import dataclasses
import gc
import itertools
import json
import logging
import os
import pickle
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .base import GlobalStep, Record, Rejection, RejectSink, Step, StepStats, record_text

EXECUTORS = ("local", "ray")
BATCH_SIZE = 256            # records per batch handed to a worker process / Ray actor
PROGRESS_EVERY = 200        # records between progress callbacks
RAY_BLOCK_BYTES = 32 << 20  # at most this much JSON per Ray block

ProgressFn = Callable[[str, int, "int | None"], None]  # (stage, done, total); may raise to cancel
OutputFn = Callable[[Record], None]


class PipelineError(RuntimeError):
    """The pipeline could not run (bad executor, Ray unavailable, …); the message is for the user."""


@dataclasses.dataclass
class PipelineResult:
    """What a run did: counts, timings and the steps' stats (in step order)."""

    executor: str
    steps: list[StepStats]
    n_input: int = 0
    n_output: int = 0
    n_rejected: int = 0
    seconds: float = 0.0
    records: list[Record] | None = None  # kept records, only when run_pipeline had no ``output`` callback

    def counters(self, step_name: str) -> dict[str, int]:
        merged: Counter = Counter()
        for s in self.steps:
            if s.name == step_name:
                merged.update(s.counters)
        return dict(merged)

    def report(self) -> dict[str, Any]:
        return {
            "executor": self.executor,
            "input": self.n_input,
            "output": self.n_output,
            "rejected": self.n_rejected,
            "seconds": round(self.seconds, 3),
            "docs_per_second": round(self.n_input / self.seconds, 1) if self.seconds > 0 else None,
            "steps": [s.as_dict() for s in self.steps],
            "pii": self.counters("pii"),
        }


# ------------------------------------------------------------------------------------ spill files
def dumps(record: Record) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def read_jsonl(path: Path) -> Iterator[Record]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


SPILL_BATCH = 256  # records per pickled chunk


class _Spill:
    """Write records to a temporary file in the run's folder: JSONL (one record per line, for Ray) or
    pickled lists of records (local: ≈ 4× faster to write and read than JSON)."""

    def __init__(self, path: Path, fmt: str = "jsonl"):
        self.path = path
        self.fmt = fmt
        self._fh = open(path, "w", encoding="utf-8") if fmt == "jsonl" else open(path, "wb")
        self._chunk: list[Record] = []
        self.count = 0

    def __call__(self, record: Record) -> None:
        self.count += 1
        if self.fmt == "jsonl":
            self._fh.write(dumps(record))
            self._fh.write("\n")
            return
        self._chunk.append(record)
        if len(self._chunk) >= SPILL_BATCH:
            pickle.dump(self._chunk, self._fh, protocol=pickle.HIGHEST_PROTOCOL)
            self._chunk = []

    def close(self) -> Path:
        if not self._fh.closed:
            if self._chunk:
                pickle.dump(self._chunk, self._fh, protocol=pickle.HIGHEST_PROTOCOL)
                self._chunk = []
            self._fh.close()
        return self.path


def read_spill(path: Path) -> Iterator[Record]:
    """The records of a spill file, in order (either format)."""
    if path.suffix == ".jsonl":
        yield from read_jsonl(path)
        return
    with open(path, "rb") as fh:
        while True:
            try:
                chunk = pickle.load(fh)
            except EOFError:
                return
            yield from chunk


def stats_to_dict(stats: StepStats) -> dict:
    return {"name": stats.name, "n_in": stats.n_in, "n_out": stats.n_out, "n_dropped": stats.n_dropped,
            "seconds": stats.seconds, "reasons": dict(stats.reasons), "counters": dict(stats.counters)}


def stats_from_dict(d: dict) -> StepStats:
    return StepStats(d["name"], d["n_in"], d["n_out"], d["n_dropped"], d["seconds"],
                     Counter(d["reasons"]), Counter(d["counters"]))


def segments_of(steps: list[Step]) -> list[list[Step]]:
    """Cut the step list before every global step."""
    segments: list[list[Step]] = []
    for step in steps:
        if isinstance(step, GlobalStep) or not segments:
            segments.append([step])
        else:
            segments[-1].append(step)
    return segments


def _run_steps(segment: list[Step], records: Iterable[Record], reject: RejectSink,
               positions: Iterable[int] | None = None) -> Iterator[Record]:
    """Chain a segment's steps lazily; a global step at its head gets each record's stream position."""
    stream: Iterable[Record] = records
    for k, step in enumerate(segment):
        if k == 0 and isinstance(step, GlobalStep):
            stream = step.process(stream, reject, positions=positions)
        else:
            stream = step.process(stream, reject)
    return iter(stream)


def _process_batch(segment: list[Step], batch: list[Record], positions: Iterable[int] | None = None,
                   ) -> tuple[list[Record], list[tuple[Record, Rejection]], list[dict]]:
    """Run one batch through a segment in a worker; return kept records, rejections and the batch's stats."""
    rejected: list[tuple[Record, Rejection]] = []
    for step in segment:
        step.reset_stats()
    kept = list(_run_steps(segment, batch, lambda rec, rej: rejected.append((rec, rej)), positions))
    return kept, rejected, [stats_to_dict(s.stats) for s in segment]


# ------------------------------------------------------------------------------------ executors
class _LocalExecutor:
    name = "local"
    spill_format = "pickle"
    fits_while_spilling = True  # the engine may fit a global step on the stream as it is spilled

    def __init__(self, processes: int = 1, batch_size: int = BATCH_SIZE):
        self.processes = max(1, int(processes))
        self.batch_size = batch_size

    def needs_file(self) -> bool:
        return False

    def fit(self, step: GlobalStep, path: Path, tick: Callable[[int], None]) -> None:
        step.fit_stream(_ticking(read_spill(path), tick))

    def iter_segment(self, segment: list[Step], source: Iterable[Record] | Path, reject: RejectSink,
                     tick: Callable[[int], None]) -> Iterator[Record]:
        records = read_spill(source) if isinstance(source, Path) else source
        if self.processes > 1:
            return self._run_pool(segment, records, reject, tick)
        return _run_steps(segment, _ticking(records, tick), reject)

    def run_segment(self, segment: list[Step], source: Iterable[Record] | Path, emit: OutputFn,
                    reject: RejectSink, tick: Callable[[int], None]) -> None:
        for record in self.iter_segment(segment, source, reject, tick):
            emit(record)

    def _run_pool(self, segment, records, reject, tick) -> Iterator[Record]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        # fork shares the loaded models copy-on-write, but forking a process that runs other threads can
        # leave a child holding a lock (or killed by a library's at-fork handler, e.g. gRPC after Ray).
        # With threads around, start workers from a clean fork server instead (each loads its models once).
        threaded = threading.active_count() > 1
        ctx = multiprocessing.get_context("forkserver" if threaded else "fork")
        for step in segment if not threaded else ():  # load models once here; forked workers share them
            step.ensure_setup()
        done = 0

        def collect(result) -> list[Record]:
            nonlocal done
            kept, rejected, stats = result
            for step, d in zip(segment, stats):
                step.stats.merge(stats_from_dict(d))
            for rec, rej in rejected:
                reject(rec, rej)
            done += stats[0]["n_in"]
            tick(done)
            return kept

        # In order, at most two batches per worker in flight (bounded memory). Unlike multiprocessing.Pool,
        # a worker that dies (killed, out of memory, a crash in native code) fails the run with an error
        # instead of leaving it waiting forever.
        window = 2 * self.processes
        with ProcessPoolExecutor(self.processes, mp_context=ctx, initializer=_pool_init,
                                 initargs=(segment,)) as pool:
            pending: collections.deque = collections.deque()
            try:
                start = 0
                for batch in _batched(records, self.batch_size):
                    pending.append(pool.submit(_pool_batch, batch, start))
                    start += len(batch)
                    if len(pending) >= window:
                        yield from collect(pending.popleft().result())
                while pending:
                    yield from collect(pending.popleft().result())
            except BaseException as exc:
                for future in pending:  # cancelled or failed: do not wait for queued batches
                    future.cancel()
                if not isinstance(exc, BrokenProcessPool):
                    raise
                raise PipelineError(
                    f"A worker process died after {done} records (killed, out of memory, or crashed in native code); "
                    "the run was stopped. Re-run it, with fewer processes "
                    "if memory is short.") from exc

    def close(self) -> None:
        pass


_POOL_SEGMENT: list[Step] = []


def _pool_init(segment: list[Step]) -> None:
    global _POOL_SEGMENT
    _POOL_SEGMENT = segment


def _pool_batch(batch: list[Record], start: int):
    return _process_batch(_POOL_SEGMENT, batch, range(start, start + len(batch)))


class _RaySegmentWorker:
    """A Ray actor: unpickles the segment once (steps set up once), then processes JSONL batches."""

    def __init__(self, payload: bytes):
        import pickle

        _ensure_django()
        self.segment: list[Step] = pickle.loads(payload)

    def __call__(self, batch: dict) -> dict:
        records = [json.loads(line) for line in batch["text"]]
        kept, rejected, stats = _process_batch(self.segment, records, [int(p) for p in batch["pos"]])
        kinds = ["out"] * len(kept) + ["rej"] * len(rejected) + ["stats"]
        data = [dumps(r) for r in kept]
        data += [json.dumps({"record": rec, "rejection": dataclasses.asdict(rej)}, ensure_ascii=False) for rec, rej in rejected]
        data.append(json.dumps(stats))
        return {"kind": kinds, "data": data}


def _to_id_text(batch: dict) -> dict:
    records = [json.loads(line) for line in batch["text"]]
    return {"id": [str(r.get("id")) for r in records], "text": [record_text(r) for r in records]}


def _ensure_django() -> None:
    """Steps may use Django settings (model folders); set Django up inside Ray workers once."""
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        from django.apps import apps

        if not apps.ready:
            import django

            django.setup()


class _RayExecutor:
    name = "ray"
    spill_format = "jsonl"
    fits_while_spilling = False  # fit_distributed needs the whole file as a dataset

    def __init__(self, address: str | None = None, processes: int = 1, batch_size: int = BATCH_SIZE):
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - ray is in requirements
            raise PipelineError("The Ray executor needs the 'ray[data]' package.") from exc
        self.ray = ray
        self.batch_size = batch_size
        self.concurrency = max(1, int(processes))
        if not ray.is_initialized():
            project_root = str(Path(__file__).resolve().parents[2])
            env_vars = {"PYTHONPATH": os.pathsep.join(filter(None, [project_root, os.environ.get("PYTHONPATH", "")]))}
            if os.environ.get("DJANGO_SETTINGS_MODULE"):
                env_vars["DJANGO_SETTINGS_MODULE"] = os.environ["DJANGO_SETTINGS_MODULE"]
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "logging_level": logging.WARNING, "runtime_env": {"env_vars": env_vars}}
            if address:
                kwargs["address"] = address
            else:
                kwargs["num_cpus"] = max(self.concurrency, os.cpu_count() or 1)
            try:
                ray.init(**kwargs)
            except Exception as exc:  # noqa: BLE001 - report why Ray could not start, whatever it was
                raise PipelineError(f"Could not start or reach Ray ({address or 'local'}): {exc}") from exc
        from ray.data import DataContext

        ctx = DataContext.get_current()
        ctx.execution_options.preserve_order = True  # same order → same dedup decisions as local
        ctx.enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)

    def needs_file(self) -> bool:
        return True

    def _dataset(self, path: Path):
        """The spilled JSONL as a Ray dataset (column ``text`` = one JSON record per row, ``pos`` = its
        position in the stream), in order.

        Blocks are put into the object store from the driver, a few thousand lines at a time, so this
        works on a remote cluster (workers never need the driver's disk) with bounded driver memory.
        """
        import pyarrow as pa

        refs, lines, size, first = [], [], 0, 0

        def block():
            return self.ray.put(pa.table({"text": pa.array(lines, pa.string()),
                                          "pos": pa.array(range(first, first + len(lines)), pa.int64())}))

        rows_per_block = self.batch_size * 16
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                lines.append(line.rstrip("\n"))
                size += len(line)
                if len(lines) >= rows_per_block or size >= RAY_BLOCK_BYTES:
                    refs.append(block())
                    first += len(lines)
                    lines, size = [], 0
        if lines or not refs:
            refs.append(block())
        return self.ray.data.from_arrow_refs(refs)

    def fit(self, step: GlobalStep, path: Path, tick: Callable[[int], None]) -> None:
        fit_distributed = getattr(step, "fit_distributed", None)
        if fit_distributed is None:
            step.fit_stream(_ticking(read_spill(path), tick))
            return
        step.ensure_setup()
        t0 = time.perf_counter()
        ds = self._dataset(path).map_batches(_to_id_text, batch_size=self.batch_size, batch_format="numpy")
        fit_distributed(ds)
        step.stats.seconds += time.perf_counter() - t0

    def run_segment(self, segment: list[Step], source: Iterable[Record] | Path, emit: OutputFn,
                    reject: RejectSink, tick: Callable[[int], None]) -> None:
        import pickle

        assert isinstance(source, Path)
        payload = pickle.dumps(segment)
        ds = self._dataset(source).map_batches(
            _RaySegmentWorker, fn_constructor_kwargs={"payload": payload}, batch_size=self.batch_size,
            batch_format="numpy", compute=self.ray.data.ActorPoolStrategy(size=self.concurrency),
        )
        done = 0
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            for kind, data in zip(batch["kind"], batch["data"]):
                if kind == "out":
                    emit(json.loads(data))
                elif kind == "rej":
                    item = json.loads(data)
                    reject(item["record"], Rejection(**item["rejection"]))
                else:
                    stats = json.loads(data)
                    for step, d in zip(segment, stats):
                        step.stats.merge(stats_from_dict(d))
                    done += stats[0]["n_in"]
                    tick(done)

    def close(self) -> None:
        pass


def _ticking(records: Iterable[Record], tick: Callable[[int], None]) -> Iterator[Record]:
    n = 0
    for record in records:
        yield record
        n += 1
        if n % PROGRESS_EVERY == 0:
            tick(n)
    tick(n)


def _batched(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    it = iter(records)
    while batch := list(itertools.islice(it, size)):
        yield batch


# ------------------------------------------------------------------------------------ entry point
def run_pipeline(
    records: Iterable[Record],
    steps: list[Step],
    *,
    executor: str = "local",
    reject: RejectSink | None = None,
    output: OutputFn | None = None,
    progress: ProgressFn | None = None,
    total: int | None = None,
    processes: int = 1,
    ray_address: str | None = None,
    workdir: str | Path | None = None,
    batch_size: int = BATCH_SIZE,
) -> PipelineResult:
    """Run ``steps`` in order over ``records``.

    ``reject(record, rejection)`` receives every dropped record (as it was when dropped);
    ``output(record)`` every kept record (if omitted they are collected in ``result.records``);
    ``progress(stage, done, total)`` is called every few hundred records and may raise to cancel
    (temporary files are removed either way). Returns the counts and per-step stats.
    """
    if executor not in EXECUTORS:
        raise PipelineError(f"Unknown executor {executor!r}. Valid executors: {', '.join(EXECUTORS)}")
    if not steps:
        raise PipelineError("The pipeline has no steps.")
    if total is None:
        try:
            total = len(records)  # type: ignore[arg-type]
        except TypeError:
            total = None
    result = PipelineResult(executor=executor, steps=[s.stats for s in steps])
    collected: list[Record] | None = [] if output is None else None
    t0 = time.perf_counter()
    runner = _RayExecutor(ray_address or os.environ.get("RAY_ADDRESS") or None, processes, batch_size) \
        if executor == "ray" else _LocalExecutor(processes, batch_size)
    tmp = Path(tempfile.mkdtemp(prefix="refinery-pipeline-", dir=str(workdir) if workdir else None))
    fmt = runner.spill_format
    ext = "jsonl" if fmt == "jsonl" else "pkl"
    chains = _DuplicateChains(tmp / "duplicates.pkl")
    spill: _Spill | None = None
    frozen = False

    def _reject(record: Record, rejection: Rejection) -> None:
        result.n_rejected += 1
        if rejection.duplicate_of is not None:
            chains.hold(record, rejection)  # released at the end, pointing at a kept record
        else:
            chains.dropped(record, rejection)
            if reject is not None:
                reject(record, rejection)

    def _emit(record: Record) -> None:
        result.n_output += 1
        chains.kept(record)
        if collected is not None:
            collected.append(record)
        else:
            output(record)  # type: ignore[misc]

    try:
        if executor == "local" and runner.processes == 1:
            # set every step up now (models, tables: errors surface before any record is read), then move
            # everything that exists into the GC's permanent generation for the run: the collector would
            # otherwise rescan the loaded models' objects (≈ 0.5 s per full collection) while records stream
            for step in steps:
                step.ensure_setup()
            gc.freeze()
            frozen = True
        segments = segments_of(steps)
        n_seg = len(segments)

        def counted(it: Iterable[Record]) -> Iterator[Record]:
            for record in it:
                result.n_input += 1
                yield record

        source: Iterable[Record] | Path = counted(records)
        source_count: int | None = None
        fitted: set[int] = set()  # segments whose global step was fitted while its input was spilled
        if runner.needs_file() or isinstance(segments[0][0], GlobalStep):
            spill = _Spill(tmp / f"input.{ext}", fmt)
            reading = _ticking(source, lambda n: _call(progress, "Reading input", n, total))
            if isinstance(segments[0][0], GlobalStep) and runner.fits_while_spilling:
                _fit_while_spilling(segments[0][0], reading, spill)
                fitted.add(0)
            else:
                for record in reading:
                    spill(record)
            source, source_count, spill = spill.close(), spill.count, None
        for i, segment in enumerate(segments):
            names = ", ".join(s.name for s in segment)
            seg_total = total if i == 0 else None
            if isinstance(segment[0], GlobalStep):
                assert isinstance(source, Path)
                seg_total = source_count
                stage = f"Fitting {segment[0].name}"
                if i not in fitted:
                    _call(progress, stage, 0, seg_total)
                    runner.fit(segment[0], source, lambda n, s=stage, t=seg_total: _call(progress, s, n, t))
                _call(progress, stage, seg_total, seg_total)
            stage = f"Step {i + 1}/{n_seg}: {names}"
            _call(progress, stage, 0, seg_total)
            tick = lambda n, s=stage, t=seg_total: _call(progress, s, n, t)  # noqa: E731
            if i == n_seg - 1:
                runner.run_segment(segment, source, _emit, _reject, tick)
                continue
            spill = _Spill(tmp / f"segment-{i + 1}.{ext}", fmt)
            if runner.fits_while_spilling:  # the next segment starts with a global step: fit it on the way
                _fit_while_spilling(segments[i + 1][0], runner.iter_segment(segment, source, _reject, tick), spill)
                fitted.add(i + 1)
            else:
                runner.run_segment(segment, source, spill, _reject, tick)
            source, source_count, spill = spill.close(), spill.count, None
        chains.release(reject, lambda n, t: _call(progress, "Resolving duplicates", n, t))
        result.seconds = time.perf_counter() - t0
        result.steps = [s.stats for s in steps]
        result.records = collected
        return result
    finally:
        if frozen:
            gc.unfreeze()
        if spill is not None:
            spill.close()
        chains.close()
        runner.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _fit_while_spilling(step: GlobalStep, stream: Iterable[Record], spill: _Spill) -> None:
    """Fit ``step`` on ``stream`` while writing each record to ``spill`` (one pass instead of write + read).
    The time spent producing the stream (earlier steps) and writing it is not counted as the step's."""
    upstream = 0.0

    def feed() -> Iterator[Record]:
        nonlocal upstream
        it = iter(stream)
        while True:
            t0 = time.perf_counter()
            try:
                record = next(it)
            except StopIteration:
                upstream += time.perf_counter() - t0
                return
            spill(record)
            upstream += time.perf_counter() - t0
            yield record

    before = step.stats.seconds
    records = feed()
    step.fit_stream(records)
    fitted = step.stats.seconds - before - upstream
    for _ in records:  # a fit that stopped early: the replay still needs every record
        pass
    step.stats.seconds = before + max(0.0, fitted)


class _DuplicateChains:
    """Rejections with ``duplicate_of`` are held back (pickled to a temporary file) until the run ends, then
    released with ``duplicate_of`` resolved to a record that was kept (see the module docstring).

    Bookkeeping, bounded and small next to what dedup steps keep: an 8-byte hash per kept record, a
    10-byte (hash, reason) entry per record a filter dropped, and {id: duplicate_of} per held rejection."""

    def __init__(self, path: Path):
        import array

        self.path = path
        self._spill: _Spill | None = None
        self._links: dict[str, str] = {}
        self._kept = array.array("Q")
        self._dropped = array.array("Q")
        self._dropped_code = array.array("H")
        self._reasons: dict[tuple[str, str], int] = {}

    @staticmethod
    def _hash(rid: Any) -> int:
        import xxhash

        return xxhash.xxh3_64_intdigest(str(rid).encode("utf-8", "surrogatepass"))

    def hold(self, record: Record, rejection: Rejection) -> None:
        if self._spill is None:
            self._spill = _Spill(self.path, "pickle")
        self._spill((record, rejection))
        self._links.setdefault(str(record.get("id")), str(rejection.duplicate_of))

    def kept(self, record: Record) -> None:
        self._kept.append(self._hash(record.get("id")))

    def dropped(self, record: Record, rejection: Rejection) -> None:
        key = (rejection.step, rejection.reason)
        code = self._reasons.setdefault(key, len(self._reasons))
        if code < 65535:
            self._dropped.append(self._hash(record.get("id")))
            self._dropped_code.append(code)

    def release(self, reject: RejectSink | None, progress: Callable[[int, int], None]) -> None:
        if self._spill is None:
            return
        import numpy as np

        path = self._spill.close()
        total = self._spill.count
        kept = np.sort(np.frombuffer(self._kept, dtype=np.uint64)) if len(self._kept) else np.empty(0, np.uint64)
        drop_h = np.frombuffer(self._dropped, dtype=np.uint64) if len(self._dropped) else np.empty(0, np.uint64)
        order = np.argsort(drop_h, kind="stable")
        drop_h = drop_h[order]
        drop_code = np.frombuffer(self._dropped_code, dtype=np.uint16)[order] if len(order) else np.empty(0, np.uint16)
        reasons = {code: key for key, code in self._reasons.items()}

        def find(sorted_hashes: np.ndarray, rid: str) -> int:
            h = np.uint64(self._hash(rid))
            i = int(np.searchsorted(sorted_hashes, h))
            return i if i < len(sorted_hashes) and sorted_hashes[i] == h else -1

        progress(0, total)
        for n, (record, rejection) in enumerate(read_spill(path), 1):
            direct = str(rejection.duplicate_of)
            target, seen = direct, set()
            while find(kept, target) < 0 and target in self._links and target not in seen:
                seen.add(target)
                target = self._links[target]
            details = dict(rejection.details or {})
            if find(kept, target) >= 0:
                if target != direct:
                    details["duplicate_of_direct"] = direct
                    rejection = dataclasses.replace(rejection, duplicate_of=target, details=details)
            else:  # no kept record at the end of the chain: say who dropped it
                i = find(drop_h, target)
                if i >= 0:
                    step, reason = reasons[int(drop_code[i])]
                    details["duplicate_of_dropped"] = {"id": target, "step": step, "reason": reason}
                    rejection = dataclasses.replace(rejection, details=details)
            if reject is not None:
                reject(record, rejection)
            if n % PROGRESS_EVERY == 0:
                progress(n, total)
        progress(total, total)

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()


def _call(progress: ProgressFn | None, stage: str, done: int, total: int | None) -> None:
    if progress is not None:
        progress(stage, done, total)
