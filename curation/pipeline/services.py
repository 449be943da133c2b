"""Pipeline services: configs (validation, YAML), starting and executing runs.

Step specs are one format everywhere (config rows, run snapshots, YAML, the CLI)::

    [{"step": "normalize", "options": {}}, {"step": "near_dedup", "options": {"threshold": 0.8}}]

YAML form (what the editor shows and ``--config`` files hold)::

    steps:
      - normalize
      - length: {min_words: 5}
      - near_dedup:
          threshold: 0.8
"""
from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from refinery.jobs import JobCancelled, JobContext, JobError, job_start

from ..models import Collection, Document, PipelineConfig, PipelineRun, RunOutput, RunRejection, Sample
from .base import Record, Rejection, Step, StepConfigError, get_step_class, load_steps
from .engine import EXECUTORS, PipelineError, run_pipeline

JOB_KIND = "curation.pipeline_run"
# The default chain, in this order, for a collection without a saved config (steps not installed are skipped).
DEFAULT_STEPS = ("normalize", "glossary", "language", "length", "quality", "pii", "exact_dedup", "near_dedup")
WRITE_BATCH = 2000
STATS_FLUSH_SECONDS = 1.0
# Length histogram bins (characters) shared by the dashboards: 0, 16, 32, … 1M+.
LENGTH_BINS = [0] + [2 ** k for k in range(4, 21)]
PII_EXAMPLES = 12


# ------------------------------------------------------------------------------------ specs & YAML
def step_catalog() -> list[dict[str, Any]]:
    """Every registered step with its kind, description and options (name, type, default)."""
    import dataclasses
    import typing

    catalog = []
    for name, cls in sorted(load_steps().items()):
        hints = typing.get_type_hints(cls.Options)
        options = []
        for f in dataclasses.fields(cls.Options):
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                default = f.default_factory()  # type: ignore[misc]
            else:
                default = None
            hint = hints.get(f.name)
            options.append({"name": f.name, "type": getattr(hint, "__name__", str(hint)), "default": default})
        catalog.append({"name": name, "kind": cls.kind, "description": cls.description, "options": options})
    return catalog


def default_step_specs() -> list[dict[str, Any]]:
    available = load_steps()
    return [{"step": name, "options": {}} for name in DEFAULT_STEPS if name in available]


def pipeline_steps_validate(*, steps: Any) -> list[dict[str, Any]]:
    """Check a step spec list; return it in canonical form. Raises StepConfigError saying what and where."""
    if not isinstance(steps, list) or not steps:
        raise StepConfigError("A pipeline needs a non-empty list of steps.")
    canonical = []
    for i, item in enumerate(steps, 1):
        if isinstance(item, str):
            name, options = item, {}
        elif isinstance(item, dict) and "step" in item:
            name, options = item["step"], item.get("options") or {}
        elif isinstance(item, dict) and len(item) == 1:
            (name, options), = item.items()
            options = options or {}
        else:
            raise StepConfigError(f"Step {i}: expected a step name or {{name: {{options}}}}, got {item!r}.")
        if not isinstance(options, dict):
            raise StepConfigError(f"Step {i} ({name}): options must be a mapping, got {options!r}.")
        try:
            step = get_step_class(str(name))(**options)
        except StepConfigError as exc:
            raise StepConfigError(f"Step {i}: {exc}") from None
        # Keep only what the user set, in the types the step parsed them to.
        parsed = step.options_dict()
        canonical.append({"step": str(name), "options": {k: parsed[k] for k in options}})
    return canonical


def pipeline_steps_from_yaml(text: str) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise StepConfigError(f"The YAML is not valid{where}: {getattr(exc, 'problem', exc)}") from None
    if isinstance(data, dict):
        data = data.get("steps")
    return pipeline_steps_validate(steps=data)


