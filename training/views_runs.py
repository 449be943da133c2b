"""Training run, adapter, playground, comparison and layer-importance pages (curators only)."""
from __future__ import annotations

import json

from django.contrib import messages
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from refinery.jobs import job_start
from refinery.roles import CURATOR, role_required

from . import selectors
from .basemodels import BUNDLED_NAME
from .models.datasets import DatasetVersion
from .models.runs import Adapter, LayerImportance, TrainingRun
from .services import runs as run_services
from .forms_runs import RunForm
from .trainer.config import config_to_yaml

PREVIEW_SAMPLES = 5


def _versions(user):
    return selectors.dataset_version_list(user=user).filter(status=DatasetVersion.Status.READY)


@role_required(CURATOR)
def run_list(request):
    runs = selectors.run_list(user=request.user)[:200]
    return render(request, "training/run_list.html", {"runs": runs, "base_models": selectors.base_model_list()})


def _run_form_initial(request) -> dict:
    defaults = run_services.run_user_config({})
    layers = request.GET.get("layers")
    if layers:
        defaults["lora"]["layers"] = [int(x) for x in layers.split(",") if x.strip().isdigit()]
    initial = RunForm.initial_for(defaults)
    if request.GET.get("version", "").isdigit():
        initial["dataset_version"] = int(request.GET["version"])
    return initial


@role_required(CURATOR)
def run_new(request):
    """Run form: dataset version, base model, the main settings as fields and the rest as YAML."""
    versions = _versions(request.user)
    if request.method == "POST":
        form = RunForm(request.POST, versions=versions)
        if form.is_valid():
            try:
                run = run_services.run_create(dataset_version=form.cleaned_data["dataset_version"], user=request.user,
                                              base_model=form.cleaned_data["base_model"].strip() or BUNDLED_NAME,
                                              config=form.cleaned_data["effective"])
            except run_services.RunError as exc:
                form.add_error("base_model" if "base model" in str(exc).lower() else None, str(exc))
            else:
                run_services.run_start(run=run, user=request.user)
                return redirect("training:run_detail", pk=run.pk)
        status = 400
    else:
        form = RunForm(initial=_run_form_initial(request), versions=versions)
        status = 200
    version_id = form["dataset_version"].value() or ""
    return render(request, "training/run_new.html", {
        "form": form, "version_id": version_id, "base_models": selectors.base_model_list(),
        "preview": _config_preview(form) if request.method == "POST" else None}, status=status)


def _config_preview(form: RunForm) -> dict:
    """The effective settings as YAML, or the errors — what the form's live preview shows."""
    form.is_valid()
    errors = [f"{form.fields[k].label if k in form.fields else 'Settings'}: {' '.join(v)}"
              for k, v in form.errors.items() if k not in ("dataset_version", "base_model")]
    if errors or "effective" not in form.cleaned_data:
        return {"errors": errors}
    return {"yaml": config_to_yaml(form.cleaned_data["effective"])}


@role_required(CURATOR)
def run_new_preview(request):
    """htmx: the effective config of the run form as it is filled in (fields over YAML), validated."""
    data = request.GET.copy()
    form = RunForm(data, versions=_versions(request.user))
    return render(request, "training/_run_config_preview.html", {"preview": _config_preview(form)})


@require_POST
@role_required(CURATOR)
def run_quickstart(request, version_id: int):
    version = get_object_or_404(_versions(request.user), pk=version_id)
    try:
        run = run_services.run_quickstart(dataset_version=version, user=request.user)
    except run_services.RunError as exc:
        messages.error(request, str(exc))
        return redirect("training:dataset_detail", pk=version.pk)
    return redirect("training:run_detail", pk=run.pk)


def _run_or_404(request, pk: int) -> TrainingRun:
    try:
        return selectors.run_get(user=request.user, pk=pk)
    except TrainingRun.DoesNotExist:
        raise Http404("No such run") from None


