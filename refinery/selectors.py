"""Reads for core objects. Row rules: curators see every job; others only their own."""
from django.db.models import QuerySet

from .models import Job
from .roles import is_curator


def job_list(*, user, kind: str | None = None, status: str | None = None) -> QuerySet[Job]:
    qs = Job.objects.select_related("created_by")
    if not is_curator(user):
        qs = qs.filter(created_by=user)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    return qs


def job_get(*, user, pk: int) -> Job:
    return job_list(user=user).get(pk=pk)
