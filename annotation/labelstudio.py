"""Two-way sync with a Label Studio server through label-studio-sdk 2.x.

- ``project_push``: create/update the Label Studio project (config generated from our scheme) and
  its tasks. Idempotent: every task carries our item id in ``data`` and ``meta``; before importing
  we read what Label Studio already has, so a re-push creates no duplicates (even if a previous
  push died between import and saving the task ids) and updates only tasks whose data changed.
- ``project_pull``: read all annotations (JSON export), map ``completed_by`` to our users by email,
  store them through ``services.annotation_submit``; annotations deleted in Label Studio (missing
  from the export) are deleted here. One whose current Label Studio version cannot be taken over
  (invalid, cancelled, or its user no longer maps to ours) is kept with its last good label and
  marked stale with the reason. Safe to repeat (the periodic reconcile is a pull of every linked
  project: ``manage.py labelstudio reconcile --every SECONDS``).
- Overlap: the Label Studio project's ``maximum_annotations`` is the project's overlap; a gold
  task's own ``overlap`` is raised to the number of annotators, so Label Studio keeps serving it
  until every annotator has labelled it (its "next task" queue skips tasks with enough annotations).
- ``webhook_handle``: the receiver for ANNOTATION_CREATED / ANNOTATION_UPDATED / ANNOTATIONS_DELETED
  (Label Studio sends webhooks once, 1 s timeout, no retry — hence the reconcile pull).
- Span offsets: code points here; a span coming in is read as code points or as UTF-16 units
  (JavaScript), whichever reproduces the text Label Studio saved with it, else the annotation is
  reported as invalid (see "span offsets" below).
- Every call goes through ``ls_call``: connection errors and 5xx answers are retried with
  exponential back-off; when Label Studio stays down a ``LabelStudioDown`` is raised after the last
  attempt. Our database is only written after Label Studio answered, so nothing is lost: the
  next run picks up where this one stopped.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import selectors, services
from .models import Annotation, Item, LabelingProject, WebhookEvent
from .schemes import LabelError, Scheme

log = logging.getLogger("refinery.labelstudio")

RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0)   # seconds between attempts (exponential back-off)
IMPORT_BATCH = 200
SECRET_HEADER = "X-Refinery-Webhook-Secret"
WEBHOOK_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED")
ITEM_KEY = "refinery_item"
CREATED_USERNAME_RE = re.compile(r"(\S+@\S+), (\d+)$")


class LabelStudioError(RuntimeError):
    """Label Studio answered with an error we cannot fix by retrying (bad token, bad config …)."""


class LabelStudioDown(LabelStudioError):
    """Label Studio could not be reached after every retry."""


def get_client(*, url: str | None = None, api_key: str | None = None):
    from label_studio_sdk.client import LabelStudio

    url = url or settings.LABEL_STUDIO_URL
    api_key = api_key or settings.LABEL_STUDIO_API_KEY
    if not url or not api_key:
        raise LabelStudioError("Set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY to sync with Label Studio.")
    return LabelStudio(base_url=url.rstrip("/"), api_key=api_key, timeout=30)


def _retryable(exc: Exception) -> bool:
    import httpx
    from label_studio_sdk.core.api_error import ApiError

    if isinstance(exc, (httpx.TransportError, ConnectionError)):
        return True
    return isinstance(exc, ApiError) and (exc.status_code or 0) >= 500


def ls_call(fn: Callable, *args, delays: tuple[float, ...] = RETRY_DELAYS, report: Callable[[str], None] | None = None,
            what: str = "Label Studio call", **kwargs):
    """Call ``fn`` and retry with back-off while Label Studio is unreachable or answers 5xx."""
    from label_studio_sdk.core.api_error import ApiError

    attempts = len(delays) + 1
    for attempt in range(1, attempts + 1):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 — classified below
            if not _retryable(exc):
                if isinstance(exc, ApiError):
                    raise LabelStudioError(f"{what}: Label Studio answered {exc.status_code}: {str(exc.body)[:300]}") from exc
                raise
            if attempt == attempts:
                raise LabelStudioDown(f"{what}: Label Studio unreachable after {attempts} attempts ({exc}). "
                                      "Nothing was lost; run the sync again when it is back.") from exc
            delay = delays[attempt - 1]
            msg = f"{what}: Label Studio unreachable ({type(exc).__name__}); retry {attempt}/{attempts - 1} in {delay:g} s"
            log.warning(msg)
            if report:
                report(msg)
            time.sleep(delay)


class Sync:
    """One sync session: a client, the retry policy and a reporter (a job's ``ctx.log`` or print)."""

    def __init__(self, *, client=None, delays: tuple[float, ...] = RETRY_DELAYS,
                 report: Callable[[str], None] | None = None):
        self._client = client
        self.delays = delays
        self.report = report or (lambda msg: log.info(msg))
        self._ls_users: dict[int, str] | None = None
        self._users: dict[str, object] = {}

    @property
    def client(self):
        if self._client is None:
            self._client = get_client()
        return self._client

    def call(self, what: str, fn: Callable, *args, **kwargs):
        return ls_call(fn, *args, delays=self.delays, report=self.report, what=what, **kwargs)

    # ------------------------------------------------------------------------------- helpers
    def refinery_user(self, email: str):
        """Our user with this email (case-insensitive), cached for the session; None if none."""
        if not email:
            return None
        key = email.strip().lower()
        if key not in self._users:
            self._users[key] = services.users_by_email([key]).get(key)
        return self._users[key]

    def ls_user_email(self, ls_user_id: int | None) -> str:
        if ls_user_id is None:
            return ""
        if self._ls_users is None or ls_user_id not in self._ls_users:
            users = self.call("list users", self.client.users.list)
            self._ls_users = {u.id: (u.email or "") for u in users}
        return self._ls_users.get(ls_user_id, "")

    def existing_tasks(self, ls_project_id: int, *, retry: bool = True) -> dict[int, LSTask]:
        """item id → what Label Studio has for it (task id, data hash, overlap, annotation count)."""
        out: dict[int, LSTask] = {}
        tasks = ls_call(lambda: list(self.client.tasks.list(project=ls_project_id, page_size=500)),
                        delays=self.delays if retry else (), report=self.report, what="list tasks")
        for task in tasks:
            data = task.data or {}
            meta = task.meta or {}
            item_id = meta.get(ITEM_KEY) or data.get(ITEM_KEY)
            if item_id is not None:
                out[int(item_id)] = LSTask(int(task.id), _data_hash(data), int(getattr(task, "overlap", 0) or 0),
                                           int(getattr(task, "total_annotations", 0) or 0))
        return out


class LSTask(NamedTuple):
    id: int
    data_hash: str
    overlap: int
    n_annotations: int


def _data_hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def item_task_data(item: Item) -> dict:
    data = {"text": selectors.item_text(item), ITEM_KEY: item.pk}
    return data


def item_task_meta(item: Item) -> dict:
    return {ITEM_KEY: item.pk, "refinery_project": item.project_id, "sample_id": item.sample_id,
            "document_id": item.document_id}


# ----------------------------------------------------------------------------------- span offsets
# Python indexes text by code point; JavaScript strings by UTF-16 code unit, where every character
# outside the Basic Multilingual Plane (emoji, CJK Extension B such as 𠀀, …) takes two units. Which one
# a Label Studio span uses depends on who wrote it: the <Text> tag of current Label Studio stores code
# points (its editor converts the browser selection with ``fixCodePointsInRange`` and counts
# ``[...text]``; checked in headless Chromium: 1.23.2 stores start 12, not 14, for "Alice" in
# "Patient 😀 𠀀 Alice Smith"), while older versions and scripts that compute offsets in JavaScript
# give UTF-16 units (label-studio issues #1347, #1008). So on the way in each span is checked against the text
# Label Studio saved with it (``value.text``, on by default for <Text>): the reading that reproduces
# it wins, code points first. On the way out offsets are code points unless ``units="utf16"``.
OFFSET_UNITS = ("codepoints", "utf16")
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


class SpanOffsetError(ValueError):
    """A span's offsets do not fit the text (outside it, inside a character, or a different text)."""


def _utf16_cumulative(text: str):
    """Offsets in UTF-16 units of every code-point boundary (len(text) + 1 of them), or None when equal."""
    if not _ASTRAL.search(text):
        return None
    import numpy as np

    units = np.fromiter((1 + (ord(c) > 0xFFFF) for c in text), dtype=np.int64, count=len(text))
    return np.concatenate(([0], np.cumsum(units)))


def codepoints_to_utf16(text: str, offsets: list[int]) -> list[int]:
    """Code-point offsets into ``text`` → UTF-16 code-unit offsets (what JavaScript counts)."""
    if any(not 0 <= o <= len(text) for o in offsets):
        raise SpanOffsetError(f"offsets {offsets} are outside the text ({len(text)} characters)")
    cum = _utf16_cumulative(text)
    return list(offsets) if cum is None else [int(cum[o]) for o in offsets]


def utf16_to_codepoints(text: str, offsets: list[int]) -> list[int]:
    """UTF-16 code-unit offsets → code-point offsets; SpanOffsetError when one falls outside the text
    or between the two halves (surrogates) of a character."""
    cum = _utf16_cumulative(text)
    if cum is None:
        if any(not 0 <= o <= len(text) for o in offsets):
            raise SpanOffsetError(f"offsets {offsets} are outside the text ({len(text)} UTF-16 units)")
        return list(offsets)
    import numpy as np

    total = int(cum[-1])
    out = []
    for o in offsets:
        if not 0 <= o <= total:
            raise SpanOffsetError(f"offset {o} is outside the text ({total} UTF-16 units)")
        i = int(np.searchsorted(cum, o))
        if cum[i] != o:
            raise SpanOffsetError(f"UTF-16 offset {o} splits the character {text[i - 1]!r} at {i - 1}")
        out.append(i)
    return out


_WS = re.compile(r"\s+")


def _same_text(a: str, b: str) -> bool:
    # a browser selection may render a run of whitespace / line breaks differently (not drop it)
    return a == b or _WS.sub(" ", a) == _WS.sub(" ", b)


def span_from_labelstudio(text: str, start: int, end: int, ls_text: str | None) -> tuple[int, int, str]:
    """One Label Studio span → (start, end) in code points of ``text`` and the units it was given in."""
    as_cp = (start, end) if 0 <= start <= end <= len(text) else None
    if ls_text is None:  # nothing to check against: Label Studio's own unit
        if as_cp is None:
            raise SpanOffsetError(f"offsets {start}–{end} are outside the text ({len(text)} characters)")
        return start, end, "codepoints"
    if as_cp is not None and _same_text(text[start:end], ls_text):
        return start, end, "codepoints"
    try:
        s16, e16 = utf16_to_codepoints(text, [start, end])
    except SpanOffsetError as exc:
        as_utf16, why = None, str(exc)
    else:
        as_utf16, why = (s16, e16), ""
        if _same_text(text[s16:e16], ls_text):
            return s16, e16, "utf16"
    seen = [f"{text[as_cp[0]:as_cp[1]]!r} as code points" if as_cp else "outside the text as code points",
            f"{text[as_utf16[0]:as_utf16[1]]!r} as UTF-16 units" if as_utf16 else f"no text as UTF-16 units ({why})"]
    raise SpanOffsetError(f"Label Studio's text {ls_text!r} at {start}–{end} is not the item's text there "
                          f"({'; '.join(seen)}); the item may have changed since the push")


def label_from_labelstudio(scheme: Scheme, result: list[dict], text: str) -> dict:
    """A Label Studio ``result`` → our (unvalidated) label, span offsets in code points of ``text``.

    Raises LabelError naming the span when its offsets do not reproduce Label Studio's text."""
    label = scheme.from_labelstudio_result(result)
    errors: dict[str, str] = {}
    for f in scheme.span_fields:
        spans = label.get(f.name) or []
        for j, s in enumerate(spans):
            if not isinstance(s.get("start"), int) or not isinstance(s.get("end"), int):
                continue  # validation reports it
            try:
                s["start"], s["end"], _units = span_from_labelstudio(text, s["start"], s["end"], s.pop("text", None))
            except SpanOffsetError as exc:
                errors[f.name] = f"Span {j + 1} ({s.get('label')}): {exc}"
                break
    if errors:
        raise LabelError(errors)
    return label


def label_to_labelstudio(scheme: Scheme, label: dict, text: str, *, units: str = "codepoints") -> list[dict]:
    """Our label → a Label Studio ``result``; spans carry their text and offsets in ``units``."""
    if units not in OFFSET_UNITS:
        raise ValueError(f"units must be one of {', '.join(OFFSET_UNITS)}, got {units!r}")
    label = dict(label)
    for f in scheme.span_fields:
        spans = []
        for s in label.get(f.name) or []:
            start, end = int(s["start"]), int(s["end"])
            if text[start:end] != s.get("text", text[start:end]):
                raise SpanOffsetError(f"span {start}–{end} ({s['label']}): its text {s['text']!r} is not "
                                      f"the item's text there ({text[start:end]!r})")
            out = {**s, "text": text[start:end]}
            if units == "utf16":
                out["start"], out["end"] = codepoints_to_utf16(text, [start, end])
            spans.append(out)
        label[f.name] = spans
    return scheme.to_labelstudio_result(label)


# ----------------------------------------------------------------------------------------- push
def project_push(*, project: LabelingProject, sync: Sync | None = None, webhook_url: str = "",
                 progress: Callable[[int, int], None] | None = None) -> dict:
    sync = sync or Sync()
    c = sync.client
    scheme = project.parsed_scheme
    xml = scheme.to_labelstudio_xml()
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    if project.ls_project_id:
        try:
            ls_project = sync.call("get project", c.projects.get, id=project.ls_project_id)
        except LabelStudioError as exc:
            if isinstance(exc, LabelStudioDown) or getattr(exc.__cause__, "status_code", None) != 404:
                raise
            # deleted in Label Studio: forget the link and push everything into a new project
            sync.report(f"Label Studio project {project.ls_project_id} is gone; creating a new one.")
            with transaction.atomic():
                LabelingProject.objects.filter(pk=project.pk).update(ls_project_id=None, ls_webhook_id=None)
                Item.objects.filter(project=project).update(ls_task_id=None, ls_data_hash="")
                # keep the annotations pulled from the old project: unlinked, a later pull won't delete them
                Annotation.objects.filter(item__project=project).update(ls_annotation_id=None)
            project.ls_project_id = project.ls_webhook_id = None
            return project_push(project=project, sync=sync, webhook_url=webhook_url, progress=progress)
        if (ls_project.label_config or "").strip() != xml.strip():
            sync.call("update config", c.projects.update, id=project.ls_project_id, label_config=xml)
        if getattr(ls_project, "maximum_annotations", project.overlap) != project.overlap:
            # Label Studio then resets every task with overlap > 1; the gold tasks are fixed below
            sync.call("update overlap", c.projects.update, id=project.ls_project_id,
                      maximum_annotations=project.overlap)
    else:
        ls_project = sync.call("create project", c.projects.create, title=f"{project.name} (refinery #{project.pk})"[:50],
                               description=project.instructions or "", label_config=xml,
                               maximum_annotations=project.overlap)
        LabelingProject.objects.filter(pk=project.pk).update(ls_project_id=ls_project.id)
        project.ls_project_id = ls_project.id
        sync.report(f"Created Label Studio project {ls_project.id}")
    if project.ls_webhook_id:
        _refresh_webhook_secret(sync, project)
    if webhook_url and not project.ls_webhook_id:
        try:
            hook = sync.call("create webhook", c.webhooks.create, url=webhook_url, project=project.ls_project_id,
                             send_payload=True, send_for_all_actions=False, actions=list(WEBHOOK_ACTIONS),
                             headers={SECRET_HEADER: settings.LABEL_STUDIO_WEBHOOK_SECRET})
        except LabelStudioDown:
            raise
        except LabelStudioError as exc:
            # the tasks still go out; annotations then arrive through pulls / the reconcile job
            sync.report(f"Webhook not registered ({exc}); rely on `labelstudio pull` / reconcile.")
        else:
            LabelingProject.objects.filter(pk=project.pk).update(ls_webhook_id=hook.id)
            project.ls_webhook_id = hook.id

    existing = sync.existing_tasks(project.ls_project_id)
    items = list(project.items.select_related("sample", "document").order_by("position", "id"))
    n_gold = task_overlap(project, gold=True)
    to_import: list[Item] = []
    for i, item in enumerate(items):
        data = item_task_data(item)
        h = _data_hash(data)
        if item.pk in existing:
            task = existing[item.pk]
            if task.data_hash != h:
                sync.call("update task", c.tasks.update, id=str(task.id), data=data, meta=item_task_meta(item))
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
            if item.ls_task_id != task.id or item.ls_data_hash != h:
                Item.objects.filter(pk=item.pk).update(ls_task_id=task.id, ls_data_hash=h)
        else:
            to_import.append(item)
        if progress:
            progress(i + 1, len(items))
    for start in range(0, len(to_import), IMPORT_BATCH):
        batch = to_import[start:start + IMPORT_BATCH]
        _import_batch(sync, project, batch)
        counts["created"] += len(batch)
        sync.report(f"Imported {counts['created']}/{len(to_import)} new tasks")
    counts["overlap_set"] = _set_task_overlaps(sync, project, items, existing if not to_import else None)
    if counts["overlap_set"]:
        sync.report(f"Task overlap set on {counts['overlap_set']} tasks (gold tasks go to all {n_gold} annotators)")
    return {"ls_project_id": project.ls_project_id, **counts}


def _refresh_webhook_secret(sync: Sync, project: LabelingProject) -> None:
    """Make the registered webhook carry the current secret (it changes with SECRET_KEY or the setting);
    a webhook deleted in Label Studio is forgotten, so the push registers a new one."""
    c = sync.client
    try:
        hook = sync.call("get webhook", c.webhooks.get, id=project.ls_webhook_id)
    except LabelStudioDown:
        raise
    except LabelStudioError as exc:
        if getattr(exc.__cause__, "status_code", None) != 404:
            raise
        LabelingProject.objects.filter(pk=project.pk).update(ls_webhook_id=None)
        project.ls_webhook_id = None
        sync.report("The webhook was deleted in Label Studio; it is registered again when a webhook URL is given.")
        return
    secret = settings.LABEL_STUDIO_WEBHOOK_SECRET
    headers = dict(getattr(hook, "headers", None) or {})
    if headers.get(SECRET_HEADER) != secret:
        sync.call("update webhook secret", c.webhooks.update, id=project.ls_webhook_id,
                  headers={**headers, SECRET_HEADER: secret})
        sync.report("Webhook secret updated in Label Studio")


def task_overlap(project: LabelingProject, *, gold: bool) -> int:
    """How many annotators Label Studio should give a task: the overlap; every annotator for gold."""
    if not gold:
        return project.overlap
    return max(project.overlap, project.annotators.count())


def _set_task_overlaps(sync: Sync, project: LabelingProject, items: list[Item],
                       known: dict[int, LSTask] | None) -> int:
    """Give every task the overlap it needs (gold: all annotators) where Label Studio has another.

    Label Studio sets a task's overlap from ``maximum_annotations`` on import and resets it when that
    changes, so this runs on every push; ``is_labeled`` is set with it (Label Studio only recomputes
    it when an annotation changes), so a task that now needs more annotators is served again.
    """
    if known is None:  # tasks were imported: read what Label Studio gave them
        known = sync.existing_tasks(project.ls_project_id)
    c = sync.client
    n = 0
    for item in items:
        task = known.get(item.pk)
        want = task_overlap(project, gold=item.is_gold)
        if task is None or task.overlap == want:
            continue
        sync.call("set task overlap", c.tasks.update, id=str(task.id), overlap=want,
                  is_labeled=task.n_annotations >= want)
        n += 1
    return n


def _save_task_ids(items: list[Item], task_ids: list[int]) -> None:
    with transaction.atomic():
        for it, tid in zip(items, task_ids):
            Item.objects.filter(pk=it.pk).update(ls_task_id=tid, ls_data_hash=_data_hash(item_task_data(it)))


def _import_batch(sync: Sync, project: LabelingProject, batch: list[Item]) -> None:
    """Import one batch of new tasks, retrying with back-off — and without duplicates.

    If the connection dies after Label Studio stored the tasks but before we got the answer, a
    blind retry would import them twice; so every retry first re-reads which of the batch's
    items Label Studio already has (by our item id in ``meta``) and imports only the rest.
    """
    remaining = list(batch)
    for attempt, delay in enumerate((0.0, *sync.delays)):
        if delay:
            sync.report(f"import tasks: Label Studio unreachable; retry {attempt}/{len(sync.delays)} in {delay:g} s")
            time.sleep(delay)
        try:
            if attempt:
                known = sync.existing_tasks(project.ls_project_id, retry=False)
                have = [it for it in remaining if it.pk in known]
                _save_task_ids(have, [known[it.pk].id for it in have])
                remaining = [it for it in remaining if it.pk not in known]
                if not remaining:
                    return
            payload = [{"data": item_task_data(it), "meta": item_task_meta(it)} for it in remaining]
            resp = ls_call(sync.client.projects.import_tasks, id=project.ls_project_id, request=payload,
                           return_task_ids=True, delays=(), what="import tasks")
        except LabelStudioDown:
            continue
        task_ids = list(resp.task_ids or [])
        if len(task_ids) != len(remaining):
            known = sync.existing_tasks(project.ls_project_id)
            task_ids = [known[it.pk].id for it in remaining]
        _save_task_ids(remaining, task_ids)
        return
    raise LabelStudioDown(f"import tasks: Label Studio unreachable after {len(sync.delays) + 1} attempts. "
                          "Nothing was lost; run the push again when it is back.")


# ----------------------------------------------------------------------------------------- pull
def _keep_as_stale(ls_id: Any, reason: str, counts: dict) -> None:
    """The Label Studio annotation ``ls_id`` can't be taken over now: keep ours (if any) and say why."""
    try:
        ls_id = int(ls_id)
    except (TypeError, ValueError):
        return
    ours = Annotation.objects.filter(ls_annotation_id=ls_id).first()
    if ours is not None:
        services.annotation_mark_stale(annotation=ours, reason=reason)
        counts["stale"] = counts.get("stale", 0) + 1


def _store_ls_annotation(*, project: LabelingProject, item: Item, ann: dict, sync: Sync, counts: dict,
                         errors: list[str]) -> int | None:
    """Store one Label Studio annotation dict; returns its id when stored.

    When it cannot be stored (cancelled, no matching user, invalid label) an annotation pulled from it
    earlier is kept, marked stale with the reason — never deleted here.
    """
    if ann.get("was_cancelled"):
        counts["cancelled"] += 1
        _keep_as_stale(ann.get("id"), "cancelled (skipped) in Label Studio", counts)
        return None
    completed_by = ann.get("completed_by")
    if isinstance(completed_by, dict):
        email = completed_by.get("email", "")
    else:
        # webhook payloads carry "<name> <email>, <id>"; otherwise ask Label Studio for the user's email
        m = CREATED_USERNAME_RE.search(ann.get("created_username") or "")
        email = m.group(1) if m and int(m.group(2)) == completed_by else sync.ls_user_email(completed_by)
    user = sync.refinery_user(email)
    if user is None:
        counts["unmatched"] += 1
        who = email or f"Label Studio user {completed_by!r}"
        errors.append(f"task {item.ls_task_id}: annotation {ann.get('id')} by {who} "
                      "matches no Refinery user (same email needed); kept in Label Studio")
        _keep_as_stale(ann.get("id"), f"{who} matches no Refinery user any more (same email needed)", counts)
        return None
    scheme = project.parsed_scheme
    try:
        # span offsets refer to the text Label Studio showed: ours, unless the item changed since
        text = selectors.item_text(item) if scheme.span_fields else ""
        label = label_from_labelstudio(scheme, ann.get("result") or [], text)
        services.annotation_submit(item=item, annotator=user, label=label, source=Annotation.Source.LABELSTUDIO,
                                   lead_time=ann.get("lead_time"), ls_annotation_id=int(ann["id"]),
                                   require_assignment=False)
    except LabelError as exc:
        counts["invalid"] += 1
        errors.append(f"task {item.ls_task_id}: annotation {ann.get('id')} by {email}: {exc}")
        _keep_as_stale(ann.get("id"), f"Label Studio's current version is invalid: {exc}", counts)
        return None
    counts["stored"] += 1
    return int(ann["id"])


def project_pull(*, project: LabelingProject, sync: Sync | None = None) -> dict:
    if not project.ls_project_id:
        raise LabelStudioError(f"Project {project.pk} was never pushed to Label Studio.")
    sync = sync or Sync()
    chunks = sync.call("export annotations", lambda: b"".join(sync.client.projects.exports.download_sync(
        id=project.ls_project_id, export_type="JSON", download_all_tasks=True)))
    tasks = json.loads(chunks or b"[]")
    items_by_task = {it.ls_task_id: it for it in project.items.exclude(ls_task_id=None).select_related(
        "project", "sample", "document")}
    items_by_id = {it.pk: it for it in items_by_task.values()}
    counts = {"tasks": len(tasks), "stored": 0, "deleted": 0, "stale": 0, "unmatched": 0, "invalid": 0,
              "cancelled": 0}
    errors: list[str] = []
    in_ls: set[int] = set()  # every annotation Label Studio still has, stored by us or not
    for task in tasks:
        in_ls.update(int(a["id"]) for a in task.get("annotations") or [] if a.get("id") is not None)
        meta = task.get("meta") or {}
        data = task.get("data") or {}
        item = items_by_task.get(task.get("id")) or items_by_id.get(meta.get(ITEM_KEY) or data.get(ITEM_KEY))
        if item is None:
            continue
        for ann in task.get("annotations") or []:
            _store_ls_annotation(project=project, item=item, ann=ann, sync=sync, counts=counts, errors=errors)
    # only annotations Label Studio no longer has (a missed ANNOTATIONS_DELETED webhook) are deleted here
    linked = (Annotation.objects.filter(item__project=project, source=Annotation.Source.LABELSTUDIO)
              .exclude(ls_annotation_id=None).values_list("ls_annotation_id", "pk"))
    gone = [pk for ls_id, pk in linked if ls_id not in in_ls]
    for start in range(0, len(gone), 500):
        for ann in Annotation.objects.filter(pk__in=gone[start:start + 500]):
            services.annotation_delete(annotation=ann)
            counts["deleted"] += 1
    LabelingProject.objects.filter(pk=project.pk).update(ls_last_pull_at=timezone.now())
    for e in errors[:50]:
        sync.report(e)
    return {**counts, "errors": errors[:50]}


# -------------------------------------------------------------------------------------- webhook
def _as_list(x) -> list:
    if not x:
        return []
    return x if isinstance(x, list) else [x]


def webhook_record(*, payload: dict) -> WebhookEvent:
    return WebhookEvent.objects.create(action=str(payload.get("action", ""))[:64], payload=payload)


def webhook_handle(*, event: WebhookEvent, sync: Sync | None = None) -> dict:
    """Apply one received webhook. Unknown projects/tasks are ignored (the reconcile pull covers gaps)."""
    payload = event.payload
    action = event.action
    result: dict[str, Any] = {"action": action}
    ls_project_id = (payload.get("project") or {}).get("id")
    project = LabelingProject.objects.filter(ls_project_id=ls_project_id).first() if ls_project_id else None
    if action == "ANNOTATIONS_DELETED":
        ids = [a.get("id") for a in payload.get("annotations") or [] if a.get("id") is not None]
        qs = Annotation.objects.filter(ls_annotation_id__in=ids)
        if project is not None:
            qs = qs.filter(item__project=project)
        n = 0
        for ann in qs:
            services.annotation_delete(annotation=ann)
            n += 1
        result["deleted"] = n
    elif action in ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED"):
        if project is None:
            result["ignored"] = "unknown project"
        else:
            anns = _as_list(payload.get("annotation")) or _as_list(payload.get("annotations"))
            tasks = _as_list(payload.get("task")) or _as_list(payload.get("tasks"))
            task_by_id = {t.get("id"): t for t in tasks}
            counts = {"stored": 0, "stale": 0, "unmatched": 0, "invalid": 0, "cancelled": 0}
            errors: list[str] = []
            sync = sync or Sync()
            for ann in anns:
                task_id = ann.get("task") if not isinstance(ann.get("task"), dict) else ann["task"].get("id")
                task = task_by_id.get(task_id) or (tasks[0] if len(tasks) == 1 else {})
                meta = task.get("meta") or {}
                item = (Item.objects.filter(project=project, ls_task_id=task_id or task.get("id")).first()
                        or Item.objects.filter(project=project, pk=meta.get(ITEM_KEY) or -1).first())
                if item is None:
                    counts["unmatched"] += 1
                    continue
                _store_ls_annotation(project=project, item=item, ann=ann, sync=sync, counts=counts, errors=errors)
            result.update(counts)
            result["errors"] = errors
    else:
        result["ignored"] = "action not handled"
    WebhookEvent.objects.filter(pk=event.pk).update(processed=True, error="; ".join(result.get("errors", []))[:2000])
    return result
