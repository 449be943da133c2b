"""Run one step the way the engine does (global steps: fit over the stream, then apply)."""
from __future__ import annotations

from curation.pipeline.base import GlobalStep, build_step


def run_step(name_or_step, records, **options):
    step = build_step(name_or_step, options) if isinstance(name_or_step, str) else name_or_step
    records = [dict(r) for r in records]
    rejected = []
    if isinstance(step, GlobalStep):
        step.fit_stream(iter(records))
    kept = list(step.process(iter(records), lambda rec, rej: rejected.append((rec, rej))))
    return kept, rejected, step


def reasons(rejected):
    return {rec["id"]: rej.reason for rec, rej in rejected}