@role_required(CURATOR)
def run_detail(request, pk: int):
    run = _run_or_404(request, pk)
    return render(request, "training/run_detail.html", {
        "run": run, "config_yaml": config_to_yaml(run.config),
        "adapter": Adapter.objects.filter(run=run).first()})


def _last_per_step(events: list[dict]) -> list[dict]:
    """One event per step — the last one logged. After a kill and a resume from an earlier checkpoint the
    log holds the replayed steps twice; the replay is what the adapter comes from."""
    by_step: dict[int, dict] = {}
    for e in events:
        by_step[e["step"]] = e
    return [by_step[k] for k in sorted(by_step)]


@role_required(CURATOR)
def run_progress(request, pk: int):
    """What the live page polls: the JSON-lines log condensed for the chart, plus the run status."""
    run = _run_or_404(request, pk)
    events, _ = run_services.read_log(run.folder / "log.jsonl")
    train_events = [e for e in events if e.get("event") == "train"]
    last = train_events[-1] if train_events else {}
    train = _last_per_step(train_events)
    evals = _last_per_step([e for e in events if e.get("event") == "eval"])
    total = last.get("total_steps") or run.total_steps or next(
        (e["total_steps"] for e in events if e.get("event") == "start"), 0)
    return JsonResponse({
        "status": run.status, "active": run.is_active, "step": last.get("step", 0), "total_steps": total,
        "tokens_per_s": last.get("tokens_per_s"), "eta_s": last.get("eta_s"), "lr": last.get("lr"),
        "train": {"step": [e["step"] for e in train], "loss": [e["loss"] for e in train]},
        "eval": {"step": [e["step"] for e in evals], "loss": [e["loss"] for e in evals]},
        "eval_before": next((e for e in reversed(events) if e.get("event") == "eval_before"), None),
        "eval_after": next((e for e in reversed(events) if e.get("event") == "eval_after"), None),
        "warnings": list(dict.fromkeys(e["message"] for e in events if e.get("event") == "warning")),
        "error": run.error, "exit_code": run.exit_code, "log_tail": run.log_tail,
    })


@require_POST
@role_required(CURATOR)
def run_cancel(request, pk: int):
    run = _run_or_404(request, pk)
    run_services.run_cancel(run=run)
    messages.info(request, "Stop requested: the trainer saves a checkpoint and stops.")
    return redirect("training:run_detail", pk=run.pk)


@require_POST
@role_required(CURATOR)
def run_resume(request, pk: int):
    run = _run_or_404(request, pk)
    try:
        run_services.run_resume(run=run, user=request.user)
    except run_services.RunError as exc:
        messages.error(request, str(exc))
    return redirect("training:run_detail", pk=run.pk)


@role_required(CURATOR)
def label_preview(request, version_id: int):
    """Masked-label preview: which tokens of a few train samples carry loss."""
    from .basemodels import base_model_resolve
    from .trainer.data import DataError, label_preview as preview, read_messages_jsonl
    from .trainer.modeling import load_tokenizer

    version = get_object_or_404(_versions(request.user), pk=version_id)
    raw = request.GET.get("max_seq_len", "")
    max_seq_len = int(raw) if raw.isdigit() and 16 <= int(raw) <= 131072 else run_services.run_user_config({})["max_seq_len"]
    tok, warnings = load_tokenizer(base_model_resolve(request.GET.get("base_model") or BUNDLED_NAME))
    samples, error = [], ""
    try:
        for rec in read_messages_jsonl(version.split_file("train"))[:PREVIEW_SAMPLES]:
            tokens = preview(tok, rec["messages"], max_seq_len)
            samples.append({"id": rec["id"], "tokens": tokens, "n_loss": sum(t["loss"] for t in tokens)})
    except DataError as exc:
        error = str(exc)
    return render(request, "training/run_label_preview.html", {
        "version": version, "samples": samples, "warnings": warnings, "error": error, "max_seq_len": max_seq_len})


