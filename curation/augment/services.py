"""Augment a collection's samples: selected share of eligible samples → new samples (origin augmented).

Eligible = not pinned to a held-out split (validation/test) and not itself augmented. Every new sample
gets ``parent`` and ``method``; its split is the parent's (train or unassigned), never a held-out one.
All new samples of a run are written in one transaction at the end (a cancelled run writes nothing).
A run started as a job records the job's id on each new sample (``meta["augment"]["job"]``) and keeps
its acceptance statistics so far in the job's result while it works (``result["live"]`` is true then).

A child's metadata follows its messages (``lineage.child_meta``): ``meta["cot"]`` re-read from the edited
reasoning turn, ``entity_spans`` moved to where the (possibly swapped) values now are, per-utterance
intents re-aligned after dialogue expansion.

``augment_start`` (web form, REST API) checks the whole request — methods, ratio, each method's options —
before queueing; ``AugmentRequestError.field`` says which part was wrong.
"""
from __future__ import annotations

import math
import random
import time
from collections import Counter
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from curation.builders.cot import CotLost
from curation.hashing import messages_hash
from curation.models import Collection, EntityList, Sample
from refinery.jobs import JobContext, JobError, job_start
from refinery.models import Job, audit_log

from .base import AugmentContext, GlossaryEntry, Item, augment_methods, get_augmenter
from .lineage import child_meta

JOB_KIND = "curation.augment"
HELD_OUT_SPLITS = (Sample.Split.VALIDATION, Sample.Split.TEST)
BATCH_SIZE = 16
DEFAULT_SEED = 13
DEFAULT_RATIO = 0.2
LIVE_STATS_SECONDS = 2.0  # how often a running job's result gets the acceptance statistics so far


class AugmentRequestError(ValueError):
    """A bad augmentation request; ``field`` is methods, ratio or options."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def collection_glossary(*, collection: Collection) -> list[GlossaryEntry]:
    """The collection's glossary terms as GlossaryEntry (protected terms and synonym groups)."""
    from curation.selectors import glossary_terms

    return [GlossaryEntry(t.canonical, tuple(t.variants or ()), tuple(t.synonyms or ()))
            for t in glossary_terms(collection=collection)]


def collection_entity_lists(*, collection: Collection) -> dict[str, list[str]]:
    return {e.entity_type: [str(v) for v in e.values] for e in EntityList.objects.filter(collection=collection)}


def entity_list_set(*, collection: Collection, entity_type: str, values: list[str], user=None) -> EntityList:
    values = [v.strip() for v in values if v and v.strip()]
    if not entity_type.strip():
        raise ValueError("Entity type is required")
    obj, _ = EntityList.objects.get_or_create(collection=collection, entity_type=entity_type.strip(),
                                              defaults={"values": values, "created_by": user, "updated_by": user})
    if obj.values != values:
        obj.values = values
        obj.updated_by = user
        obj.save()
    return obj


def augmentation_eligible(*, collection: Collection) -> QuerySet[Sample]:
    return (Sample.objects.filter(collection=collection).exclude(split__in=HELD_OUT_SPLITS)
            .exclude(origin=Sample.Origin.AUGMENTED))


def sample_item(sample: Sample) -> Item:
    return Item(key=str(sample.pk), messages=sample.messages, language=sample.language or "",
                intent=sample.intent or "", entities=sample.entities or {})


def parse_methods(methods: str | list[str]) -> list[str]:
    names = [m.strip() for m in (methods.split(",") if isinstance(methods, str) else methods) if m.strip()]
    valid = augment_methods()
    bad = [m for m in names if m not in valid]
    if not names or bad:
        raise AugmentRequestError("methods", f"Unknown augmentation method(s) {', '.join(bad) or '(none given)'}. "
                                             f"Valid methods: {', '.join(sorted(valid))}")
    return list(dict.fromkeys(names))


def check_ratio(ratio: float) -> float:
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
        raise AugmentRequestError("ratio", f"ratio must be in (0, 1], got {ratio}")
    return float(ratio)


