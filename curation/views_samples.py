"""Samples, builders, augmentation (augment area): sample browser with origin/method filters, the
augmented-vs-parent diff, augmentation jobs with acceptance statistics, the template editor with a live
preview on real records, and QA generation. Thin: selectors read, services write, jobs do long work."""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from refinery.models import Job
from refinery.roles import CURATOR, role_required

from .augment import selectors as aug_selectors
from .augment.base import augment_methods
from .augment.services import augment_start, collection_entity_lists, entity_list_set
from .builders.cot import COT_STEPS
from .builders.records import RecordsError
from .builders.services import (
    PREVIEW_RECORDS, qa_build_start, record_source_files, source_file_records, template_build_start, template_preview,
    template_save,
)
from .builders.templates import TemplateError, TemplateSpec
from .generation import GenerationError
from .views_common import collection_or_404
from .models import InstructionTemplate, Sample

PAGE_SIZE = 25


_collection = collection_or_404


# ------------------------------------------------------------------------------------ sample browser
@role_required(CURATOR)
def sample_browser(request, pk: int):
    collection = _collection(request, pk)
    f = {k: request.GET.get(k, "").strip() for k in ("origin", "method", "split", "q")}
    qs = aug_selectors.sample_browse(collection=collection, **f)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    facets = aug_selectors.sample_facets(collection=collection)
    figures = {
        "origins": {"data": [{"type": "bar", "x": [r["origin"] for r in facets["origin"]],
                              "y": [r["n"] for r in facets["origin"]]}],
                    "layout": {"title": {"text": "Samples by origin"}, "height": 240,
                               "margin": {"l": 40, "r": 10, "t": 40, "b": 40}}},
        "methods": {"data": [{"type": "bar", "orientation": "h", "y": [r["method"] for r in facets["method"]],
                              "x": [r["n"] for r in facets["method"]]}],
                    "layout": {"title": {"text": "Samples by method"}, "height": 240,
                               "margin": {"l": 140, "r": 10, "t": 40, "b": 40}}},
    } if facets["origin"] else None
    query = "&".join(f"{k}={v}" for k, v in f.items() if v)
    return render(request, "curation/samples_browser.html", {
        "collection": collection, "page": page, "filters": f, "facets": facets, "figures": figures,
        "origins": Sample.Origin.choices, "splits": Sample.Split.choices, "query": query,
    })


@role_required(CURATOR)
def sample_diff(request, pk: int):
    sample = Sample.objects.select_related("parent", "collection").filter(pk=pk).first()
    if sample is None:
        raise Http404("No such sample")
    _collection(request, sample.collection_id)
    return render(request, "curation/samples_diff.html", {
        "sample": sample, "collection": sample.collection, "rows": aug_selectors.sample_parent_diff(sample=sample),
        "children": sample.children.order_by("id")[:50], "augment": (sample.meta or {}).get("augment"),
        "cot": (sample.meta or {}).get("cot"),
    })


# ------------------------------------------------------------------------------------ augmentation
@role_required(CURATOR)
@require_http_methods(["GET", "POST"])
def augment(request, pk: int):
    collection = _collection(request, pk)
    if request.GET.get("live"):  # htmx: one run's progress and acceptance statistics so far
        job = aug_selectors.augment_runs(collection=collection).filter(pk=request.GET["live"]).first() \
            if request.GET["live"].isdigit() else None
        if job is None:
            raise Http404("No such augmentation run in this collection")
        return render(request, "curation/augment_live.html", {"collection": collection, "job": job})
    form = {"methods": ["synonym", "perturb"], "ratio": "0.2", "backend": "lm"}
    error = ""
    if request.method == "POST":
        form = {"methods": request.POST.getlist("methods"), "ratio": request.POST.get("ratio", ""),
                "backend": request.POST.get("backend", "lm").strip() or "lm"}
        try:
            ratio = float(form["ratio"])
            options = {"backtranslate": {"backend": form["backend"]}} if "backtranslate" in form["methods"] else {}
            job = augment_start(collection=collection, methods=form["methods"], ratio=ratio, options=options,
                                user=request.user)
        except ValueError as exc:
            error = str(exc) if "could not convert" not in str(exc) else f"Ratio must be a number, got {form['ratio']!r}"
        else:
            messages.success(request, f"Augmentation started: {job.title}")
            return redirect("job_detail", pk=job.pk)
    jobs = list(aug_selectors.augment_jobs(collection=collection))
    latest = next((j for j in jobs if j.status == Job.Status.SUCCEEDED), None)
    return render(request, "curation/augment_collection.html", {
        "collection": collection, "form": form, "error": error, "jobs": jobs, "latest": latest,
        "active": next((j for j in jobs if j.is_active), None),
        "figures": aug_selectors.augment_figures(job=latest) if latest else None,
        "methods": [(name, cls.description) for name, cls in sorted(augment_methods().items())],
        "entity_lists": collection_entity_lists(collection=collection),
    }, status=400 if error else 200)


