"""Small steps for engine tests (the real steps are tested over the same engine in test_real_steps)."""
from __future__ import annotations

import dataclasses
import os

from curation.pipeline.base import Filter, GlobalStep, Mapper, Rejection, record_text


class Lower(Mapper):
    name = "t_lower"
    drop_reason = "empty"

    def map(self, record):
        if "messages" in record:
            record["messages"] = [{**m, "content": m["content"].lower()} for m in record["messages"]]
        else:
            if not record["text"].strip():
                return None
            record["text"] = record["text"].lower()
        self.stats.counters["lowered"] += 1
        return record


class MinWords(Filter):
    name = "t_min_words"

    @dataclasses.dataclass
    class Options:
        min_words: int = 3

    def keep(self, record):
        n = len(record_text(record).split())
        return True if n >= self.options.min_words else (False, "too_short")


class Dedup(GlobalStep):
    """Exact dedup on text: the first occurrence is kept, later ones point at it."""

    name = "t_dedup"

    def fit(self, records):
        self.first: dict[str, str] = {}
        for r in records:
            self.first.setdefault(record_text(r), str(r["id"]))

    def apply(self, record):
        first = self.first[record_text(record)]
        if first == str(record["id"]):
            return True
        return Rejection(self.name, "duplicate", duplicate_of=first)


class DistDedup(Dedup):
    """Same decisions, fitted on Ray (checks the fit_distributed path)."""

    name = "t_dist_dedup"

    def fit_distributed(self, ds):
        self.first = {}
        for row in ds.iter_rows():
            self.first.setdefault(row["text"], row["id"])
        self.stats.counters["fitted_distributed"] += 1


class DieInWorker(Mapper):
    """Kills the worker process it runs in (a stand-in for the OOM killer); harmless in the parent."""

    name = "t_die_in_worker"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.parent_pid = os.getpid()  # pickled to the workers with the step

    def map(self, record):
        if os.getpid() != self.parent_pid:
            os._exit(3)
        return record


class DropIds(Filter):
    """Drops the records whose id is listed (reason ``listed``)."""

    name = "t_drop_ids"

    @dataclasses.dataclass
    class Options:
        ids: list = dataclasses.field(default_factory=list)

    def keep(self, record):
        return (False, "listed") if str(record["id"]) in self.options.ids else True