def clean_method_options(*, methods: list[str], options: dict | None) -> dict[str, dict]:
    """Check per-method options ``{method: {option: value}}`` for the chosen ``methods``; normalised values.

    Options may only name chosen methods, and only the options each method declares (JSON values).
    """
    options = options or {}
    if not isinstance(options, dict):
        raise AugmentRequestError("options", "options must be an object of {method: {option: value}}")
    stray = [m for m in options if m not in methods]
    if stray:
        raise AugmentRequestError("options", f"Options given for method(s) not chosen: {', '.join(stray)}. "
                                             f"Chosen methods: {', '.join(methods)}")
    valid = augment_methods()
    try:
        cleaned = {m: valid[m].clean_options(opts) for m, opts in options.items()}
    except ValueError as exc:
        raise AugmentRequestError("options", str(exc)) from None
    return {m: opts for m, opts in cleaned.items() if opts}


def samples_augment(*, collection: Collection, methods: list[str], ratio: float, options: dict[str, dict] | None = None,
                    seed: int = DEFAULT_SEED, user=None, ctx: JobContext | None = None) -> dict[str, Any]:
    """Run each method over ``ratio`` of the eligible samples; returns per-method acceptance statistics."""
    check_ratio(ratio)
    methods = parse_methods(methods)
    options = options or {}
    augmenters = {m: get_augmenter(m, **options.get(m, {})) for m in methods}
    actx = AugmentContext(glossary=collection_glossary(collection=collection),
                          entity_lists=collection_entity_lists(collection=collection), seed=seed)
    eligible = list(augmentation_eligible(collection=collection).order_by("id"))
    n_pick = min(len(eligible), math.ceil(ratio * len(eligible)))
    picked = sorted(random.Random(seed).sample(eligible, n_pick), key=lambda s: s.pk)
    known_hashes = set(Sample.objects.filter(collection=collection).values_list("content_hash", flat=True))
    new_samples: list[Sample] = []
    stats: dict[str, Any] = {"collection": collection.name, "eligible": len(eligible), "selected": n_pick,
                             "held_out_skipped": Sample.objects.filter(collection=collection,
                                                                       split__in=HELD_OUT_SPLITS).count(),
                             "methods": {}}
    total = n_pick * len(methods)
    done = 0
    last_live = 0.0
    job_id = ctx.job.pk if ctx is not None else None
    for method, augmenter in augmenters.items():
        t0 = time.perf_counter()
        m_stats = stats["methods"][method] = {"attempted": 0, "accepted": 0, "new_samples": 0, "acceptance_rate": None,
                                              "rejected": {}, "similarities": [], "seconds": 0.0}
        if getattr(augmenter, "band", None):
            m_stats["band"] = list(augmenter.band)  # the similarity band this run gated with
        reasons: Counter = Counter()
        for start in range(0, n_pick, BATCH_SIZE):
            batch = picked[start:start + BATCH_SIZE]
            outcomes = augmenter.augment([sample_item(s) for s in batch], actx)
            for parent, outcome in zip(batch, outcomes):
                m_stats["similarities"] += list(outcome.details.get("similarity", [])) if outcome.details else []
                if not outcome.variants:
                    reasons[outcome.reason or "rejected"] += 1
                    continue
                kept_any = False
                for variant in outcome.variants:
                    if variant.details.get("similarity") is not None:
                        m_stats["similarities"].append(variant.details["similarity"])
                    h = messages_hash(variant.messages)
                    if h in known_hashes:
                        reasons["duplicate"] += 1
                        continue
                    try:
                        child = _child(parent, variant, method, h, user, job_id=job_id)
                    except CotLost:
                        reasons["chain-of-thought lost"] += 1
                        continue
                    known_hashes.add(h)
                    kept_any = True
                    new_samples.append(child)
                    m_stats["new_samples"] += 1
                m_stats["accepted"] += kept_any
            done += len(batch)
            m_stats["attempted"] += len(batch)
            m_stats["rejected"] = dict(reasons)
            m_stats["acceptance_rate"] = round(m_stats["accepted"] / m_stats["attempted"], 4)
            m_stats["seconds"] = round(time.perf_counter() - t0, 2)
            if ctx is not None:
                ctx.progress(done, total, stage=f"Augmenting: {method} — {m_stats['accepted']}/"
                                                f"{m_stats['attempted']} accepted")
                if time.monotonic() - last_live >= LIVE_STATS_SECONDS or done == total:
                    last_live = time.monotonic()
                    _publish_live(job_id, stats, len(new_samples))
        m_stats["seconds"] = round(time.perf_counter() - t0, 2)
        if ctx is not None:
            ctx.log(f"{method}: {m_stats['accepted']}/{n_pick} accepted, {m_stats['new_samples']} new samples; "
                    f"rejected {dict(reasons)}")
    with transaction.atomic():
        Sample.objects.bulk_create(new_samples, batch_size=500)
        if new_samples:
            audit_log(obj=collection, action="augment", user=user,
                      summary=f"Augmented {collection.name}: {len(new_samples)} new samples ({', '.join(methods)})",
                      details={m: {k: v for k, v in s.items() if k != "similarities"}
                               for m, s in stats["methods"].items()})
    stats["new_samples"] = len(new_samples)
    return stats


