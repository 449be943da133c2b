"""Instruction building: templates over structured records, document → QA, (CoT through templates).

Built samples have ``origin=built``, ``method`` = ``template:<name>`` or ``qa:<generator key>``, and link
to their source (``source_file`` + ``record_index`` for records, ``source_document`` for QA). Records read
from a path (``build --input``) are kept as a source file of the collection first (raw bytes by content
hash, as ingest keeps them; the same content already there is reused), so those samples link back too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction

from curation.hashing import messages_hash
from curation.models import Collection, Document, InstructionTemplate, Sample, SourceFile
from refinery.jobs import JobContext, JobError, job_start
from refinery.models import audit_log

from .cot import CotError
from .records import RecordsError, iter_records, read_records_file
from .templates import TemplateError, TemplateSpec, build_from_record

TEMPLATE_JOB_KIND = "curation.build_template"
QA_JOB_KIND = "curation.build_qa"
PREVIEW_RECORDS = 3
RECORD_FORMATS = ("jsonl", "csv")


def template_save(*, collection: Collection, name: str, instruction: str, response: str = "", system: str = "",
                  intent_field: str = "", cot: dict | None = None, user=None) -> InstructionTemplate:
    spec = TemplateSpec(instruction, response, system, intent_field, {k: v for k, v in (cot or {}).items() if v})
    spec.validate()
    obj = InstructionTemplate.objects.filter(collection=collection, name=name).first() or InstructionTemplate(
        collection=collection, name=name, created_by=user)
    obj.instruction, obj.response, obj.system = spec.instruction, spec.response, spec.system
    obj.intent_field, obj.cot, obj.updated_by = spec.intent_field, spec.cot, user
    obj.full_clean()
    obj.save()
    return obj


def record_source_files(*, collection: Collection):
    return SourceFile.objects.filter(collection=collection, format__in=RECORD_FORMATS).order_by("-created_at")


def source_file_records(source_file: SourceFile, *, limit: int | None = None) -> list[tuple[int, dict]]:
    from curation.ingest.services import source_file_path

    path = source_file_path(source_file)
    if not path.is_file():
        raise RecordsError(f"the stored file of {source_file.name} is missing ({path})")
    out = []
    for item in iter_records(path.read_bytes(), source_file.format):
        out.append(item)
        if limit is not None and len(out) >= limit:
            break
    return out


def template_preview(*, spec: TemplateSpec, records: list[tuple[int, dict]]) -> list[dict[str, Any]]:
    """[{line, record, messages | error}] for the live preview; errors name the line and the field."""
    try:
        spec.validate()
    except TemplateError as exc:
        return [{"line": None, "record": None, "error": str(exc)}]
    out = []
    for line, record in records:
        try:
            built = build_from_record(spec, record)
            out.append({"line": line, "record": record, "messages": built.messages, "cot": built.meta.get("cot")})
        except (TemplateError, CotError) as exc:
            out.append({"line": line, "record": record, "error": f"line {line}: {exc}"})
    return out


def samples_build_from_template(*, collection: Collection, template: InstructionTemplate,
                                source_file: SourceFile | None = None, path: str | Path | None = None,
                                user=None, ctx: JobContext | None = None) -> dict[str, Any]:
    """Build one sample per record; any bad record aborts with its line (nothing written)."""
    if (source_file is None) == (path is None):
        raise ValueError("give a source file or a path")
    records = source_file_records(source_file) if source_file is not None else read_records_file(path)
    from_path = source_file is None
    spec = TemplateSpec.from_model(template)
    method = f"template:{template.name}"
    known = set(Sample.objects.filter(collection=collection).values_list("content_hash", flat=True))
    new: list[Sample] = []
    duplicates = 0
    items = ctx.track(records, stage=f"Building with {template.name}") if ctx else records
    for line, record in items:
        try:
            built = build_from_record(spec, record)
        except (TemplateError, CotError) as exc:
            raise TemplateError(f"line {line}: {exc}") from None
        h = messages_hash(built.messages)
        if h in known:
            duplicates += 1
            continue
        known.add(h)
        new.append(Sample(collection=collection, messages=built.messages, origin=Sample.Origin.BUILT, method=method,
                          source_file=source_file, record_index=line, intent=built.intent, domain=collection.domain,
                          language="zh" if any("\u4e00" <= c <= "\u9fff" for c in built.messages[-2]["content"]) else "en",
                          content_hash=h, meta={**built.meta, "template": template.name},
                          created_by=user, updated_by=user))
    with transaction.atomic():
        if from_path:
            source_file = _records_source_file(collection=collection, path=Path(path), template=template,
                                               n_samples=len(new), user=user)
            for sample in new:
                sample.source_file = source_file
        Sample.objects.bulk_create(new, batch_size=500)
        audit_log(obj=template, action="build", user=user,
                  summary=f"Built {len(new)} samples with template {template.name}",
                  details={"records": len(records), "duplicates": duplicates})
    return {"records": len(records), "samples": len(new), "duplicates": duplicates, "method": method}


def _records_source_file(*, collection: Collection, path: Path, template: InstructionTemplate, n_samples: int,
                         user=None) -> SourceFile:
    """The collection's source file for a records file read from disk (created, or the same content reused)."""
    import hashlib

    from curation.ingest.services import _store_raw

    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    existing = (SourceFile.objects.filter(collection=collection, sha256=sha)
                .exclude(status=SourceFile.Status.ERROR).first())
    if existing is not None:
        return existing
    SourceFile.objects.filter(collection=collection, sha256=sha).delete()  # an earlier failed ingest of it
    return SourceFile.objects.create(
        collection=collection, name=path.name[:500], sha256=sha, size=len(data),
        format=path.suffix.lower().lstrip("."), stored_path=_store_raw(data, sha, path.name),
        n_samples=n_samples, report={"built_with_template": template.name}, created_by=user, updated_by=user)


