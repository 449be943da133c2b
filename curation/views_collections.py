"""Collections, documents, uploads (owned by the ingest area). Thin: selectors read, services write."""
from __future__ import annotations

import json
import mimetypes

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from refinery.models import Job
from refinery.roles import CURATOR, role_required
from refinery.selectors import job_get

from .ingest import selectors
from .ingest.errors import IngestError
from .ingest.readers import SUPPORTED
from .ingest.services import (
    JOB_KIND,
    collection_create,
    document_set_status,
    ingest_upload_start,
    source_file_path,
)
from .views_common import collection_or_404
from .models import Document, Sample, SourceFile

PAGE_SIZE = 25


_collection = collection_or_404


@role_required(CURATOR)
@require_http_methods(["GET", "POST"])
def collection_list(request):
    form = {"name": "", "title": "", "domain": "", "description": ""}
    errors = {}
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in form}
        try:
            collection = collection_create(**form, user=request.user)
        except ValidationError as exc:
            errors = {k: " ".join(v) for k, v in exc.message_dict.items()}
        else:
            messages.success(request, f"Collection “{collection.name}” created.")
            return redirect("curation:collection_detail", pk=collection.pk)
    return render(request, "curation/collection_list.html", {
        "collections": selectors.collection_list(user=request.user), "form": form, "errors": errors,
    }, status=400 if errors else 200)


@role_required(CURATOR)
def collection_detail(request, pk: int):
    collection = _collection(request, pk)
    stats = selectors.collection_stats(user=request.user, collection=collection)
    files = Paginator(selectors.source_file_list(user=request.user, collection=collection,
                                                 status=request.GET.get("status") or None), PAGE_SIZE)
    chart = {"languages": stats.languages, "formats": stats.formats}
    return render(request, "curation/collection_detail.html", {
        "collection": collection, "stats": stats, "files": files.get_page(request.GET.get("page")),
        "chart": chart, "statuses": SourceFile.Status.choices,
        "recent_jobs": Job.objects.filter(kind=JOB_KIND, target_model="curation.collection",
                                          target_id=str(collection.pk)).order_by("-created_at")[:5],
    })


@role_required(CURATOR)
def document_list(request, pk: int):
    collection = _collection(request, pk)
    filters = {k: request.GET.get(k, "").strip() for k in ("q", "language", "source_file", "status")}
    if filters["source_file"] and not filters["source_file"].isdigit():
        filters["source_file"] = ""
    qs = selectors.document_list(user=request.user, collection=collection, **filters)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "collection": collection, "page": page, "documents": page.object_list, "filters": filters,
        "languages": selectors.document_languages(user=request.user, collection=collection),
        "source_files": selectors.source_file_list(user=request.user, collection=collection).only("id", "name"),
        "statuses": Document.Status.choices,
        "querystring": "&".join(f"{k}={v}" for k, v in filters.items() if v),
    }
    template = "curation/_document_results.html" if request.htmx_partial else "curation/document_list.html"
    return render(request, template, context)


@role_required(CURATOR)
def document_detail(request, pk: int):
    try:
        document = selectors.document_get(user=request.user, pk=pk)
    except Document.DoesNotExist:
        raise Http404("No such document") from None
    run_result = selectors.document_latest_run_result(user=request.user, document=document)
    return render(request, "curation/document_detail.html", {
        "document": document, "collection": document.collection,
        "meta_json": json.dumps(document.meta, ensure_ascii=False, indent=2),
        "run_result": run_result,
        "run_attributes_json": json.dumps(run_result.output.attributes, ensure_ascii=False, indent=2)
        if run_result and run_result.output else "",
        "statuses": Document.Status.choices,
    })


@role_required(CURATOR)
@require_POST
def document_status(request, pk: int):
    """Exclude a document from (or return it to) the collection's curation and exports."""
    try:
        document = selectors.document_get(user=request.user, pk=pk)
    except Document.DoesNotExist:
        raise Http404("No such document") from None
    try:
        document_set_status(document=document, status=request.POST.get("status", ""), user=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Document #{document.pk} is now {document.get_status_display().lower()}.")
    return redirect("curation:document_detail", pk=document.pk)


@role_required(CURATOR)
def source_file_raw(request, pk: int):
    """Download a source file exactly as it was ingested."""
    try:
        source = SourceFile.objects.get(pk=pk)
    except SourceFile.DoesNotExist:
        raise Http404("No such source file") from None
    path = source_file_path(source)
    if not source.stored_path or not path.is_file():
        raise Http404("The raw file is not on disk")
    filename = source.name.rsplit("/", 1)[-1]
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return FileResponse(open(path, "rb"), as_attachment=True, filename=filename, content_type=content_type)


@role_required(CURATOR)
@require_http_methods(["GET", "POST"])
def upload(request, pk: int):
    collection = _collection(request, pk)
    job, error = None, ""
    if request.method == "POST":
        try:
            job = ingest_upload_start(collection=collection, files=request.FILES.getlist("files"), user=request.user)
        except IngestError as exc:
            error = str(exc)
        if request.htmx_partial:
            return render(request, "curation/_upload_report.html",
                          {"collection": collection, "job": job, "error": error}, status=400 if error else 200)
        if job is not None:
            return redirect(f"{request.path}?job={job.pk}")
    elif request.GET.get("job", "").isdigit():
        try:
            job = job_get(user=request.user, pk=int(request.GET["job"]))
        except Job.DoesNotExist:
            raise Http404("No such job") from None
    return render(request, "curation/upload.html", {
        "collection": collection, "job": job, "error": error, "supported": SUPPORTED,
    }, status=400 if error else 200)


@role_required(CURATOR)
def upload_report(request, pk: int, job_id: int):
    """The live per-file report of an ingest job (polled by htmx while the job runs)."""
    collection = _collection(request, pk)
    try:
        job = job_get(user=request.user, pk=job_id)
    except Job.DoesNotExist:
        raise Http404("No such job") from None
    if job.kind != JOB_KIND:
        raise Http404("Not an ingest job")
    return render(request, "curation/_upload_report.html", {"collection": collection, "job": job})


@role_required(CURATOR)
def sample_list(request, pk: int):
    collection = _collection(request, pk)
    filters = {k: request.GET.get(k, "").strip() for k in ("q", "language", "intent")}
    qs = selectors.sample_list(user=request.user, collection=collection, **filters)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "curation/sample_list.html", {
        "collection": collection, "page": page, "samples": page.object_list, "filters": filters,
        "querystring": "&".join(f"{k}={v}" for k, v in filters.items() if v),
    })


@role_required(CURATOR)
def sample_detail(request, pk: int):
    try:
        sample = selectors.sample_get(user=request.user, pk=pk)
    except Sample.DoesNotExist:
        raise Http404("No such sample") from None
    return render(request, "curation/sample_detail.html", {
        "sample": sample, "collection": sample.collection,
        "entities_json": json.dumps(sample.entities, ensure_ascii=False, indent=2),
        "meta_json": json.dumps(sample.meta, ensure_ascii=False, indent=2),
    })
