"""Annotation pages: annotator queue + built-in labelling UI, curator projects, dashboards, adjudication."""
from __future__ import annotations

import hmac
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from refinery.jobs import job_start
from refinery.roles import ANNOTATOR, CURATOR, is_curator, role_required

from . import analysis, charts, labelstudio, selectors, services
from .forms import ProjectForm, form_fields, label_from_post
from .models import Adjudication, Assignment, Item, LabelingProject
from .schemes import LabelError


def _project_or_404(request, pk: int) -> LabelingProject:
    try:
        return selectors.project_get(user=request.user, pk=pk)
    except LabelingProject.DoesNotExist:
        raise Http404("No such labelling project")


@role_required(ANNOTATOR)
def home(request):
    """Annotators land here: their own queue. Curators: every project with its progress."""
    ctx = {"my_projects": selectors.annotator_projects(user=request.user)}
    if is_curator(request.user):
        ctx["projects"] = selectors.project_overview(user=request.user)
        ctx["review_queue"] = selectors.review_queue(user=request.user)
        ctx["gate_metric"] = selectors.GATE_METRIC
    return render(request, "annotation/home.html", ctx)


@role_required(CURATOR)
def project_new(request):
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        col = d["collection"]
        ids = None
        if d.get("limit"):
            qs = col.samples if d["target"] == "sample" else col.documents
            ids = list(qs.order_by("id").values_list("id", flat=True)[: d["limit"]])
        try:
            project = services.project_create(
                name=d["name"], collection=col, scheme=d["scheme"], target=d["target"], overlap=d["overlap"],
                annotators=d["annotators"], user=request.user, instructions=d["instructions"],
                agreement_threshold=d["agreement_threshold"],
                sample_ids=ids if d["target"] == "sample" else None,
                document_ids=ids if d["target"] == "document" else None)
        except (services.AnnotationError, services.SchemeError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Project “{project.name}” created with {project.items.count()} items.")
            return redirect("annotation:project_detail", pk=project.pk)
    return render(request, "annotation/project_new.html", {"form": form}, status=400 if form.errors else 200)


@role_required(CURATOR)
def project_detail(request, pk: int):
    project = _project_or_404(request, pk)
    report = selectors.project_agreement_report(user=request.user, project=project)
    stats = selectors.annotator_stats(user=request.user, project=project)
    queue = selectors.low_agreement_queue(user=request.user, project=project)
    stale = selectors.stale_annotations(user=request.user, project=project)
    ctx = {
        "project": project, "report": report, "gate": report["gate"], "stats": stats, "queue": queue[:200],
        "queue_total": len(queue), "stale": stale[:200], "stale_total": stale.count(),
        "charts": charts.project_charts(report=report, stats=stats, threshold=project.agreement_threshold,
                                        item_agreement=[a for a in selectors.project_item_agreement(project).values()
                                                        if a is not None]),
        "n_items": project.items.count(),
        "n_adjudicated": Adjudication.objects.filter(item__project=project).count(),
        "ls_xml": project.parsed_scheme.to_labelstudio_xml(),
        "ls_configured": bool(settings.LABEL_STUDIO_URL and settings.LABEL_STUDIO_API_KEY),
    }
    return render(request, "annotation/project_detail.html", ctx)


@role_required(CURATOR)
@require_POST
def project_action(request, pk: int, action: str):
    project = _project_or_404(request, pk)
    if action == "adjudicate":
        counts = services.project_adjudicate_majority(project=project, user=request.user)
        if counts["gate"] == "below":
            messages.warning(request, f"The project is below its agreement gate: nothing was decided by majority "
                                      f"({counts.get('gold', 0)} gold). Review the items, or accept the project "
                                      f"below the gate with a reason.")
        else:
            messages.success(request, f"Adjudicated: {counts.get('majority', 0)} by majority, {counts.get('gold', 0)} "
                                      f"gold; {counts.get('review', 0)} left for review.")
        return redirect("annotation:project_detail", pk=project.pk)
    if action in ("accept_gate", "revoke_gate"):
        try:
            if action == "accept_gate":
                services.project_gate_accept(project=project, user=request.user, note=request.POST.get("note", ""))
                messages.success(request, "Project accepted below the agreement gate; majority decisions now count.")
            else:
                services.project_gate_revoke(project=project, user=request.user)
                messages.success(request, "Acceptance withdrawn.")
        except services.AnnotationError as exc:
            messages.error(request, str(exc))
        return redirect("annotation:project_detail", pk=project.pk)
    if action == "assign":
        n = services.project_assign(project=project, user=request.user)
        messages.success(request, f"{n} new assignments.")
        return redirect("annotation:project_detail", pk=project.pk)
    if action in ("push", "pull"):
        params = {"project_id": project.pk}
        if action == "push":
            params["webhook_url"] = request.build_absolute_uri(reverse("annotation:labelstudio_webhook"))
        job = job_start(kind=f"annotation.labelstudio_{action}", title=f"Label Studio {action}: {project.name}",
                        params=params, user=request.user, target=project)
        return redirect("job_detail", pk=job.pk)
    raise Http404("Unknown action")


# ------------------------------------------------------------------------------ built-in labelling
@role_required(ANNOTATOR)
def label_next(request, pk: int):
    project = _project_or_404(request, pk)
    after = request.GET.get("after")
    nxt = selectors.next_assignment(user=request.user, project=project,
                                    after_item_id=int(after) if after and after.isdigit() else None)
    if nxt is None:
        messages.success(request, f"Your queue for “{project.name}” is done. Thank you!")
        return redirect("annotation:home")
    return redirect("annotation:label", pk=nxt.pk)


def _label_context(request, assignment: Assignment, *, errors=None, values=None) -> dict:
    item = assignment.item
    project = item.project
    scheme = project.parsed_scheme
    existing = item.annotations.filter(annotator=request.user).values_list("label", flat=True).first()
    values = values if values is not None else (existing or {})
    return {
        "assignment": assignment, "item": item, "project": project,
        "form_fields": form_fields(scheme, values, errors or {}, response=selectors.item_response(item)),
        "text": selectors.item_text(item), "response": selectors.item_response(item),
        "messages_list": item.sample.messages if item.sample_id else None,
        "values": values, "spans_json": _spans_json(scheme, values), "has_spans": bool(_spans_name(scheme)),
        "errors": errors or {}, "progress": selectors.queue_progress(user=request.user, project=project),
    }


def _spans_json(scheme, values: dict) -> str:
    spans = values.get(_spans_name(scheme)) or []
    if isinstance(spans, str):  # re-rendering a POST: already JSON
        return spans
    return json.dumps(spans)


def _spans_name(scheme) -> str:
    return next((f.name for f in scheme.fields if f.type == "spans"), "")


@role_required(ANNOTATOR)
def label(request, pk: int):
    """Label one of *your* assignments (404 for anyone else's)."""
    try:
        assignment = selectors.assignment_get(user=request.user, pk=pk)
    except Assignment.DoesNotExist:
        raise Http404("Not in your queue")
    project = assignment.item.project
    if request.method == "POST":
        if request.POST.get("skip"):
            try:
                services.assignment_skip(assignment=assignment)
            except services.AnnotationError as exc:
                messages.error(request, str(exc))
            return redirect(f"{reverse('annotation:label_next', args=[project.pk])}?after={assignment.item_id}")
        scheme = project.parsed_scheme
        try:
            raw = label_from_post(scheme, request.POST)
            lead = (timezone.now() - assignment.opened_at).total_seconds() if assignment.opened_at else None
            services.annotation_submit(item=assignment.item, annotator=request.user, label=raw, lead_time=lead)
        except LabelError as exc:
            ctx = _label_context(request, assignment, errors=exc.errors, values=request.POST.dict())
            return render(request, "annotation/label.html", ctx, status=400)
        return redirect(f"{reverse('annotation:label_next', args=[project.pk])}?after={assignment.item_id}")
    services.assignment_open(assignment=assignment)
    return render(request, "annotation/label.html", _label_context(request, assignment))


# ------------------------------------------------------------------------------------ adjudication
@role_required(CURATOR)
def adjudicate(request, pk: int):
    item = get_object_or_404(Item.objects.select_related("project", "sample", "document"), pk=pk)
    project = item.project
    scheme = project.parsed_scheme
    errors, values = {}, None
    if request.method == "POST":
        method = request.POST.get("method", "curator")
        try:
            if method == "make_gold":
                services.item_set_gold(item=item, label=label_from_post(scheme, request.POST), user=request.user)
                messages.success(request, f"Item {item.pk} is now a gold item; every annotator gets it.")
                return redirect("annotation:adjudicate", pk=item.pk)
            final = label_from_post(scheme, request.POST) if method == "curator" else None
            services.item_adjudicate(item=item, method=method, user=request.user, final_label=final,
                                     note=request.POST.get("note", ""))
        except LabelError as exc:
            errors, values = exc.errors, request.POST.dict()
        except services.AnnotationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Item {item.pk} decided ({method}).")
            return redirect("annotation:project_detail", pk=project.pk)
    anns = list(item.annotations.select_related("annotator").order_by("annotator__username"))
    adj = Adjudication.objects.filter(item=item).select_related("decided_by").first()
    # span fields: every distinct span with its votes; the proposal keeps what a majority marked exactly
    span_votes = []
    for f in scheme.span_fields:
        votes = analysis.span_votes([a.label.get(f.name) or [] for a in anns])
        span_votes.append({"field": f, "spans": votes, "n": len(anns)})
    if values is None:
        if adj:
            values = adj.final_label
        elif anns:
            values = dict(anns[0].label)
            for sv in span_votes:
                values[sv["field"].name] = [{k: v for k, v in s.items() if k not in ("votes", "majority")}
                                            for s in sv["spans"] if s["majority"]]
        else:
            values = {}
    ctx = {"item": item, "project": project, "annotations": anns, "adjudication": adj,
           "form_fields": form_fields(scheme, values, errors, response=selectors.item_response(item)),
           "text": selectors.item_text(item), "response": selectors.item_response(item),
           "messages_list": item.sample.messages if item.sample_id else None,
           "values": values, "spans_json": _spans_json(scheme, values), "has_spans": bool(_spans_name(scheme)),
           "span_votes": span_votes, "errors": errors}
    return render(request, "annotation/adjudicate.html", ctx, status=400 if errors else 200)


# ------------------------------------------------------------------------------ Label Studio webhook
@login_not_required
@csrf_exempt
@require_POST
def labelstudio_webhook(request):
    """Label Studio → Refinery. Authenticated by the shared-secret header, not by a session."""
    secret = settings.LABEL_STUDIO_WEBHOOK_SECRET
    given = request.headers.get(labelstudio.SECRET_HEADER, "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        return HttpResponseForbidden("bad webhook secret")
    try:
        payload = json.loads(request.body or b"{}")
    except json.JSONDecodeError:
        return HttpResponse("body is not JSON", status=400)
    if not isinstance(payload, dict):
        return HttpResponse("body must be a JSON object", status=400)
    event = labelstudio.webhook_record(payload=payload)
    try:
        with transaction.atomic():
            result = labelstudio.webhook_handle(event=event)
    except Exception as exc:  # noqa: BLE001 — keep the event; the reconcile pull applies it later
        type(event).objects.filter(pk=event.pk).update(error=f"{type(exc).__name__}: {exc}"[:2000])
        return JsonResponse({"stored": event.pk, "processed": False}, status=202)
    return JsonResponse({"stored": event.pk, "processed": True, **{k: v for k, v in result.items() if k != "errors"}})
