from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import roles, selectors, tokens
from .jobs import job_cancel, job_reap_if_stale, job_reap_stale
from .models import Job


def home(request):
    """Landing page: annotators go to their queue; curators get an overview; users without a role
    get a 403 page that says so (and how to log out)."""
    role = roles.user_role(request.user)
    if role is None:
        return render(request, "refinery/no_role.html", status=403)
    if role == roles.ANNOTATOR:
        return redirect("annotation:home")
    recent_jobs = selectors.job_list(user=request.user)[:8]
    return render(request, "refinery/home.html", {"recent_jobs": recent_jobs})


def job_list(request):
    roles.require_role(request.user, roles.ANNOTATOR)
    job_reap_stale()  # jobs left running by a dead worker show as failed, not as running forever
    qs = selectors.job_list(user=request.user, kind=request.GET.get("kind"), status=request.GET.get("status"))
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    template = "refinery/_job_rows.html" if request.htmx_partial else "refinery/job_list.html"
    return render(request, template, {"page": page, "jobs": page.object_list, "statuses": Job.Status.choices})


def job_detail(request, pk: int):
    roles.require_role(request.user, roles.ANNOTATOR)
    try:
        job = selectors.job_get(user=request.user, pk=pk)
    except Job.DoesNotExist:
        raise Http404("No such job")
    job = job_reap_if_stale(job=job)
    template = "refinery/_job_status.html" if request.htmx_partial else "refinery/job_detail.html"
    return render(request, template, {"job": job})


@require_POST
def job_cancel_view(request, pk: int):
    roles.require_role(request.user, roles.ANNOTATOR)
    try:
        job = selectors.job_get(user=request.user, pk=pk)
    except Job.DoesNotExist:
        raise Http404("No such job")
    if not (roles.is_curator(request.user) or job.created_by_id == request.user.id):
        roles.require_role(request.user, roles.CURATOR)
    job = job_cancel(job=job)
    if request.htmx_partial:
        return render(request, "refinery/_job_status.html", {"job": job})
    messages.info(request, f"Cancel requested for “{job.title}”.")
    return redirect("job_detail", pk=job.pk)


@require_http_methods(["GET", "POST"])
def api_token(request):
    """The user's own API token: shown on GET, replaced on POST (any logged-in user)."""
    if request.method == "POST":
        tokens.api_token_rotate(user=request.user)
        messages.success(request, "New API token created; the old one no longer works.")
        return redirect("api_token")
    return render(request, "refinery/api_token.html", {"token": tokens.api_token_get(user=request.user)})


@login_not_required
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")
