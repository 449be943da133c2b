"""Dataset version pages (owned by the datasets area): thin views over services/selectors."""
from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from refinery.jobs import job_start
from refinery.roles import CURATOR, role_required

from . import charts_datasets
from .dataset_spec import DatasetSpecError
from .forms_datasets import DatasetVersionForm, EvaluationSetForm
from .models import SPLITS, DatasetVersion
from .selectors_datasets import dataset_version_get, dataset_version_list, dataset_version_records, evaluation_set_list
from .services.datasets import DatasetError, dataset_preview_count, dataset_version_diff, dataset_version_zip, \
    evaluation_set_create

PREVIEW_PAGE = 10


def _version_or_404(request, pk: int) -> DatasetVersion:
    try:
        return dataset_version_get(user=request.user, pk=pk)
    except DatasetVersion.DoesNotExist:
        raise Http404("No such dataset version") from None


@role_required(CURATOR)
def dataset_list(request):
    versions = dataset_version_list(user=request.user)
    return render(request, "training/dataset_list.html", {"versions": versions,
                                                          "eval_sets": evaluation_set_list(user=request.user)})


@role_required(CURATOR)
@require_http_methods(["GET", "POST"])
def dataset_create(request):
    if request.method == "POST":
        form = DatasetVersionForm(request.POST)
        if form.is_valid():
            col = form.cleaned_data["collection"]
            job = job_start(kind="training.dataset_create", title=f"Create dataset version of {col.name}",
                            params={"collection_id": col.pk, "spec": form.cleaned_data["spec"].as_dict(),
                                    "notes": form.cleaned_data.get("notes", "")},
                            user=request.user, target=col)
            messages.success(request, f"Building a new version of {col.name}; it appears in the list when ready.")
            return redirect("job_detail", pk=job.pk)
    else:
        initial = {}
        if request.GET.get("collection"):
            initial["collection"] = request.GET["collection"]
        form = DatasetVersionForm(initial=initial)
    return render(request, "training/dataset_create.html", {"form": form})


@role_required(CURATOR)
@require_GET
def dataset_preview(request):
    """htmx: live count of the samples the form's filter selects."""
    form = DatasetVersionForm(request.GET)
    ctx: dict = {"form": form}
    if form.is_valid():
        try:
            ctx["preview"] = dataset_preview_count(collection=form.cleaned_data["collection"],
                                                   spec=form.cleaned_data["spec"].as_dict())
        except (DatasetSpecError, DatasetError) as exc:
            ctx["error"] = str(exc)
    else:
        ctx["error"] = "; ".join(f"{'' if k == '__all__' else k + ': '}{' '.join(v)}" for k, v in form.errors.items())
    return render(request, "training/_dataset_preview.html", ctx)


@role_required(CURATOR)
def dataset_detail(request, pk: int):
    version = _version_or_404(request, pk)
    others = dataset_version_list(user=request.user, collection=version.collection).exclude(pk=version.pk)
    return render(request, "training/dataset_detail.html", {
        "version": version, "manifest": version.manifest, "charts": charts_datasets.version_charts(version.manifest),
        "others": others, "splits": SPLITS,
        "samples": dataset_version_records(version=version, split="train", limit=PREVIEW_PAGE), "split": "train",
        "page": 1, "has_next": version.n_train > PREVIEW_PAGE,
    })


@role_required(CURATOR)
def dataset_samples(request, pk: int):
    """htmx: a page of one split's samples."""
    version = _version_or_404(request, pk)
    split = request.GET.get("split", "train")
    if split not in SPLITS:
        split = "train"
    try:
        page = max(1, int(request.GET.get("page", 1)))
    except ValueError:
        page = 1
    rows = dataset_version_records(version=version, split=split, offset=(page - 1) * PREVIEW_PAGE, limit=PREVIEW_PAGE)
    total = getattr(version, f"n_{split}")
    return render(request, "training/_dataset_samples.html", {
        "version": version, "samples": rows, "split": split, "page": page, "splits": SPLITS,
        "has_next": page * PREVIEW_PAGE < total, "prev_page": page - 1, "next_page": page + 1})


@role_required(CURATOR)
def dataset_download(request, pk: int):
    version = _version_or_404(request, pk)
    if version.status != DatasetVersion.Status.READY:
        raise Http404("This version has no files")
    path = dataset_version_zip(version=version)
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"{version.collection.name}-{version.name}.zip",
                        content_type="application/zip")


@role_required(CURATOR)
def dataset_diff(request, pk: int):
    version = _version_or_404(request, pk)
    try:
        other = dataset_version_get(user=request.user, pk=int(request.GET.get("other", "")))
    except (ValueError, DatasetVersion.DoesNotExist):
        messages.error(request, "Choose a version of the same collection to compare with.")
        return redirect("training:dataset_detail", pk=version.pk)
    a, b = (other, version) if other.number < version.number else (version, other)
    try:
        diff = dataset_version_diff(a=a, b=b)
    except DatasetError as exc:
        messages.error(request, str(exc))
        return redirect("training:dataset_detail", pk=version.pk)
    data = diff.as_dict(limit=200)
    stat_rows = []  # (statistic, [(key, a, b)]) — distributions expanded key by key, side by side
    for name, pair in data["stats"].items():
        if isinstance(pair["a"], dict) or isinstance(pair["b"], dict):
            keys = sorted(set(pair["a"] or {}) | set(pair["b"] or {}))
            stat_rows.append((name, [(k, (pair["a"] or {}).get(k, 0), (pair["b"] or {}).get(k, 0)) for k in keys]))
        else:
            stat_rows.append((name, [("", pair["a"], pair["b"])]))
    return render(request, "training/dataset_diff.html", {
        "version": version, "a": a, "b": b, "diff": data, "stat_rows": stat_rows,
        "chart": charts_datasets.diff_chart(data["stats"], a.name, b.name)})


@role_required(CURATOR)
@require_http_methods(["GET", "POST"])
def evalset_list(request):
    form = EvaluationSetForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "upload"
            with open(path, "wb") as fh:
                for chunk in upload.chunks():
                    fh.write(chunk)
            try:
                ev = evaluation_set_create(name=form.cleaned_data["name"], path=path, original_name=upload.name,
                                           description=form.cleaned_data["description"], user=request.user)
            except DatasetError as exc:
                form.add_error("file", str(exc))
            else:
                messages.success(request, f"Evaluation set {ev.name} added ({ev.n_items} items).")
                return redirect("training:evalset_list")
    return render(request, "training/evalset_list.html", {"form": form, "eval_sets": evaluation_set_list(user=request.user)})


@role_required(CURATOR)
@require_POST
def dataset_create_from_collection(request, collection_id: int):
    """Shortcut: a version with the default spec for one collection (used from the collection page)."""
    from curation.models import Collection

    col = get_object_or_404(Collection, pk=collection_id)
    job = job_start(kind="training.dataset_create", title=f"Create dataset version of {col.name}",
                    params={"collection_id": col.pk, "spec": {}}, user=request.user, target=col)
    return redirect("job_detail", pk=job.pk)