def _publish_live(job_id: int | None, stats: dict, n_new: int) -> None:
    """The acceptance statistics so far into the running job's result (the API and the page read them)."""
    if job_id is None:
        return
    live = {**stats, "methods": {m: {k: v for k, v in s.items() if k != "similarities"}
                                 for m, s in stats["methods"].items()},
            "new_samples": n_new, "live": True}
    Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(result=live)


def _child(parent: Sample, variant, method: str, content_hash: str, user, job_id: int | None = None) -> Sample:
    """The augmented sample for one variant (raises CotLost when its reasoning turn became unrecognisable)."""
    meta = child_meta(parent.meta or {}, parent.messages, variant.messages,
                      swapped=variant.details.get("swapped") or {})
    meta["augment"] = {"method": method, **variant.details}
    if job_id is not None:
        meta["augment"]["job"] = job_id
    return Sample(
        collection_id=parent.collection_id, messages=variant.messages, origin=Sample.Origin.AUGMENTED,
        method=method, parent=parent, source_document_id=parent.source_document_id,
        source_file_id=parent.source_file_id, intent=parent.intent,
        entities=variant.entities if variant.entities is not None else parent.entities,
        domain=parent.domain, language=parent.language,
        split=parent.split if parent.split not in HELD_OUT_SPLITS else "",
        content_hash=content_hash, meta=meta, created_by=user, updated_by=user,
    )


def augment_start(*, collection: Collection, methods: list[str], ratio: float, options: dict | None = None,
                  seed: int = DEFAULT_SEED, user=None):
    """Queue an augmentation job (web form, REST API); checks the whole request first (AugmentRequestError)."""
    methods = parse_methods(methods)
    ratio = check_ratio(ratio)
    options = clean_method_options(methods=methods, options=options)
    return job_start(kind=JOB_KIND, title=f"Augment {collection.name}: {', '.join(methods)} ({ratio:.0%})",
                     params={"collection_id": collection.pk, "methods": methods, "ratio": ratio,
                             "options": options, "seed": seed}, user=user, target=collection)


def augment_job(ctx: JobContext, *, collection_id: int, methods: list[str], ratio: float, options: dict | None = None,
                seed: int = DEFAULT_SEED) -> dict:
    collection = Collection.objects.filter(pk=collection_id).first()
    if collection is None:
        raise JobError(f"Collection {collection_id} no longer exists.")
    try:
        return samples_augment(collection=collection, methods=methods, ratio=ratio, options=options, seed=seed,
                               user=ctx.job.created_by, ctx=ctx)
    except ValueError as exc:
        raise JobError(str(exc)) from exc
