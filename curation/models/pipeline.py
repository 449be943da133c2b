"""Curation models: pipeline configs, runs, per-record outputs and rejections.

A run is non-destructive: documents and samples keep their ingested text; the run stores its own
output (text or messages) and attributes per record, plus one row per rejected record. A run's rows
are written in one transaction when it finishes, so a failed or cancelled run leaves no partial rows
and earlier runs stay as they were.
"""
from __future__ import annotations

from django.db import models

from refinery.models import AuditedModel

__all__ = ["PipelineConfig", "PipelineRun", "RunOutput", "RunRejection"]


class PipelineConfig(AuditedModel):
    """A named, ordered list of steps with options, saved per collection.

    ``steps`` = [{"step": "normalize", "options": {...}}, ...] — validated by
    ``curation.pipeline.services.pipeline_config_validate`` (YAML form: see ``config_yaml``).
    """

    collection = models.ForeignKey("curation.Collection", on_delete=models.CASCADE, related_name="pipeline_configs")
    name = models.SlugField(max_length=100)
    description = models.TextField(blank=True)
    steps = models.JSONField(default=list)

    class Meta:
        ordering = ["collection", "name"]
        constraints = [models.UniqueConstraint(fields=["collection", "name"], name="uniq_pipeline_config_name")]

    def __str__(self) -> str:
        return f"{self.collection}/{self.name}"

    @property
    def step_names(self) -> list[str]:
        return [s["step"] for s in self.steps]


class PipelineRun(AuditedModel):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    collection = models.ForeignKey("curation.Collection", on_delete=models.CASCADE, related_name="pipeline_runs")
    config = models.ForeignKey(PipelineConfig, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    config_name = models.CharField(max_length=100, blank=True)
    steps = models.JSONField(default=list, help_text="Snapshot of the config's steps when the run started.")
    executor = models.CharField(max_length=16, default="local")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    job = models.ForeignKey("refinery.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    report = models.JSONField(default=dict, blank=True, help_text="Engine report: per-step counts, timings, counters.")
    charts = models.JSONField(default=dict, blank=True, help_text="Dashboard aggregates (languages, lengths, PII examples).")
    n_input = models.PositiveIntegerField(default=0)
    n_output = models.PositiveIntegerField(default=0)
    n_rejected = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["collection", "status"])]

    def __str__(self) -> str:
        return f"Run #{self.pk} of {self.config_name or 'pipeline'} on {self.collection}"

    @property
    def step_names(self) -> list[str]:
        return [s["step"] for s in self.steps]

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class RunOutput(AuditedModel):
    """A kept record of a run: its output text (documents) or messages (samples) and step attributes."""

    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="outputs")
    document = models.ForeignKey("curation.Document", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    sample = models.ForeignKey("curation.Sample", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(blank=True)
    messages = models.JSONField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["run", "document"]), models.Index(fields=["run", "sample"])]


class RunRejection(AuditedModel):
    """A record a run dropped: which step, why, and for duplicates the record it duplicates."""

    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="rejections")
    document = models.ForeignKey("curation.Document", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    sample = models.ForeignKey("curation.Sample", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    record_id = models.CharField(max_length=64, help_text="d<document id> or s<sample id>.")
    step = models.CharField(max_length=64, db_index=True)
    reason = models.CharField(max_length=200, db_index=True)
    duplicate_of = models.CharField(max_length=64, blank=True, db_index=True, help_text="Record id of the kept record.")
    text = models.TextField(blank=True, help_text="The record's text as it was when the step dropped it.")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["run", "step", "reason"])]
