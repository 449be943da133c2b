"""Annotation data: labelling projects, assignments, annotations, agreement, adjudication."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from refinery.models import AuditedModel

DEFAULT_AGREEMENT_THRESHOLD = 0.8  # the review gate: items / projects below it go to the review queue


class LabelingProject(AuditedModel):
    """A labelling project over the samples (or documents) of a collection, with one label scheme."""

    class Target(models.TextChoices):
        SAMPLE = "sample", "Samples"
        DOCUMENT = "document", "Documents"

    name = models.CharField(max_length=200)
    collection = models.ForeignKey("curation.Collection", on_delete=models.CASCADE, related_name="labeling_projects")
    target = models.CharField(max_length=16, choices=Target.choices, default=Target.SAMPLE)
    instructions = models.TextField(blank=True)
    scheme = models.JSONField(help_text="Label scheme (annotation.schemes.Scheme.to_dict()).")
    overlap = models.PositiveSmallIntegerField(default=2, help_text="Annotators per item.")
    agreement_threshold = models.FloatField(default=DEFAULT_AGREEMENT_THRESHOLD)
    annotators = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="labeling_projects")
    # Label Studio link (empty until the first push)
    ls_project_id = models.PositiveIntegerField(null=True, blank=True)
    ls_webhook_id = models.PositiveIntegerField(null=True, blank=True)
    ls_last_pull_at = models.DateTimeField(null=True, blank=True)
    # bumped by every annotation write of the project (services): what the cached gate value depends on
    labels_changed_at = models.DateTimeField(null=True, blank=True)
    # A curator's decision to use the project although its agreement is below the gate (see
    # selectors.project_gate): who, when, at which agreement value and why. Empty = no such decision.
    gate_accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="+")
    gate_accepted_at = models.DateTimeField(null=True, blank=True)
    gate_accepted_value = models.FloatField(null=True, blank=True)
    gate_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def parsed_scheme(self):
        from .schemes import Scheme

        return Scheme.from_dict(self.scheme)


class Item(AuditedModel):
    """One sample or document inside a project (optionally a gold item with a known label)."""

    project = models.ForeignKey(LabelingProject, on_delete=models.CASCADE, related_name="items")
    sample = models.ForeignKey("curation.Sample", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="label_items")
    document = models.ForeignKey("curation.Document", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="label_items")
    position = models.PositiveIntegerField(default=0)
    is_gold = models.BooleanField(default=False)
    gold_label = models.JSONField(null=True, blank=True)
    ls_task_id = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    ls_data_hash = models.CharField(max_length=64, blank=True, help_text="Hash of the data last pushed.")

    class Meta:
        ordering = ["project", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "sample"], name="uniq_item_sample"),
            models.UniqueConstraint(fields=["project", "document"], name="uniq_item_document"),
        ]

    def __str__(self) -> str:
        return f"Item {self.pk} of {self.project_id}"


class Assignment(AuditedModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="label_assignments")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["item__position", "item_id"]
        constraints = [models.UniqueConstraint(fields=["item", "annotator"], name="uniq_assignment")]


class Annotation(AuditedModel):
    class Source(models.TextChoices):
        BUILTIN = "builtin", "Built-in UI"
        LABELSTUDIO = "labelstudio", "Label Studio"
        API = "api", "API"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="label_annotations")
    label = models.JSONField()
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.BUILTIN)
    lead_time = models.FloatField(null=True, blank=True, help_text="Seconds spent on the item.")
    ls_annotation_id = models.PositiveIntegerField(null=True, blank=True, unique=True)
    # Set when Label Studio's current version of this annotation could not be taken over (it became
    # invalid, or its user no longer matches ours): the label here is the last good one, kept, not deleted.
    stale_reason = models.TextField(blank=True)
    stale_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["item_id", "annotator_id"]
        constraints = [models.UniqueConstraint(fields=["item", "annotator"], name="uniq_annotation")]


class Adjudication(AuditedModel):
    """The final label of an item, with who decided and how."""

    class Method(models.TextChoices):
        MAJORITY = "majority", "Majority vote"
        CURATOR = "curator", "Curator decision"
        GOLD = "gold", "Gold label"

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="adjudication")
    final_label = models.JSONField()
    method = models.CharField(max_length=16, choices=Method.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    agreement = models.FloatField(null=True, blank=True)
    note = models.TextField(blank=True)
    automatic = models.BooleanField(default=False, help_text="Made by the bulk majority vote, not on this item's "
                                                             "review page (does not count while the project is "
                                                             "below the agreement gate).")


class WebhookEvent(models.Model):
    """Every Label Studio webhook call as received (kept so nothing is lost if processing fails)."""

    received_at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=64)
    payload = models.JSONField()
    processed = models.BooleanField(default=False)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