def samples_build_qa(*, collection: Collection, generator_spec: str = "", max_pairs: int = 2,
                     document_ids: list[int] | None = None, limit: int | None = None, user=None,
                     ctx: JobContext | None = None) -> dict[str, Any]:
    """Question/answer samples from active documents (optionally the given ids, at most ``limit``)."""
    from curation.generation import get_generator

    from .qa import document_qa_pairs

    docs = Document.objects.filter(collection=collection, status=Document.Status.ACTIVE).order_by("id")
    if document_ids:
        docs = docs.filter(pk__in=document_ids)
    docs = list(docs[:limit] if limit else docs)
    key = get_generator(generator_spec or None).key
    known = set(Sample.objects.filter(collection=collection).values_list("content_hash", flat=True))
    new: list[Sample] = []
    for doc in (ctx.track(docs, stage="Generating QA pairs") if ctx else docs):
        lang = doc.language or ("zh" if any("\u4e00" <= c <= "\u9fff" for c in doc.text[:200]) else "en")
        for pair in document_qa_pairs(doc.text, language=lang, generator_spec=generator_spec, max_pairs=max_pairs):
            messages = [{"role": "user", "content": pair.question}, {"role": "assistant", "content": pair.answer}]
            h = messages_hash(messages)
            if h in known:
                continue
            known.add(h)
            new.append(Sample(collection=collection, messages=messages, origin=Sample.Origin.BUILT,
                              method=f"qa:{key}"[:64], source_document=doc, source_file_id=doc.source_file_id,
                              domain=collection.domain, language=lang[:16], content_hash=h,
                              meta={"qa": {"passage": pair.passage, "generator": key}},
                              created_by=user, updated_by=user))
    with transaction.atomic():
        Sample.objects.bulk_create(new, batch_size=500)
        audit_log(obj=collection, action="build_qa", user=user,
                  summary=f"Generated {len(new)} QA samples from {len(docs)} documents", details={"generator": key})
    return {"documents": len(docs), "samples": len(new), "generator": key}


# ------------------------------------------------------------------------------------ jobs
def template_build_start(*, template: InstructionTemplate, source_file: SourceFile, user=None):
    return job_start(kind=TEMPLATE_JOB_KIND, title=f"Build samples: {template.name} × {source_file.name}",
                     params={"template_id": template.pk, "source_file_id": source_file.pk}, user=user,
                     target=template.collection)


def qa_build_start(*, collection: Collection, generator_spec: str, max_pairs: int, limit: int | None, user=None):
    from curation.generation import parse_spec

    parse_spec(generator_spec)  # a bad spec fails here, on the form, not in the worker
    return job_start(kind=QA_JOB_KIND, title=f"QA pairs from {collection.name} documents",
                     params={"collection_id": collection.pk, "generator_spec": generator_spec,
                             "max_pairs": max_pairs, "limit": limit}, user=user, target=collection)


def template_build_job(ctx: JobContext, *, template_id: int, source_file_id: int) -> dict:
    template = InstructionTemplate.objects.filter(pk=template_id).select_related("collection").first()
    source = SourceFile.objects.filter(pk=source_file_id).first()
    if template is None or source is None:
        raise JobError("The template or the source file no longer exists.")
    try:
        return samples_build_from_template(collection=template.collection, template=template, source_file=source,
                                           user=ctx.job.created_by, ctx=ctx)
    except (TemplateError, RecordsError, CotError) as exc:
        raise JobError(f"{source.name}: {exc}") from exc


def qa_build_job(ctx: JobContext, *, collection_id: int, generator_spec: str = "", max_pairs: int = 2,
                 limit: int | None = None) -> dict:
    from curation.generation import GenerationError

    collection = Collection.objects.filter(pk=collection_id).first()
    if collection is None:
        raise JobError(f"Collection {collection_id} no longer exists.")
    try:
        return samples_build_qa(collection=collection, generator_spec=generator_spec, max_pairs=max_pairs,
                                limit=limit, user=ctx.job.created_by, ctx=ctx)
    except GenerationError as exc:
        raise JobError(str(exc)) from exc