def pipeline_steps_to_yaml(steps: list[dict[str, Any]]) -> str:
    items = [s["step"] if not s.get("options") else {s["step"]: s["options"]} for s in steps]
    return yaml.safe_dump({"steps": items}, allow_unicode=True, sort_keys=False, default_flow_style=False)


def steps_build(specs: list[dict[str, Any]], *, collection: str | None = None) -> list[Step]:
    """Step objects for a spec list.

    For a collection's run, a step with a ``collection`` option left empty gets the run's collection;
    when the step also takes its data inline (glossary: ``terms``), that data is read here, in the
    driver, so worker processes and Ray actors never need the database. Every step's ``prepare`` runs
    here too (the quality step's trained classifier, the glossary's terms file: read in the driver).
    """
    steps = []
    for spec in specs:
        cls = get_step_class(spec["step"])
        fields = cls.option_fields()
        options = dict(spec.get("options") or {})
        if collection and "collection" in fields and not options.get("collection"):
            if "terms" in fields and not options.get("terms") and not options.get("terms_file"):
                from ..selectors import glossary_terms_for_step

                options["terms"] = glossary_terms_for_step(collection_name=collection)
            else:
                options["collection"] = collection
        step = cls(**options)
        step.prepare()
        steps.append(step)
    return steps


def parse_set_options(pairs: list[str]) -> dict[str, dict[str, str]]:
    """``["near_dedup.threshold=0.8"]`` → ``{"near_dedup": {"threshold": "0.8"}}`` (values coerced later)."""
    out: dict[str, dict[str, str]] = {}
    for pair in pairs:
        m = re.fullmatch(r"\s*([\w-]+)\.([\w-]+)\s*=(.*)", pair)
        if not m:
            raise StepConfigError(f"--set {pair!r}: expected STEP.OPTION=VALUE, e.g. near_dedup.threshold=0.8")
        out.setdefault(m.group(1), {})[m.group(2)] = m.group(3).strip()
    return out


# ------------------------------------------------------------------------------------ configs
def pipeline_config_create(*, collection: Collection, name: str, steps: Any = None, yaml_text: str | None = None,
                           description: str = "") -> PipelineConfig:
    specs = pipeline_steps_from_yaml(yaml_text) if yaml_text is not None else pipeline_steps_validate(steps=steps)
    if not re.fullmatch(r"[-a-zA-Z0-9_]+", name or ""):
        raise StepConfigError("The name may only hold letters, digits, '-' and '_'.")
    if PipelineConfig.objects.filter(collection=collection, name=name).exists():
        raise StepConfigError(f"Collection {collection.name} already has a pipeline named {name!r}.")
    return PipelineConfig.objects.create(collection=collection, name=name, steps=specs, description=description)


def pipeline_config_update(*, config: PipelineConfig, steps: Any = None, yaml_text: str | None = None,
                           description: str | None = None) -> PipelineConfig:
    if yaml_text is not None:
        config.steps = pipeline_steps_from_yaml(yaml_text)
    elif steps is not None:
        config.steps = pipeline_steps_validate(steps=steps)
    if description is not None:
        config.description = description
    config.save()
    return config


def pipeline_config_default(*, collection: Collection) -> PipelineConfig:
    """The collection's config named 'default', created with DEFAULT_STEPS when missing."""
    config = PipelineConfig.objects.filter(collection=collection, name="default").first()
    if config is None:
        config = PipelineConfig.objects.create(collection=collection, name="default", steps=default_step_specs(),
                                               description="The standard cleaning chain.")
    return config


# ------------------------------------------------------------------------------------ runs
def pipeline_run_create(*, collection: Collection, config: PipelineConfig, executor: str | None = None) -> PipelineRun:
    executor = executor or settings.PIPELINE_EXECUTOR
    if executor not in EXECUTORS:
        raise PipelineError(f"Unknown executor {executor!r}. Valid executors: {', '.join(EXECUTORS)}")
    specs = pipeline_steps_validate(steps=config.steps)  # steps may have changed since the config was saved
    return PipelineRun.objects.create(collection=collection, config=config, config_name=config.name, steps=specs,
                                      executor=executor)