# ------------------------------------------------------------------------------------------ adapters
def _adapter_or_404(request, pk: int) -> Adapter:
    try:
        return selectors.adapter_get(user=request.user, pk=pk)
    except Adapter.DoesNotExist:
        raise Http404("No such adapter") from None


@role_required(CURATOR)
def adapter_list(request):
    from rest_framework.authtoken.models import Token

    token = Token.objects.filter(user=request.user).first()
    return render(request, "training/adapter_list.html", {
        "adapters": selectors.adapter_list(user=request.user), "token": token,
        "serve_url": request.build_absolute_uri("/v1/chat/completions")})


@role_required(CURATOR)
def adapter_detail(request, pk: int):
    adapter = _adapter_or_404(request, pk)
    if request.method == "POST":  # human evaluation form
        try:
            run_services.human_eval_record(
                adapter=adapter, prompt=request.POST.get("prompt", ""), response=request.POST.get("response", ""),
                relevance=int(request.POST.get("relevance", 0)), accuracy=int(request.POST.get("accuracy", 0)),
                fluency=int(request.POST.get("fluency", 0)), comment=request.POST.get("comment", ""),
                user=request.user)
            messages.success(request, "Evaluation saved.")
        except (ValueError, run_services.RunError) as exc:
            messages.error(request, f"Evaluation not saved: {exc}")
        return redirect("training:adapter_detail", pk=adapter.pk)
    evals = list(adapter.human_evals.all()[:50])
    means = {k: round(sum(getattr(e, k) for e in evals) / len(evals), 2) for k in ("relevance", "accuracy", "fluency")} if evals else {}
    feedback = list(adapter.feedback.select_related("sample", "created_by")[:50])
    return render(request, "training/adapter_detail.html", {"adapter": adapter, "evals": evals, "means": means,
                                                             "scores": range(1, 6), "feedback": feedback})


@require_POST
@role_required(CURATOR)
def adapter_action(request, pk: int, action: str):
    adapter = _adapter_or_404(request, pk)
    try:
        if action == "promote":
            run_services.adapter_promote(adapter=adapter, user=request.user)
            messages.success(request, f"{adapter} is now served.")
        elif action == "rollback":
            prev = run_services.adapter_rollback(collection=adapter.collection, user=request.user)
            messages.success(request, f"Rolled back: {prev} is served again.")
        elif action == "merge":
            job = job_start(kind="training.adapter_merge", title=f"Merge {adapter}", params={"adapter_id": adapter.pk},
                            user=request.user, target=adapter)
            return redirect("job_detail", pk=job.pk)
        else:
            raise Http404("Unknown action")
    except run_services.RunError as exc:
        messages.error(request, str(exc))
    return redirect("training:adapter_list")


@role_required(CURATOR)
def adapter_download(request, pk: int):
    adapter = _adapter_or_404(request, pk)
    merged = request.GET.get("merged") == "1"
    try:
        path = run_services.adapter_archive_zip(adapter=adapter, merged=merged)
    except run_services.RunError as exc:
        raise Http404(str(exc)) from None
    name = f"{adapter.serve_name}{'-merged' if merged else ''}.zip"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)


@require_POST
@role_required(CURATOR)
def api_token_create(request):
    from rest_framework.authtoken.models import Token

    Token.objects.filter(user=request.user).delete()
    Token.objects.create(user=request.user)
    messages.success(request, "New API token created (the old one no longer works).")
    return redirect("training:adapter_list")