@role_required(CURATOR)
@require_POST
def augment_entities(request, pk: int):
    collection = _collection(request, pk)
    etype = request.POST.get("entity_type", "")
    values = [v for line in request.POST.get("values", "").splitlines() for v in line.split(",")]
    try:
        entity_list_set(collection=collection, entity_type=etype, values=values, user=request.user)
    except (ValueError, ValidationError) as exc:
        messages.error(request, f"Entity list not saved: {exc}")
    else:
        messages.success(request, f"Entity list “{etype.strip()}” saved.")
    return redirect("curation:augment", pk=collection.pk)


# ------------------------------------------------------------------------------------ builders
def _spec_from_post(post) -> TemplateSpec:
    return TemplateSpec(post.get("instruction", ""), post.get("response", ""), post.get("system", ""),
                        post.get("intent_field", "").strip(),
                        {s: post.get(f"cot_{s}", "").strip() for s in COT_STEPS if post.get(f"cot_{s}", "").strip()})


def _preview_records(collection, source_id: str):
    sources = record_source_files(collection=collection)
    source = sources.filter(pk=source_id).first() if source_id else sources.first()
    if source is None:
        return None, [], "Upload a jsonl/csv file of structured records to this collection to preview on real records."
    try:
        return source, source_file_records(source, limit=PREVIEW_RECORDS), ""
    except RecordsError as exc:
        return source, [], f"{source.name}: {exc}"


@role_required(CURATOR)
@require_http_methods(["GET", "POST"])
def builders(request, pk: int):
    collection = _collection(request, pk)
    templates = InstructionTemplate.objects.filter(collection=collection)
    current = templates.filter(name=request.GET.get("template", "")).first()
    form = {"name": current.name if current else "", "instruction": current.instruction if current else "",
            "response": current.response if current else "", "system": current.system if current else "",
            "intent_field": current.intent_field if current else "",
            **{f"cot_{s}": (current.cot or {}).get(s, "") if current else "" for s in COT_STEPS}}
    error = ""
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form}
        spec = _spec_from_post(request.POST)
        try:
            saved = template_save(collection=collection, name=form["name"].strip(), instruction=spec.instruction,
                                  response=spec.response, system=spec.system, intent_field=spec.intent_field,
                                  cot=spec.cot, user=request.user)
        except (TemplateError, ValidationError) as exc:
            error = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        else:
            messages.success(request, f"Template “{saved.name}” saved.")
            return redirect(f"{request.path}?template={saved.name}")
    source, records, source_error = _preview_records(collection, request.GET.get("source", ""))
    spec = TemplateSpec(form["instruction"], form["response"], form["system"], form["intent_field"],
                        {s: form[f"cot_{s}"] for s in COT_STEPS if form[f"cot_{s}"]})
    return render(request, "curation/builders_templates.html", {
        "collection": collection, "templates": templates, "current": current, "form": form, "error": error,
        "cot_fields": [(s, form[f"cot_{s}"]) for s in COT_STEPS], "sources": record_source_files(collection=collection), "source": source,
        "preview": template_preview(spec=spec, records=records) if form["instruction"] else [],
        "source_error": source_error, "fields": sorted({k for _, r in records for k in r}),
    }, status=400 if error else 200)


@role_required(CURATOR)
@require_POST
def builders_preview(request, pk: int):
    """htmx: the preview of the template being edited on the first records of the chosen source file."""
    collection = _collection(request, pk)
    source, records, source_error = _preview_records(collection, request.POST.get("source", ""))
    spec = _spec_from_post(request.POST)
    return render(request, "curation/builders_preview.html", {
        "preview": template_preview(spec=spec, records=records) if spec.instruction.strip() else [],
        "source": source, "source_error": source_error,
    })


@role_required(CURATOR)
@require_POST
def builders_build(request, pk: int):
    collection = _collection(request, pk)
    template = InstructionTemplate.objects.filter(collection=collection, pk=request.POST.get("template_id") or 0).first()
    source = record_source_files(collection=collection).filter(pk=request.POST.get("source") or 0).first()
    if template is None or source is None:
        messages.error(request, "Choose a saved template and a jsonl/csv source file.")
        return redirect("curation:builders", pk=collection.pk)
    job = template_build_start(template=template, source_file=source, user=request.user)
    return redirect("job_detail", pk=job.pk)


@role_required(CURATOR)
@require_POST
def builders_qa(request, pk: int):
    collection = _collection(request, pk)
    try:
        max_pairs = int(request.POST.get("max_pairs") or 2)
        limit = int(request.POST["limit"]) if request.POST.get("limit") else None
        job = qa_build_start(collection=collection, generator_spec=request.POST.get("generator", "").strip(),
                             max_pairs=max_pairs, limit=limit, user=request.user)
    except (ValueError, GenerationError) as exc:
        messages.error(request, f"QA generation not started: {exc}")
        return redirect("curation:builders", pk=collection.pk)
    return redirect("job_detail", pk=job.pk)
