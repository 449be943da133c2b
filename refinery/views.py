from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import roles, selectors
from .jobs import job_cancel
from .models import Job


def home(request):
    """Landing page: annotators go to their queue; curators get an overview."""
    if roles.user_role(request.user) == roles.ANNOTATOR:
        return redirect("annotation:home")
    recent_jobs = selectors.job_list(user=request.user)[:8]
    return render(request, "refinery/home.html", {"recent_jobs": recent_jobs})


def job_list(request):
    roles.require_role(request.user, roles.ANNOTATOR)
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


@login_not_required
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")
