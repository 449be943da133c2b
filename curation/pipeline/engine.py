"""Pipeline engine: run ordered steps over a stream of records, locally or on Ray.

    result = run_pipeline(records, [build_step("normalize"), build_step("near_dedup")],
                          executor="local", reject=on_reject, output=on_keep, progress=on_progress)
    result.report()   # per-step in/out/dropped, timings, reasons, counters (e.g. PII by type)

How it runs
-----------
The step list is cut into *segments* at every global step: a segment is a global step (already fitted)
followed by the streaming steps (filters, mappers) up to the next global step. Streaming steps are
chained lazily, so memory holds a handful of records at a time. A global step is a barrier: the stream
that reaches it is spilled to a temporary JSONL file, the step is fitted on that file (``fit`` — or
``fit_distributed`` on Ray), then the file is replayed through the next segment. Memory therefore stays
bounded by what the steps themselves keep (hashes, signatures), not by the corpus.

Executors
---------
* ``local``: in this process. ``processes=N`` (N > 1) runs the streaming segments in a pool of N forked
  workers, in order-preserving batches; global steps are always fitted in the driver.
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
import itertools
import json
import logging
import os
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


# ------------------------------------------------------------------------------------ JSONL spill files
def dumps(record: Record) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def read_jsonl(path: Path) -> Iterator[Record]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


class _Spill:
    """Write records to a JSONL file (one per line) in the run's temp folder."""

    def __init__(self, path: Path):
        self.path = path
        self._fh = open(path, "w", encoding="utf-8")
        self.count = 0

    def __call__(self, record: Record) -> None:
        self._fh.write(dumps(record))
        self._fh.write("\n")
        self.count += 1

    def close(self) -> Path:
        if not self._fh.closed:
            self._fh.close()
        return self.path


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


def _process_batch(segment: list[Step], batch: list[Record]) -> tuple[list[Record], list[tuple[Record, Rejection]], list[dict]]:
    """Run one batch through a segment in a worker; return kept records, rejections and the batch's stats."""
    rejected: list[tuple[Record, Rejection]] = []
    for step in segment:
        step.reset_stats()
    stream: Iterable[Record] = batch
    for step in segment:
        stream = step.process(stream, lambda rec, rej: rejected.append((rec, rej)))
    kept = list(stream)
    return kept, rejected, [stats_to_dict(s.stats) for s in segment]


# ------------------------------------------------------------------------------------ executors
class _LocalExecutor:
    name = "local"

    def __init__(self, processes: int = 1, batch_size: int = BATCH_SIZE):
        self.processes = max(1, int(processes))
        self.batch_size = batch_size

    def needs_file(self) -> bool:
        return False

    def fit(self, step: GlobalStep, path: Path, tick: Callable[[int], None]) -> None:
        step.fit_stream(_ticking(read_jsonl(path), tick))

    def run_segment(self, segment: list[Step], source: Iterable[Record] | Path, emit: OutputFn,
                    reject: RejectSink, tick: Callable[[int], None]) -> None:
        records = read_jsonl(source) if isinstance(source, Path) else source
        if self.processes > 1:
            self._run_pool(segment, records, emit, reject, tick)
            return
        stream: Iterable[Record] = _ticking(records, tick)
        for step in segment:
            stream = step.process(stream, reject)
        for record in stream:
            emit(record)

    def _run_pool(self, segment, records, emit, reject, tick) -> None:
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

        def collect(result) -> None:
            nonlocal done
            kept, rejected, stats = result
            for step, d in zip(segment, stats):
                step.stats.merge(stats_from_dict(d))
            for rec, rej in rejected:
                reject(rec, rej)
            for rec in kept:
                emit(rec)
            done += stats[0]["n_in"]
            tick(done)

        # In order, at most two batches per worker in flight (bounded memory). Unlike multiprocessing.Pool,
        # a worker that dies (killed, out of memory, a crash in native code) fails the run with an error
        # instead of leaving it waiting forever.
        window = 2 * self.processes
        with ProcessPoolExecutor(self.processes, mp_context=ctx, initializer=_pool_init,
                                 initargs=(segment,)) as pool:
            pending: collections.deque = collections.deque()
            try:
                for batch in _batched(records, self.batch_size):
                    pending.append(pool.submit(_pool_batch, batch))
                    if len(pending) >= window:
                        collect(pending.popleft().result())
                while pending:
                    collect(pending.popleft().result())
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


