"""Shared models: the audit mixin every domain model uses, the audit log, and background jobs."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .audit import current_user


class AuditedModel(models.Model):
    """Who created / last changed a row and when; every save also writes an AuditEvent.

    Bulk writes (``bulk_create``/``update``) skip per-row events on purpose — services that do
    bulk work record one summary event with ``audit_log`` instead.
    """

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", editable=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", editable=False,
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        user = current_user()
        creating = self._state.adding
        if user is not None:
            if creating and self.created_by_id is None:
                self.created_by = user
            self.updated_by = user
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = set(kwargs["update_fields"]) | {"updated_by", "updated_at"}
        super().save(*args, **kwargs)
        audit_log(obj=self, action="create" if creating else "update", user=user or self.updated_by)

    def delete(self, *args, **kwargs):
        audit_log(obj=self, action="delete", user=current_user())
        return super().delete(*args, **kwargs)


class AuditEvent(models.Model):
    """One row per create / update / delete of an audited object (and per bulk operation)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=32)
    model = models.CharField(max_length=100, db_index=True)
    object_id = models.CharField(max_length=64, db_index=True)
    summary = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["model", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user or '-'} {self.action} {self.model}#{self.object_id}"


def audit_log(*, obj, action: str, user=None, summary: str = "", details: dict | None = None) -> AuditEvent:
    return AuditEvent.objects.create(
        user=user if (user is not None and getattr(user, "pk", None)) else current_user(),
        action=action,
        model=obj._meta.label_lower,
        object_id=str(obj.pk),
        summary=(summary or str(obj))[:300],
        details=details or {},
    )


class Job(AuditedModel):
    """A long operation (ingest, pipeline run, sync, export, training) with progress and result.

    Created by `refinery.jobs.job_start`; the work runs in the task worker and reports through
    `refinery.jobs.JobContext`. The jobs page polls it.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=64, db_index=True)
    title = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(null=True, blank=True)
    stage = models.CharField(max_length=200, blank=True)
    messages = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    task_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Who runs it ("host:pid:start" of the worker or CLI process) and when it last reported; a running
    # job whose heartbeat is old and whose worker is gone is failed by refinery.jobs.job_reap_stale.
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Optional link to the object the job works on (a collection, a pipeline run, a training run).
    target_model = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def percent(self) -> float | None:
        if not self.progress_total:
            return None
        return min(100.0, 100.0 * self.progress_done / self.progress_total)

    @property
    def duration(self):
        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at
