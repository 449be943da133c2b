"""Pipeline configs, runs, dashboards (owned by the engine area). Thin: services and selectors do the work."""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from refinery.roles import CURATOR, role_required

from . import selectors
from .models import Collection, PipelineConfig, PipelineRun
from .pipeline import dashboards
from .pipeline.base import StepConfigError
from .pipeline.engine import EXECUTORS, PipelineError
from .pipeline.services import (
    default_step_specs, pipeline_config_create, pipeline_config_update, pipeline_run_reconcile, pipeline_run_start,
    pipeline_steps_to_yaml, step_catalog,
)

MAX_YAML_BYTES = 200_000


@role_required(CURATOR)
def pipeline_list(request):
    return render(request, "curation/pipeline_list.html", {
        "configs": selectors.pipeline_config_list(),
        "runs": selectors.pipeline_run_list()[:20],
        "collections": Collection.objects.all(),
        "default_yaml": pipeline_steps_to_yaml(default_step_specs()) if default_step_specs() else "steps: []\n",
    })


@role_required(CURATOR)
@require_POST
def pipeline_create(request):
    collection = Collection.objects.filter(pk=int(request.POST["collection"])).first() \
        if request.POST.get("collection", "").isdigit() else None
    if collection is None:
        messages.error(request, "Pick the collection the pipeline is for.")
        return redirect("curation:pipeline_list")
    upload = request.FILES.get("yaml_file")
    if upload is not None:
        if upload.size > MAX_YAML_BYTES:
            messages.error(request, f"{upload.name}: the YAML file is larger than {MAX_YAML_BYTES // 1000} KB.")
            return redirect("curation:pipeline_list")
        yaml_text = upload.read().decode("utf-8", errors="replace")
    else:
        yaml_text = request.POST.get("yaml") or pipeline_steps_to_yaml(default_step_specs())
    try:
        config = pipeline_config_create(collection=collection, name=request.POST.get("name", "").strip(),
                                        yaml_text=yaml_text, description=request.POST.get("description", ""))
    except StepConfigError as exc:
        messages.error(request, str(exc))
        return redirect("curation:pipeline_list")
    messages.success(request, f"Pipeline {config.name} created for {collection.name}.")
    return redirect("curation:pipeline_edit", pk=config.pk)


@role_required(CURATOR)
def pipeline_edit(request, pk: int):
    config = get_object_or_404(PipelineConfig.objects.select_related("collection"), pk=pk)
    yaml_text = pipeline_steps_to_yaml(config.steps)
    error = None
    if request.method == "POST":
        yaml_text = request.POST.get("yaml", "")
        try:
            pipeline_config_update(config=config, yaml_text=yaml_text,
                                   description=request.POST.get("description", config.description))
        except StepConfigError as exc:
            error = str(exc)
        else:
            messages.success(request, f"Pipeline {config.name} saved.")
            return redirect("curation:pipeline_edit", pk=config.pk)
    return render(request, "curation/pipeline_edit.html", {
        "config": config, "yaml_text": yaml_text, "error": error, "catalog": step_catalog(),
        "runs": selectors.pipeline_run_list(collection=config.collection).filter(config=config)[:20],
        "executors": EXECUTORS,
    }, status=400 if error else 200)