def pipeline_run_start(*, collection: Collection, config: PipelineConfig, user=None,
                       executor: str | None = None) -> PipelineRun:
    """Create a run and queue it as a background job (the jobs page shows live progress)."""
    with transaction.atomic():
        run = pipeline_run_create(collection=collection, config=config, executor=executor)
        job = job_start(kind=JOB_KIND, title=f"Pipeline {config.name} on {collection.name}",
                        params={"run_id": run.pk}, user=user, target=run)
        PipelineRun.objects.filter(pk=run.pk).update(job=job)
        run.job = job
    return run


def pipeline_run_reconcile(*, run: PipelineRun) -> PipelineRun:
    """A run whose job ended without the run noticing (cancelled while queued, worker crash) takes the
    job's final status, so it never shows as running forever."""
    if run.is_active and run.job is not None and not run.job.is_active:
        status = {"cancelled": PipelineRun.Status.CANCELLED, "failed": PipelineRun.Status.FAILED}.get(run.job.status)
        if status is not None:
            _finish(run, status, error=run.job.error or f"The job was {run.job.status}.")
    return run


def record_id(obj) -> str:
    return f"{'d' if isinstance(obj, Document) else 's'}{obj.pk}"


def parse_record_id(rid: str) -> tuple[str, int] | None:
    """'d12' → ('document', 12); 's7' → ('sample', 7); anything else → None."""
    m = re.fullmatch(r"([ds])(\d+)", rid or "")
    if not m:
        return None
    return ("document" if m.group(1) == "d" else "sample", int(m.group(2)))


def _collection_records(collection: Collection, languages: dict[str, str]):
    """Active documents, then samples, as engine records (ingested text is read, never written)."""
    docs = Document.objects.filter(collection=collection, status=Document.Status.ACTIVE).order_by("id")
    for pk, text, lang in docs.values_list("id", "text", "language").iterator(chunk_size=2000):
        rid = f"d{pk}"
        languages[rid] = lang or ""
        yield {"id": rid, "text": text}
    for pk, messages, lang in Sample.objects.filter(collection=collection).order_by("id").values_list(
            "id", "messages", "language").iterator(chunk_size=2000):
        rid = f"s{pk}"
        languages[rid] = lang or ""
        yield {"id": rid, "messages": messages}


class _ChartAggregator:
    """Dashboard aggregates collected while the run streams (bounded: counters and a few examples)."""

    def __init__(self, languages: dict[str, str]):
        from .base import record_text

        self._text = record_text
        self.languages = languages
        self.lang = {"kept": Counter(), "rejected": Counter()}
        self.length = {"kept": Counter(), "rejected": Counter()}
        self.pii_examples: list[dict] = []
        self.pii_masked: dict[str, list[str]] = {}
        self._placeholder_re = _placeholder_re()

    def _language(self, record: Record) -> str:
        value = (record.get("attrs") or {}).get("language")
        if isinstance(value, dict):
            value = value.get("lang") or value.get("language") or value.get("code")
        return str(value or self.languages.get(str(record.get("id")), "") or "unknown")

    def add(self, record: Record, kind: str) -> None:
        text = self._text(record)
        self.lang[kind][self._language(record)] += 1
        self.length[kind][_length_bin(len(text))] += 1
        pii = (record.get("attrs") or {}).get("pii")
        if isinstance(pii, dict) and isinstance(pii.get("examples"), dict):
            for pii_type, values in pii["examples"].items():
                bucket = self.pii_masked.setdefault(str(pii_type), [])
                for value in values or []:
                    if len(bucket) < PII_EXAMPLES // 2 and value not in bucket:
                        bucket.append(str(value))
        if kind == "kept" and len(self.pii_examples) < PII_EXAMPLES and self._placeholder_re is not None:
            m = self._placeholder_re.search(text)
            if m:
                start = max(0, m.start() - 80)
                self.pii_examples.append({"id": record["id"], "snippet": text[start:m.end() + 120],
                                          "placeholder": m.group(0)})

    def as_dict(self) -> dict:
        return {
            "languages": {k: dict(v.most_common()) for k, v in self.lang.items()},
            "length_bins": LENGTH_BINS,
            "lengths": {k: [v.get(i, 0) for i in range(len(LENGTH_BINS))] for k, v in self.length.items()},
            "pii_examples": self.pii_examples,
            "pii_masked": self.pii_masked,
        }


