"""Curation models: quality examples and trained quality classifiers (used by the quality step)."""
from __future__ import annotations

from django.db import models

from refinery.models import AuditedModel

__all__: list[str] = ["QualityExample", "QualityClassifier"]


class QualityExample(AuditedModel):
    """A curator's verdict on one document: an accepted or rejected example for the classifier."""

    class Label(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    collection = models.ForeignKey("curation.Collection", on_delete=models.CASCADE, related_name="quality_examples")
    document = models.ForeignKey("curation.Document", on_delete=models.CASCADE, related_name="quality_examples")
    label = models.CharField(max_length=16, choices=Label.choices)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["document"], name="uniq_quality_example_per_document")]

    def __str__(self) -> str:
        return f"{self.document_id}: {self.label}"


class QualityClassifier(AuditedModel):
    """A trained classifier file (joblib, under DATA_DIR/quality/) and its cross-validated accuracy."""

    collection = models.ForeignKey("curation.Collection", on_delete=models.CASCADE, related_name="quality_classifiers")
    path = models.CharField(max_length=500, help_text="Absolute path of the .joblib file.")
    n_accepted = models.PositiveIntegerField()
    n_rejected = models.PositiveIntegerField()
    cv_scores = models.JSONField(default=list)
    cv_accuracy = models.FloatField()
    is_active = models.BooleanField(default=True, help_text="The one the quality step uses for this collection.")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.collection_id} classifier {self.pk} ({self.cv_accuracy:.2f})"
