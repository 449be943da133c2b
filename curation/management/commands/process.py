"""python manage.py process --steps a,b,c --input IN.jsonl --output OUT.jsonl [...]: headless, no database."""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from curation.pipeline.base import StepConfigError
from curation.pipeline.engine import EXECUTORS, PipelineError, dumps, run_pipeline
from curation.pipeline.services import (
    parse_set_options, pipeline_steps_from_yaml, pipeline_steps_validate, steps_build,
)

MAX_REPORTED_ERRORS = 1000


class Command(BaseCommand):
    help = ("Run pipeline steps over a JSONL file (one {id, text, ...} object per line) without a database. "
            "Kept records go to --output, dropped ones (with step, reason, duplicate_of) to --rejected, "
            "per-step counts, timings and PII counts to --report.")
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--steps", help="Comma-separated step names, in order (e.g. normalize,language,near_dedup).")
        parser.add_argument("--config", help="A pipeline YAML file (steps with options) instead of --steps.")
        parser.add_argument("--input", required=True, help="Input JSONL: one object per line with 'id' and 'text'.")
        parser.add_argument("--output", required=True, help="Kept records (JSONL), text transformed.")
        parser.add_argument("--rejected", help="Dropped records (JSONL) with step, reason and duplicate_of.")
        parser.add_argument("--report", help="Report (JSON): per-step counts, timings, PII counts by type.")
        parser.add_argument("--set", action="append", default=[], metavar="STEP.OPTION=VALUE",
                            help="Set a step option, e.g. --set near_dedup.threshold=0.8 (repeatable).")
        parser.add_argument("--executor", choices=EXECUTORS, default="local")
        parser.add_argument("--processes", type=int, default=1, help="Worker processes (local) or Ray actors per stage.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar on stderr.")

    def handle(self, *args, **o):
        specs = self._specs(o)
        try:
            steps = steps_build(specs)  # also resolves files / database state in this process (prepare)
        except StepConfigError as exc:
            raise CommandError(str(exc), returncode=2) from None
        src = Path(o["input"])
        if not src.is_file():
            raise CommandError(f"--input {src}: no such file", returncode=2)
        for opt in ("output", "rejected", "report"):
            if o[opt] and not Path(o[opt]).resolve().parent.is_dir():
                raise CommandError(f"--{opt} {o[opt]}: the folder {Path(o[opt]).resolve().parent} does not exist",
                                   returncode=2)
        total = _count_lines(src)
        errors: list[dict] = []
        n_errors = [0]
        bar = None if o["no_progress"] else _Bar()
        out_path = Path(o["output"])
        rej_path = Path(o["rejected"]) if o["rejected"] else None
        rep_path = Path(o["report"]) if o["report"] else None
        parts = [p.with_name(p.name + ".part") for p in (out_path, rej_path, rep_path) if p is not None]
        tmp_out = parts[0]
        tmp_rej = rej_path.with_name(rej_path.name + ".part") if rej_path else None
        try:
            with open(tmp_out, "w", encoding="utf-8") as out_fh, \
                    (open(tmp_rej, "w", encoding="utf-8") if tmp_rej else contextlib.nullcontext()) as rej_fh:

                def on_output(record):
                    out_fh.write(dumps(record) + "\n")

                def on_reject(record, rejection):
                    if rej_fh is not None:
                        rej_fh.write(dumps({**record, **rejection.as_dict()}) + "\n")

                try:
                    result = run_pipeline(
                        _read_records(src, errors, n_errors), steps, executor=o["executor"], output=on_output,
                        reject=on_reject, progress=bar.update if bar else None, total=total, processes=o["processes"],
                    )
                finally:
                    if bar:
                        bar.close()
            report = {**result.report(), "input_file": str(src), "malformed_lines": n_errors[0],
                      "errors": errors, "steps_config": specs}
            if rep_path:
                tmp = rep_path.with_name(rep_path.name + ".part")
                tmp.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
            # all written: move every file into place (an earlier failure leaves the previous outputs as they were)
            os.replace(tmp_out, out_path)
            if tmp_rej:
                os.replace(tmp_rej, rej_path)
            if rep_path:
                os.replace(rep_path.with_name(rep_path.name + ".part"), rep_path)
        except StepConfigError as exc:  # raised while a step set itself up (a model, a file, the database)
            raise CommandError(str(exc), returncode=2) from None
        except PipelineError as exc:
            raise CommandError(str(exc)) from None
        finally:
            for part in parts:
                part.unlink(missing_ok=True)
        for err in errors[:20]:
            self.stderr.write(self.style.WARNING(f"{src}:{err['line']}: {err['error']}"))
        if n_errors[0] > 20:
            self.stderr.write(self.style.WARNING(f"… {n_errors[0] - 20} more malformed lines (see the report)"))
        for s in report["steps"]:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(s["reasons"].items(), key=lambda kv: -kv[1]))
            self.stdout.write(f"{s['step']:<16} in {s['in']:>8}  out {s['out']:>8}  dropped {s['dropped']:>7}  "
                              f"{s['seconds']:>8.2f}s" + (f"  ({reasons})" if reasons else ""))
        if report["pii"]:
            self.stdout.write("PII: " + ", ".join(f"{k} {v}" for k, v in sorted(report["pii"].items())))
        self.stdout.write(self.style.SUCCESS(
            f"{result.n_input} records in, {result.n_output} kept, {result.n_rejected} rejected, "
            f"{n_errors[0]} malformed lines; {result.seconds:.2f}s "
            f"({report['docs_per_second'] or 0:.0f} docs/s) → {out_path}"))

    def _specs(self, o) -> list[dict]:
        try:
            if o["config"]:
                if o["steps"]:
                    raise CommandError("Give --steps or --config, not both.", returncode=2)
                path = Path(o["config"])
                if not path.is_file():
                    raise CommandError(f"--config {path}: no such file", returncode=2)
                specs = pipeline_steps_from_yaml(path.read_text(encoding="utf-8"))
            elif o["steps"]:
                specs = [{"step": s.strip(), "options": {}} for s in o["steps"].split(",") if s.strip()]
            else:
                raise CommandError("Give --steps a,b,c or --config PIPELINE.yaml.", returncode=2)
            sets = parse_set_options(o["set"])
            names = [s["step"] for s in specs]
            for step_name, values in sets.items():
                if step_name not in names:
                    raise CommandError(f"--set {step_name}.…: '{step_name}' is not one of the steps ({', '.join(names)}).", returncode=2)
                for spec in specs:
                    if spec["step"] == step_name:
                        spec["options"] = {**spec["options"], **values}
            return pipeline_steps_validate(steps=specs)
        except StepConfigError as exc:
            raise CommandError(str(exc), returncode=2) from None


def _read_records(path: Path, errors: list[dict], n_errors: list[int]):
    """Yield valid records; malformed lines are reported with their line number and skipped."""

    def bad(line_no: int, message: str) -> None:
        n_errors[0] += 1
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append({"line": line_no, "error": message})

    with open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, 1):
            if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]  # a UTF-8 byte order mark
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad(line_no, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line)")
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                bad(line_no, f"not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(record, dict):
                bad(line_no, f"expected a JSON object, got {type(record).__name__}")
                continue
            if "id" not in record or record["id"] in (None, ""):
                bad(line_no, "missing 'id'")
                continue
            if not isinstance(record.get("text"), str) and not isinstance(record.get("messages"), list):
                bad(line_no, "missing 'text' (a string) or 'messages' (a list)")
                continue
            yield record


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))


class _Bar:
    """tqdm on stderr, one bar per stage."""

    def __init__(self):
        self._bar = None
        self._stage = None

    def update(self, stage: str, done: int, total: int | None) -> None:
        from tqdm import tqdm

        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = tqdm(total=total, desc=stage, unit="doc", file=sys.stderr, dynamic_ncols=True, leave=True)
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