# ---------------------------------------------------------------------------------------- playground
@role_required(CURATOR)
def playground(request):
    adapters = selectors.adapter_list(user=request.user).filter(status=Adapter.Status.READY)
    ctx = {"adapters": adapters, "selected": None, "prompt": "", "system": ""}
    sel = request.GET.get("adapter") or request.POST.get("adapter")
    if sel and sel.isdigit():
        ctx["selected"] = adapters.filter(pk=sel).first()
    if ctx["selected"] is None:
        ctx["selected"] = adapters.filter(promoted=True).first() or adapters.first()
    if request.method == "POST" and ctx["selected"] is not None:
        from .serving import ServingError, chat_generate, validate_messages

        adapter = ctx["selected"]
        ctx["prompt"], ctx["system"] = request.POST.get("prompt", ""), request.POST.get("system", "")
        convo = ([{"role": "system", "content": ctx["system"]}] if ctx["system"].strip() else []) + \
                [{"role": "user", "content": ctx["prompt"]}]
        try:
            convo = validate_messages(convo)
            if not ctx["prompt"].strip():
                raise ServingError("Type a prompt.")
            ctx["base_reply"] = chat_generate(base_name=adapter.base_model, adapter=None, conversations=[convo])[0]
            ctx["adapter_reply"] = chat_generate(base_name=adapter.base_model, adapter=adapter, conversations=[convo])[0]
            ctx["conversation_json"] = json.dumps(convo, ensure_ascii=False)
        except ServingError as exc:
            ctx["error"] = str(exc)
    return render(request, "training/playground.html", ctx)


@require_POST
@role_required(CURATOR)
def playground_feedback(request):
    adapter = get_object_or_404(selectors.adapter_list(user=request.user), pk=request.POST.get("adapter"))
    try:
        convo = json.loads(request.POST.get("conversation") or "[]")
        feedback = run_services.feedback_record(adapter=adapter, messages=convo, reply=request.POST.get("reply", ""),
                                                rating=request.POST.get("rating", ""),
                                                correction=request.POST.get("correction", ""), user=request.user)
    except (ValueError, run_services.RunError) as exc:
        messages.error(request, f"Feedback not saved: {exc}")
    else:
        if feedback.sample_id:
            messages.success(request, f"Saved as candidate sample #{feedback.sample_id} (origin feedback) in "
                                      f"{adapter.collection.name}.")
        else:
            messages.success(request, "Recorded as a negative example (not a training sample). Add a correction "
                                      "to turn it into a candidate sample.")
    return redirect(f"{reverse('training:playground')}?adapter={adapter.pk}")


# ------------------------------------------------------------------------------------------ compare
COMPARE_METRICS = ("loss", "bleu", "rouge_l", "token_f1")


@role_required(CURATOR)
def run_compare(request):
    """Runs of one collection side by side (different dataset versions included): did curation help?

    Each run's own numbers come from its own version's held-out split; the common-set comparisons below
    score every chosen adapter on the same samples, which is the fair answer."""
    from curation.models import Collection

    from .models.runs import AdapterComparison
    from .services.compare import COMPARE_GENERATE_DEFAULT, COMPARE_MAX_NEW_TOKENS

    collections = Collection.objects.filter(dataset_versions__runs__status=TrainingRun.Status.SUCCEEDED).distinct()
    name = request.GET.get("collection") or (collections[0].name if collections else "")
    runs = list(selectors.run_list(user=request.user).filter(
        dataset_version__collection__name=name, status=TrainingRun.Status.SUCCEEDED).order_by("id"))
    rows = []
    for r in runs:
        a, b = r.eval_after or {}, r.eval_before or {}
        rows.append({"run": r, "label": f"#{r.pk} {r.dataset_version.name}", "before": b, "after": a,
                     "split": a.get("split") or b.get("split") or "validation"})
    chart = {"labels": [x["label"] for x in rows],
             "metrics": {m: {"before": [x["before"].get(m) for x in rows], "after": [x["after"].get(m) for x in rows]}
                         for m in COMPARE_METRICS}}
    collection = Collection.objects.filter(name=name).first()
    adapters = list(selectors.adapter_list(user=request.user, collection=collection)
                    .filter(status=Adapter.Status.READY).order_by("number")) if collection else []
    versions = list(_versions(request.user).filter(collection=collection).order_by("-number")) if collection else []
    comparisons = []
    for c in (AdapterComparison.objects.filter(collection=collection).select_related("job")[:5] if collection else []):
        entries = sorted(c.results.items(), key=lambda kv: (not kv[0].startswith("base:"), kv[0]))
        comparisons.append({"c": c, "rows": [{"key": k, **v} for k, v in entries], "script_id": f"cmp-data-{c.pk}",
                            "chart": {"labels": [v.get("label", k) for k, v in entries],
                                      "metrics": {m: [v.get(m) for _, v in entries] for m in COMPARE_METRICS}}})
    return render(request, "training/run_compare.html", {
        "collections": collections, "collection": name, "rows": rows, "chart": chart, "adapters": adapters,
        "versions": versions, "comparisons": comparisons, "generate_default": COMPARE_GENERATE_DEFAULT,
        "max_new_tokens_default": COMPARE_MAX_NEW_TOKENS,
        "differing_splits": len({x["run"].dataset_version_id for x in rows}) > 1})


