"""Ingest services: files/folders/zips/uploads → SourceFile + Documents + Samples, one transaction per file.

``ingest_paths`` is what the CLI, the job handler and the demo loader call; ``ingest_upload_start``
stages browser/API uploads on disk and starts the ``curation.ingest`` job. Raw files are kept under
UPLOADS_DIR by sha256 (written to a temp name, then renamed). A file whose sha256 is already in the
collection is reported "already present" and nothing is written.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import shutil
import uuid
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import IntegrityError, transaction

from refinery.audit import acting_as, current_user
from refinery.jobs import JobContext, job_start
from refinery.models import Job, audit_log

from ..hashing import messages_hash, text_hash
from ..models import Collection, Document, Sample, SourceFile
from .errors import IngestError
from .language import detect_language
from .readers import format_for, read_file
from .sources import SourceItem, expand_paths

INGESTED = "ingested"
PARTIAL = "partial"
PRESENT = "already present"
ERROR = "error"
JOB_KIND = "curation.ingest"
MAX_LINE_ERRORS_KEPT = 200
log = logging.getLogger("curation.ingest")


@dataclasses.dataclass
class FileReport:
    name: str
    status: str                     # ingested / partial / already present / error
    message: str = ""
    documents: int = 0
    samples: int = 0
    line_errors: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    source_file_id: int | None = None
    format: str = ""
    encoding: str = ""

    def as_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["line_errors"] = [list(e) for e in self.line_errors[:MAX_LINE_ERRORS_KEPT]]
        return d

    @property
    def summary(self) -> str:
        if self.status in (INGESTED, PARTIAL):
            parts = [f"{self.documents} documents"] + ([f"{self.samples} samples"] if self.samples else [])
            text = f"{self.status}: {', '.join(parts)}"
            if self.line_errors:
                shown = "; ".join(f"line {n}: {r}" for n, r in self.line_errors[:5])
                more = f" (+{len(self.line_errors) - 5} more)" if len(self.line_errors) > 5 else ""
                text += f"; {len(self.line_errors)} bad lines — {shown}{more}"
            if self.message:  # a note, e.g. NUL characters removed
                text += f"; {self.message}"
            return text
        return f"{self.status}: {self.message}" if self.message else self.status


@dataclasses.dataclass
class IngestReport:
    files: list[FileReport] = dataclasses.field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def documents(self) -> int:
        return sum(f.documents for f in self.files)

    @property
    def samples(self) -> int:
        return sum(f.samples for f in self.files)

    @property
    def all_failed(self) -> bool:
        return bool(self.files) and all(f.status == ERROR for f in self.files)

    def as_dict(self) -> dict:
        return {
            "files": [f.as_dict() for f in self.files],
            "ingested": self.count(INGESTED), "partial": self.count(PARTIAL),
            "already_present": self.count(PRESENT), "errors": self.count(ERROR),
            "documents": self.documents, "samples": self.samples,
        }


# ------------------------------------------------------------------------------------ collections
def collection_create(*, name: str, title: str = "", description: str = "", domain: str = "", user=None) -> Collection:
    with acting_as(user) if user is not None else contextlib.nullcontext():
        collection = Collection(name=name, title=title, description=description, domain=domain)
        collection.full_clean()
        collection.save()
    return collection


def collection_update(*, collection: Collection, user=None, **fields) -> Collection:
    allowed = {"title", "description", "domain", "settings"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
    with acting_as(user) if user is not None else contextlib.nullcontext():
        for key, value in fields.items():
            setattr(collection, key, value)
        collection.full_clean()
        collection.save()
    return collection


def document_set_status(*, document: Document, status: str, user=None) -> Document:
    """Mark a document active or excluded (the text itself is never changed)."""
    if status not in Document.Status.values:
        raise ValueError(f"Unknown document status {status!r}; use one of: {', '.join(Document.Status.values)}")
    with acting_as(user) if user is not None else contextlib.nullcontext():
        document.status = status
        document.save(update_fields=["status"])
    return document


# ------------------------------------------------------------------------------------ raw files
def _store_raw(data: bytes, sha: str, name: str) -> str:
    """Keep the raw bytes at UPLOADS_DIR/<sha[:2]>/<sha><ext> (temp name + rename); return the path
    relative to DATA_DIR."""
    suffix = PurePosixPath(name).suffix.lower()[:10]
    target = Path(settings.UPLOADS_DIR) / sha[:2] / f"{sha}{suffix}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    try:
        return target.relative_to(Path(settings.DATA_DIR)).as_posix()
    except ValueError:
        return str(target)


def source_file_path(source_file: SourceFile) -> Path:
    path = Path(source_file.stored_path)
    return path if path.is_absolute() else Path(settings.DATA_DIR) / path


# ------------------------------------------------------------------------------------ one file
def _nul_note(n: int) -> str:
    return f"removed {n} NUL character{'s' if n != 1 else ''} (U+0000, which the database cannot store)"


def _integrity_error_report(report: FileReport, collection: Collection, sha: str, exc: IntegrityError) -> FileReport:
    """After the file's transaction was rolled back by an IntegrityError: "already present" only when
    another job really did store the same file meanwhile; anything else is an error for this file."""
    other = (SourceFile.objects.filter(collection=collection, sha256=sha)
             .exclude(status=SourceFile.Status.ERROR).first())
    if other is not None:
        report.status, report.source_file_id = PRESENT, other.pk
        report.message = f"ingested at the same time by another job (as {other.name!r})"
    else:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        report.status, report.source_file_id = ERROR, None
        report.message = f"the database refused this file's records, nothing was written: {first_line}"
        log.error("ingest of %s into %s: IntegrityError %s", report.name, collection.name, exc)
    report.documents = report.samples = 0
    report.line_errors = []
    return report


def _ingest_item(collection: Collection, item: SourceItem) -> FileReport:
    report = FileReport(name=item.name, status=ERROR)
    if item.error:
        report.message = item.error
        return report
    try:
        report.format = format_for(item.name)
        data = item.load()
    except IngestError as exc:
        report.message = str(exc)
        return report
    if len(data) > settings.MAX_FILE_BYTES:
        report.message = f"file is too large ({len(data)} bytes; limit {settings.MAX_FILE_BYTES})"
        return report
    sha = hashlib.sha256(data).hexdigest()
    existing = SourceFile.objects.filter(collection=collection, sha256=sha).first()
    if existing is not None and existing.status != SourceFile.Status.ERROR:
        report.status, report.source_file_id = PRESENT, existing.pk
        report.message = f"same content as {existing.name!r}, ingested {existing.created_at:%Y-%m-%d %H:%M}"
        return report
    try:
        parsed = read_file(data, item.name)
        error = ""
        if not parsed.documents and not parsed.samples:
            if parsed.line_errors:
                first = "; ".join(f"line {n}: {r}" for n, r in parsed.line_errors[:3])
                error = f"no valid records ({len(parsed.line_errors)} bad lines — {first})"
            else:
                error = "the file has no records"
    except IngestError as exc:
        parsed, error = None, str(exc)
    stored = _store_raw(data, sha, item.name)
    report.encoding = parsed.encoding if parsed else ""
    try:
        with transaction.atomic():
            if existing is not None:  # a previous attempt failed: replace its error row
                existing.delete()
            source = SourceFile(collection=collection, name=item.name[:500], sha256=sha, size=len(data),
                                format=report.format, encoding=report.encoding[:32], stored_path=stored)
            if error:
                source.status, source.error = SourceFile.Status.ERROR, error
                source.report = {"line_errors": [list(e) for e in parsed.line_errors[:MAX_LINE_ERRORS_KEPT]]} if parsed else {}
                source.save()
                report.message, report.source_file_id = error, source.pk
                report.line_errors = list(parsed.line_errors) if parsed else []
                return report
            source.status = SourceFile.Status.PARTIAL if parsed.line_errors else SourceFile.Status.INGESTED
            source.n_documents, source.n_samples = len(parsed.documents), len(parsed.samples)
            source.report = {
                "documents": len(parsed.documents), "samples": len(parsed.samples),
                "line_errors": [list(e) for e in parsed.line_errors[:MAX_LINE_ERRORS_KEPT]],
                "bad_lines": len(parsed.line_errors),
            }
            if parsed.nul_removed:
                source.report["nul_removed"] = parsed.nul_removed
            if parsed.line_errors:
                source.error = f"{len(parsed.line_errors)} bad lines"
            source.save()
            _create_records(collection, source, parsed)
            # Documents/samples are bulk-created (no per-row events): one summary event for the file.
            audit_log(obj=source, action="ingest", summary=f"{source.name}: {source.n_documents} documents, "
                      f"{source.n_samples} samples", details={"collection": collection.name, **source.report})
    except IntegrityError as exc:
        return _integrity_error_report(report, collection, sha, exc)
    report.status = PARTIAL if parsed.line_errors else INGESTED
    if parsed.nul_removed:
        report.message = _nul_note(parsed.nul_removed)
    report.documents, report.samples = len(parsed.documents), len(parsed.samples)
    report.line_errors, report.source_file_id = list(parsed.line_errors), source.pk
    return report


def _create_records(collection: Collection, source: SourceFile, parsed) -> None:
    user = current_user()
    docs = []
    for d in parsed.documents:
        meta = dict(d.meta)
        if getattr(d, "domain", ""):
            meta.setdefault("domain", d.domain)
        docs.append(Document(
            collection=collection, source_file=source, record_index=d.record_index, external_id=d.external_id,
            title=d.title, text=d.text, content_hash=text_hash(d.text),
            language=d.language or detect_language(d.text), char_count=len(d.text), meta=meta,
            created_by=user, updated_by=user,
        ))
    Document.objects.bulk_create(docs, batch_size=500)
    samples = []
    for s in parsed.samples:
        joined = "\n".join(m["content"] for m in s.messages)
        samples.append(Sample(
            collection=collection, source_file=source, messages=s.messages, origin=Sample.Origin.INGESTED,
            method="import", record_index=s.record_index, external_id=s.external_id, intent=s.intent,
            entities=s.entities, domain=s.domain or collection.domain, language=s.language or detect_language(joined),
            content_hash=messages_hash(s.messages), meta=s.meta, created_by=user, updated_by=user,
        ))
    Sample.objects.bulk_create(samples, batch_size=500)


# ------------------------------------------------------------------------------------ many files
def ingest_paths(*, collection: Collection, paths: list[str | os.PathLike], user=None, ctx: JobContext | None = None,
                 names: dict[str, str] | None = None) -> IngestReport:
    """Ingest files, folders (recursively) and zip archives into ``collection``; one transaction per file.

    ``names`` maps a given path to the name to record (uploads keep their original file name).
    With ``ctx`` (a job), progress is reported per file and a cancel stops between files.
    """
    report = IngestReport()
    with acting_as(user) if user is not None else contextlib.nullcontext():
        items = list(expand_paths(paths, names=names))
        iterator = ctx.track(items, stage="Ingesting files") if ctx is not None else items
        for item in iterator:
            try:
                file_report = _ingest_item(collection, item)
            except Exception as exc:  # noqa: BLE001 — one bad file never stops the others
                # Its database writes were in one transaction, rolled back by the exception.
                log.exception("ingest of %s into %s failed", item.name, collection.name)
                file_report = FileReport(name=item.name, status=ERROR, message=(
                    f"unexpected error, nothing was written for this file: {type(exc).__name__}: "
                    f"{str(exc).strip()[:300]}"))
            report.files.append(file_report)
            if ctx is not None:
                ctx.log(f"{file_report.name}: {file_report.summary}",
                        level="error" if file_report.status == ERROR else
                        ("warning" if file_report.status == PARTIAL else "info"))
    return report


def ingest_upload_start(*, collection: Collection, files, user) -> Job:
    """Stage uploaded files (Django ``UploadedFile``s) on disk and start the ingest job for them."""
    files = list(files)
    if not files:
        raise IngestError("no files were uploaded")
    total = sum(f.size for f in files)
    if total > settings.MAX_UPLOAD_BYTES:
        raise IngestError(f"the upload is too large: {total / 1048576:.1f} MiB, the limit is "
                          f"{settings.MAX_UPLOAD_BYTES / 1048576:.0f} MiB (setting REFINERY_MAX_UPLOAD_MB)")
    staging = Path(settings.DATA_DIR) / "incoming" / uuid.uuid4().hex
    paths, names = [], {}
    try:
        for i, upload in enumerate(files):
            original = PurePosixPath((upload.name or f"file{i}").replace("\\", "/")).name or f"file{i}"
            target = staging / str(i) / original
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as fh:
                for chunk in upload.chunks():
                    fh.write(chunk)
            paths.append(str(target))
            names[str(target)] = original
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise IngestError(f"could not store the upload: {exc}") from None
    label = names[paths[0]] if len(paths) == 1 else f"{len(paths)} files"
    return job_start(kind=JOB_KIND, title=f"Ingest {label} into {collection.name}",
                     params={"collection_id": collection.pk, "paths": paths, "names": names,
                             "cleanup_dir": str(staging)},
                     user=user, target=collection)