def _pool_batch(batch: list[Record]):
    return _process_batch(_POOL_SEGMENT, batch)


class _RaySegmentWorker:
    """A Ray actor: unpickles the segment once (steps set up once), then processes JSONL batches."""

    def __init__(self, payload: bytes):
        import pickle

        _ensure_django()
        self.segment: list[Step] = pickle.loads(payload)

    def __call__(self, batch: dict) -> dict:
        records = [json.loads(line) for line in batch["text"]]
        kept, rejected, stats = _process_batch(self.segment, records)
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
        """The spilled JSONL as a Ray dataset (column ``text`` = one JSON record per row), in order.

        Blocks are put into the object store from the driver, a few thousand lines at a time, so this
        works on a remote cluster (workers never need the driver's disk) with bounded driver memory.
        """
        import pyarrow as pa

        refs, lines, size = [], [], 0
        rows_per_block = self.batch_size * 16
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                lines.append(line.rstrip("\n"))
                size += len(line)
                if len(lines) >= rows_per_block or size >= RAY_BLOCK_BYTES:
                    refs.append(self.ray.put(pa.table({"text": pa.array(lines, pa.string())})))
                    lines, size = [], 0
        if lines or not refs:
            refs.append(self.ray.put(pa.table({"text": pa.array(lines, pa.string())})))
        return self.ray.data.from_arrow_refs(refs)

    def fit(self, step: GlobalStep, path: Path, tick: Callable[[int], None]) -> None:
        fit_distributed = getattr(step, "fit_distributed", None)
        if fit_distributed is None:
            step.fit_stream(_ticking(read_jsonl(path), tick))
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

    def _reject(record: Record, rejection: Rejection) -> None:
        result.n_rejected += 1
        if reject is not None:
            reject(record, rejection)

    def _emit(record: Record) -> None:
        result.n_output += 1
        if collected is not None:
            collected.append(record)
        else:
            output(record)  # type: ignore[misc]

    t0 = time.perf_counter()
    runner = _RayExecutor(ray_address or os.environ.get("RAY_ADDRESS") or None, processes, batch_size) \
        if executor == "ray" else _LocalExecutor(processes, batch_size)
    tmp = Path(tempfile.mkdtemp(prefix="refinery-pipeline-", dir=str(workdir) if workdir else None))
    spill: _Spill | None = None
    try:
        segments = segments_of(steps)
        n_seg = len(segments)

        def counted(it: Iterable[Record]) -> Iterator[Record]:
            for record in it:
                result.n_input += 1
                yield record

        source: Iterable[Record] | Path = counted(records)
        if runner.needs_file() or isinstance(segments[0][0], GlobalStep):
            source = _spill_all(source, tmp / "input.jsonl", progress, total)
        for i, segment in enumerate(segments):
            names = ", ".join(s.name for s in segment)
            seg_total = total if i == 0 else None
            if isinstance(segment[0], GlobalStep):
                assert isinstance(source, Path)
                seg_total = _count_lines(source)
                stage = f"Fitting {segment[0].name}"
                _call(progress, stage, 0, seg_total)
                runner.fit(segment[0], source, lambda n, s=stage, t=seg_total: _call(progress, s, n, t))
                _call(progress, stage, seg_total, seg_total)
            last = i == n_seg - 1
            spill = None if last else _Spill(tmp / f"segment-{i + 1}.jsonl")
            stage = f"Step {i + 1}/{n_seg}: {names}"
            _call(progress, stage, 0, seg_total)
            runner.run_segment(segment, source, _emit if last else spill, _reject,
                               lambda n, s=stage, t=seg_total: _call(progress, s, n, t))
            if spill is not None:
                source = spill.close()
        result.seconds = time.perf_counter() - t0
        result.steps = [s.stats for s in steps]
        result.records = collected
        return result
    finally:
        if spill is not None:
            spill.close()
        runner.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _spill_all(records: Iterable[Record], path: Path, progress: ProgressFn | None, total: int | None) -> Path:
    spill = _Spill(path)
    try:
        for n, record in enumerate(records, 1):
            spill(record)
            if n % PROGRESS_EVERY == 0:
                _call(progress, "Reading input", n, total)
    finally:
        spill.close()
    return path


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


def _call(progress: ProgressFn | None, stage: str, done: int, total: int | None) -> None:
    if progress is not None:
        progress(stage, done, total)