@require_POST
@role_required(CURATOR)
def comparison_create(request):
    """Queue the common-set scoring job for the chosen adapters."""
    from curation.models import Collection

    from .services.compare import comparison_start

    collection = get_object_or_404(Collection, name=request.POST.get("collection", ""))
    back = f"{reverse('training:run_compare')}?collection={collection.name}"
    try:
        ids = [int(x) for x in request.POST.getlist("adapters")]
        generate = int(request.POST.get("generate_samples") or 0)
        max_new = int(request.POST.get("max_new_tokens") or 0)
    except ValueError:
        messages.error(request, "Adapters, answers to generate and max new tokens must be whole numbers.")
        return redirect(back)
    adapters = list(selectors.adapter_list(user=request.user, collection=collection).filter(pk__in=ids))
    source = request.POST.get("source", "")
    version, split, upload = None, "test", None
    if source == "upload":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, "Choose a messages JSONL file to upload, or pick a dataset version's split.")
            return redirect(back)
    else:
        vid, _, split = source.partition(":")
        version = _versions(request.user).filter(pk=int(vid) if vid.isdigit() else -1,
                                                  collection=collection).first()
        if version is None:
            messages.error(request, "Pick the evaluation set: a dataset version's split of this collection, or a file.")
            return redirect(back)
    try:
        comparison = comparison_start(collection=collection, adapters=adapters, dataset_version=version, split=split,
                                      upload=upload, generate_samples=generate, max_new_tokens=max_new,
                                      user=request.user)
    except run_services.RunError as exc:
        messages.error(request, f"Not scored: {exc}")
        return redirect(back)
    messages.success(request, f"Scoring {len(adapters)} adapter(s) on {comparison.source}; the table appears "
                              "below when the job is done.")
    return redirect(back)


# ---------------------------------------------------------------------------------- layer importance
@role_required(CURATOR)
def layer_importance(request, version_id: int):
    version = get_object_or_404(_versions(request.user), pk=version_id)
    if request.method == "POST":
        report = LayerImportance.objects.create(dataset_version=version,
                                                base_model=request.POST.get("base_model") or BUNDLED_NAME,
                                                created_by=request.user)
        job = job_start(kind="training.layer_importance", title=f"Layer importance on {version}",
                        params={"report_id": report.pk}, user=request.user, target=report)
        LayerImportance.objects.filter(pk=report.pk).update(job=job)
        return redirect("training:layer_importance", version_id=version.pk)
    report = selectors.layer_report_list(user=request.user, dataset_version=version).exclude(scores=[]).first()
    pending = selectors.layer_report_list(user=request.user, dataset_version=version).filter(
        scores=[], job__status__in=["queued", "running"]).first()
    failed = selectors.layer_report_list(user=request.user, dataset_version=version).filter(
        scores=[], job__status="failed").first()
    return render(request, "training/run_layers.html", {
        "version": version, "report": report, "pending": pending, "failed": failed,
        "apply_url": (f"{reverse('training:run_new')}?version={version.pk}&layers="
                      + ",".join(map(str, report.suggested_layers))) if report else ""})
