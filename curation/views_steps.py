"""Glossary and quality-classifier pages (owned by the steps area). Curators only; thin: selectors read,
services write."""
from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from refinery.roles import CURATOR, role_required

from . import selectors
from . import services_steps as services
from .models import Document, GlossaryTerm
from .pipeline.steps.quality import QualityFilter
from .views_common import collection_or_404

PAGE_SIZE = 25
MAX_GLOSSARY_UPLOAD = 5 * 1024 * 1024




def _errors(exc: ValidationError) -> dict[str, str]:
    if hasattr(exc, "error_dict"):
        return {k: "; ".join(m for e in v for m in e.messages) for k, v in exc.error_dict.items()}
    return {"general": "; ".join(exc.messages)}


# ------------------------------------------------------------------------------------ glossary
@role_required(CURATOR)
@require_http_methods(["GET", "POST"])
def glossary(request, pk: int):
    collection = collection_or_404(request, pk)
    form = {"canonical": "", "variants": "", "synonyms": "", "note": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form}
        try:
            term = services.glossary_term_create(collection=collection, **form)
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, f"Added '{term.canonical}'.")
            return redirect("curation:glossary", pk=collection.pk)
    q = request.GET.get("q", "").strip()
    terms = selectors.glossary_terms(collection=collection)
    if q:
        terms = [t for t in terms if q.casefold() in " ".join([t.canonical, *t.variants, *t.synonyms]).casefold()]
    page = Paginator(terms, 50).get_page(request.GET.get("page"))
    yaml_snippet = f"- glossary:\n    collection: {collection.name}"
    return render(request, "curation/glossary.html", {
        "collection": collection, "terms": page, "form": form, "errors": errors, "q": q,
        "yaml_snippet": yaml_snippet,
    }, status=400 if errors else 200)


@role_required(CURATOR)
@require_http_methods(["GET", "POST"])
def glossary_term_edit(request, pk: int, term_id: int):
    collection = collection_or_404(request, pk)
    term = get_object_or_404(GlossaryTerm, pk=term_id, collection=collection)
    form = {"canonical": term.canonical, "variants": ", ".join(term.variants),
            "synonyms": ", ".join(term.synonyms), "note": term.note}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form}
        try:
            services.glossary_term_update(term=term, **form)
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            messages.success(request, f"Saved '{term.canonical}'.")
            return redirect("curation:glossary", pk=collection.pk)
    return render(request, "curation/glossary_term_edit.html",
                  {"collection": collection, "term": term, "form": form, "errors": errors},
                  status=400 if errors else 200)


@role_required(CURATOR)
@require_POST
def glossary_term_delete(request, pk: int, term_id: int):
    collection = collection_or_404(request, pk)
    term = get_object_or_404(GlossaryTerm, pk=term_id, collection=collection)
    name = term.canonical
    services.glossary_term_delete(term=term)
    messages.success(request, f"Deleted '{name}'.")
    return redirect("curation:glossary", pk=collection.pk)


@role_required(CURATOR)
def glossary_export(request, pk: int):
    collection = collection_or_404(request, pk)
    body = json.dumps(services.glossary_export(collection=collection), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{collection.name}-glossary.json"'
    return response


@role_required(CURATOR)
@require_POST
def glossary_import(request, pk: int):
    collection = collection_or_404(request, pk)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a JSON file to import.")
    elif upload.size > MAX_GLOSSARY_UPLOAD:
        messages.error(request, f"{upload.name} is larger than {MAX_GLOSSARY_UPLOAD // (1024 * 1024)} MB.")
    else:
        try:
            n = services.glossary_import(collection=collection, data=upload.read(), replace=bool(request.POST.get("replace")))
        except ValidationError as exc:
            messages.error(request, f"{upload.name}: {'; '.join(exc.messages)} Nothing was imported.")
        else:
            messages.success(request, f"Imported {n} term{'s' if n != 1 else ''} from {upload.name}.")
    return redirect("curation:glossary", pk=collection.pk)


# ------------------------------------------------------------------------------------ quality classifier
@role_required(CURATOR)
def quality_classifier(request, pk: int):
    collection = collection_or_404(request, pk)
    label = request.GET.get("label", "")
    if label not in ("", "accepted", "rejected", "unlabelled"):
        label = ""
    docs = Paginator(selectors.quality_documents(collection=collection, label=label), PAGE_SIZE).get_page(request.GET.get("page"))
    active = selectors.quality_classifier_active(collection=collection)
    history = list(selectors.quality_classifiers(collection=collection)[:10])
    counts = selectors.quality_example_counts(collection=collection)
    chart = {
        "folds": [round(s, 4) for s in active.cv_scores] if active else [],
        "history": [{"id": c.pk, "accuracy": round(c.cv_accuracy, 4), "n": c.n_accepted + c.n_rejected,
                     "at": c.created_at.strftime("%m-%d %H:%M")} for c in reversed(history)],
    }
    return render(request, "curation/quality_classifier.html", {
        "collection": collection, "docs": docs, "label": label, "active": active, "counts": counts,
        "history": history, "chart": chart,
        "threshold": QualityFilter.Options().classifier_threshold,
        "yaml_snippet": f"- quality:\n    classifier_collection: {collection.name}",
    })


@role_required(CURATOR)
@require_POST
def quality_label(request, pk: int, doc_id: int):
    collection = collection_or_404(request, pk)
    doc = get_object_or_404(Document, pk=doc_id, collection=collection)
    try:
        example = services.quality_example_set(document=doc, label=request.POST.get("label", ""))
    except ValidationError as exc:
        return HttpResponse("; ".join(exc.messages), status=400)
    doc.quality_label = example.label if example else None
    if request.htmx_partial:
        return render(request, "curation/_quality_row.html", {"collection": collection, "doc": doc})
    return redirect(reverse("curation:quality_classifier", args=[collection.pk]) + f"?page={request.POST.get('page', '1')}")


@role_required(CURATOR)
@require_POST
def quality_train(request, pk: int):
    collection = collection_or_404(request, pk)
    try:
        clf = services.quality_classifier_train(collection=collection)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, f"Trained on {clf.n_accepted + clf.n_rejected} examples: "
                                  f"cross-validated accuracy {clf.cv_accuracy:.0%}.")
    return redirect("curation:quality_classifier", pk=collection.pk)