@role_required(CURATOR)
def pipeline_export(request, pk: int):
    config = get_object_or_404(PipelineConfig.objects.select_related("collection"), pk=pk)
    response = HttpResponse(pipeline_steps_to_yaml(config.steps), content_type="application/x-yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{config.collection.name}-{config.name}.yaml"'
    return response


@role_required(CURATOR)
@require_POST
def pipeline_run(request, pk: int):
    config = get_object_or_404(PipelineConfig.objects.select_related("collection"), pk=pk)
    executor = request.POST.get("executor") or None
    try:
        run = pipeline_run_start(collection=config.collection, config=config, user=request.user, executor=executor)
    except (StepConfigError, PipelineError) as exc:
        messages.error(request, str(exc))
        return redirect("curation:pipeline_edit", pk=config.pk)
    return redirect("curation:run_detail", pk=run.pk)


def _run(pk: int) -> PipelineRun:
    run = get_object_or_404(PipelineRun.objects.select_related("collection", "config", "job"), pk=pk)
    return pipeline_run_reconcile(run=run)


@role_required(CURATOR)
def run_detail(request, pk: int):
    run = _run(pk)
    if request.htmx_partial:
        # Once the run is over, the page reloads itself to show the dashboards.
        return render(request, "curation/_run_status.html", {"run": run, "reload": not run.is_active})
    ctx = {"run": run, "previous": selectors.pipeline_run_list(collection=run.collection)
           .filter(status=PipelineRun.Status.SUCCEEDED).exclude(pk=run.pk)[:10]}
    if run.status == PipelineRun.Status.SUCCEEDED:
        reasons_fig, reasons = dashboards.reasons_figure(run)
        ctx.update({
            "figures": {
                "funnel": dashboards.funnel_figure(run),
                "reasons": reasons_fig,
                "languages": dashboards.language_figure(run),
                "lengths": dashboards.length_figure(run),
                "timings": dashboards.timing_figure(run),
                "pii": dashboards.pii_figure(run),
            },
            "reasons": reasons,
            "pii_types": [(t, n, run.charts.get("pii_masked", {}).get(t, []))
                          for t, n in sorted(dashboards.pii_counts(run).items(), key=lambda kv: -kv[1])],
            "pii_records": (run.report.get("pii") or {}).get("records_with_pii", 0),
            "pii_examples": run.charts.get("pii_examples", []),
            "n_clusters": selectors.run_duplicate_cluster_count(run=run),
        })
    return render(request, "curation/run_detail.html", ctx)


@role_required(CURATOR)
def run_rejections(request, pk: int):
    run = _run(pk)
    step, reason = request.GET.get("step", ""), request.GET.get("reason", "")
    page = Paginator(selectors.run_rejections(run=run, step=step, reason=reason), 25).get_page(request.GET.get("page"))
    rows = [{"r": r, "parts": dashboards.highlight(r.text[:3000], str((r.details or {}).get("match", "")))}
            for r in page.object_list]
    return render(request, "curation/run_rejections.html", {
        "run": run, "page": page, "rows": rows, "step": step, "reason": reason,
        "reasons": selectors.run_reason_counts(run=run),
    })


@role_required(CURATOR)
def run_duplicates(request, pk: int):
    run = _run(pk)
    of = request.GET.get("of")
    if not of:
        page = Paginator(selectors.run_duplicate_clusters(run=run), 30).get_page(request.GET.get("page"))
        return render(request, "curation/run_duplicates.html", {"run": run, "page": page})
    kept_text, kept_where = selectors.run_record_text(run=run, record_id=of)
    members = list(selectors.run_rejections(run=run).filter(duplicate_of=of)[:50])
    if not members:
        raise Http404("No duplicates of that record in this run")
    pairs = []
    for m in members:
        left, right = dashboards.diff_segments(kept_text, m.text)
        pairs.append({"member": m, "left": left, "right": right})
    return render(request, "curation/run_duplicate_cluster.html", {
        "run": run, "of": of, "kept_where": kept_where, "pairs": pairs,
    })


@role_required(CURATOR)
def run_compare(request):
    try:
        a = _run(int(request.GET.get("a", "")))
        b = _run(int(request.GET.get("b", "")))
    except ValueError:
        raise Http404("Pick two runs to compare") from None
    kept_a, kept_b = dashboards.kept_record_ids(a), dashboards.kept_record_ids(b)
    only_a, only_b = sorted(kept_a - kept_b)[:50], sorted(kept_b - kept_a)[:50]
    why_b = {r.record_id: r for r in selectors.run_rejections(run=b).filter(record_id__in=only_a)}
    why_a = {r.record_id: r for r in selectors.run_rejections(run=a).filter(record_id__in=only_b)}
    return render(request, "curation/run_compare.html", {
        "a": a, "b": b, "figure": dashboards.compare_figure(a, b),
        "n_both": len(kept_a & kept_b), "n_only_a": len(kept_a - kept_b), "n_only_b": len(kept_b - kept_a),
        "only_a": [(rid, why_b.get(rid)) for rid in only_a], "only_b": [(rid, why_a.get(rid)) for rid in only_b],
    })