def _length_bin(n: int) -> int:
    import bisect

    return bisect.bisect_right(LENGTH_BINS, n) - 1


def _placeholder_re():
    """PII placeholders as the pii step writes them (None until that step is installed)."""
    try:
        from .steps.pii import PLACEHOLDER_RE
    except ImportError:
        return None
    return PLACEHOLDER_RE


def pipeline_run_execute(*, run: PipelineRun, ctx: JobContext | None = None) -> PipelineRun:
    """Run the pipeline over the collection; store outputs and rejections in one transaction at the end.

    While it runs, kept/rejected records stream to JSONL files in the run's folder and per-step stats are
    saved on the run every second (the run page shows them live). Failure or cancellation marks the run
    and writes no rows, so earlier runs stay intact and the run can simply be started again.
    """
    if run.status not in (PipelineRun.Status.QUEUED, PipelineRun.Status.FAILED, PipelineRun.Status.CANCELLED):
        raise JobError(f"Run {run.pk} is {run.status}; only queued runs can be executed.")
    collection = run.collection
    PipelineRun.objects.filter(pk=run.pk).update(status=PipelineRun.Status.RUNNING, started_at=timezone.now(), error="")
    run.refresh_from_db()
    folder = Path(settings.PIPELINE_DIR) / f"run-{run.pk}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        steps = steps_build(run.steps, collection=collection.name)
    except StepConfigError as exc:
        _finish(run, PipelineRun.Status.FAILED, error=str(exc))
        raise JobError(str(exc)) from None

    total = (Document.objects.filter(collection=collection, status=Document.Status.ACTIVE).count()
             + Sample.objects.filter(collection=collection).count())
    languages: dict[str, str] = {}
    charts = _ChartAggregator(languages)
    kept_path, rejected_path = folder / "kept.jsonl.part", folder / "rejected.jsonl.part"
    last_flush = [0.0]

    def on_progress(stage: str, done: int, stage_total: int | None) -> None:
        if ctx is not None:
            ctx.progress(done, stage_total, stage=stage)
        now = time.monotonic()
        if now - last_flush[0] >= STATS_FLUSH_SECONDS:
            last_flush[0] = now
            PipelineRun.objects.filter(pk=run.pk).update(
                report={"live": True, "stage": stage, "steps": [s.stats.as_dict() for s in steps]})

    try:
        with open(kept_path, "w", encoding="utf-8") as kept_fh, open(rejected_path, "w", encoding="utf-8") as rej_fh:
            def on_output(record: Record) -> None:
                charts.add(record, "kept")
                kept_fh.write(json.dumps(record, ensure_ascii=False) + "\n")

            def on_reject(record: Record, rejection: Rejection) -> None:
                charts.add(record, "rejected")
                rej_fh.write(json.dumps({"record": record, "rejection": rejection.as_dict()}, ensure_ascii=False) + "\n")

            result = run_pipeline(_collection_records(collection, languages), steps, executor=run.executor,
                                  output=on_output, reject=on_reject, progress=on_progress, total=total,
                                  ray_address=settings.RAY_ADDRESS or None, workdir=folder)
        if ctx is not None:
            ctx.progress(0, result.n_output + result.n_rejected, stage="Saving results", force=True)
        with transaction.atomic():
            derived = _write_rows(run, kept_path, rejected_path, ctx)
            run.report = {**result.report(), "derived_records": derived}
            run.charts = charts.as_dict()
            run.n_input, run.n_output, run.n_rejected = result.n_input, result.n_output, result.n_rejected
            run.seconds = result.seconds
            run.status = PipelineRun.Status.SUCCEEDED
            run.finished_at = timezone.now()
            run.save()
        os.replace(kept_path, folder / "kept.jsonl")
        os.replace(rejected_path, folder / "rejected.jsonl")
        if derived and ctx is not None:
            ctx.log(f"{derived} new records made by augmenter steps are in {folder / 'kept.jsonl'}; they are not "
                    "stored as run outputs (use the augmentation page to add samples).", level="warning")
        (folder / "report.json").write_text(json.dumps(run.report, ensure_ascii=False, indent=2), encoding="utf-8")
    except JobCancelled:
        _finish(run, PipelineRun.Status.CANCELLED, error="Cancelled by request.")
        _cleanup(kept_path, rejected_path)
        raise
    except (StepConfigError, PipelineError) as exc:
        _finish(run, PipelineRun.Status.FAILED, error=str(exc))
        _cleanup(kept_path, rejected_path)
        raise JobError(str(exc)) from None
    except Exception as exc:
        _finish(run, PipelineRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        _cleanup(kept_path, rejected_path)
        raise
    return run


def _write_rows(run: PipelineRun, kept_path: Path, rejected_path: Path, ctx: JobContext | None) -> int:
    """Bulk-insert the run's outputs and rejections from the spill files (inside the caller's transaction).

    Records that are not a document or sample of the collection (new records made by augmenter steps,
    ids like ``s12~synonym1``) stay in the run's kept.jsonl but get no output row: outputs are keyed by
    document/sample (the augmentation pages create new samples). Returns how many were left out.
    """
    done = 0
    derived = 0

    def flush(model, rows):
        nonlocal done
        model.objects.bulk_create(rows, batch_size=WRITE_BATCH)
        done += len(rows)
        if ctx is not None:
            ctx.progress(done)
        rows.clear()

    rows: list = []
    with open(kept_path, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line, parse_constant=_no_nan)
            parsed = parse_record_id(str(record["id"]))
            if parsed is None:
                derived += 1
                continue
            kind, pk = parsed
            rows.append(RunOutput(
                run=run, document_id=pk if kind == "document" else None, sample_id=pk if kind == "sample" else None,
                text=record.get("text") or "" if kind == "document" else "",
                messages=record.get("messages") if kind == "sample" else None,
                attributes=record.get("attrs") or {},
            ))
            if len(rows) >= WRITE_BATCH:
                flush(RunOutput, rows)
    flush(RunOutput, rows)
    from .base import record_text

    with open(rejected_path, encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line, parse_constant=_no_nan)
            record, rej = item["record"], item["rejection"]
            kind, pk = parse_record_id(str(record["id"])) or ("", None)
            rows.append(RunRejection(
                run=run, document_id=pk if kind == "document" else None, sample_id=pk if kind == "sample" else None,
                record_id=str(record["id"])[:64], step=rej["step"][:64], reason=str(rej["reason"])[:200],
                duplicate_of=str(rej.get("duplicate_of") or "")[:64], text=record_text(record),
                details={**(rej.get("details") or {}), **({"attrs": record["attrs"]} if record.get("attrs") else {})},
            ))
            if len(rows) >= WRITE_BATCH:
                flush(RunRejection, rows)
    flush(RunRejection, rows)
    return derived


def _finish(run: PipelineRun, status: str, *, error: str = "") -> None:
    PipelineRun.objects.filter(pk=run.pk).update(status=status, error=error[:5000], finished_at=timezone.now())
    run.refresh_from_db()


def _cleanup(*paths: Path) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def _no_nan(_constant: str) -> None:
    """NaN/Infinity in a step's attributes become null (PostgreSQL's jsonb refuses them)."""
    return None
