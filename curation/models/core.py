"""Curation data: collections of ingested source files, their documents, and instruction samples.

Ingested text is never overwritten: pipeline runs store their output beside it (see pipeline models).
"""
from __future__ import annotations

from django.db import models

from refinery.models import AuditedModel


class Collection(AuditedModel):
    name = models.SlugField(max_length=100, unique=True, help_text="Short name used in the CLI, e.g. 'demo'.")
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    domain = models.CharField(max_length=50, blank=True, help_text="medical, finance, legal, customer-service …")
    settings = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SourceFile(AuditedModel):
    """A raw file as uploaded, kept on disk by content hash; documents and samples link back to it."""

    class Status(models.TextChoices):
        INGESTED = "ingested", "Ingested"
        PARTIAL = "partial", "Ingested with errors"
        ERROR = "error", "Error"

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="source_files")
    name = models.CharField(max_length=500, help_text="Original file name (path inside an archive or folder).")
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()
    format = models.CharField(max_length=16)  # txt md html pdf docx jsonl csv
    encoding = models.CharField(max_length=32, blank=True)
    stored_path = models.CharField(max_length=500, help_text="Relative to REFINERY_DATA_DIR.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INGESTED)
    error = models.TextField(blank=True)
    report = models.JSONField(default=dict, blank=True, help_text="Per-line errors and counts.")
    n_documents = models.PositiveIntegerField(default=0)
    n_samples = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["collection", "sha256"], name="uniq_file_per_collection")]

    def __str__(self) -> str:
        return self.name


class Document(AuditedModel):
    """One text unit from a source file (a whole txt/pdf/docx/html file, or one jsonl/csv record)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXCLUDED = "excluded", "Excluded"

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="documents")
    source_file = models.ForeignKey(SourceFile, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents")
    record_index = models.PositiveIntegerField(default=0, help_text="Line/row number in the source file (1-based) or 0.")
    external_id = models.CharField(max_length=200, blank=True, help_text="The record's own id, if it had one.")
    title = models.CharField(max_length=500, blank=True)
    text = models.TextField()
    content_hash = models.CharField(max_length=64, db_index=True, help_text="sha256 of the text.")
    language = models.CharField(max_length=16, blank=True, db_index=True)
    char_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    meta = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["source_file", "record_index"], name="uniq_doc_per_record"),
        ]
        indexes = [models.Index(fields=["collection", "status"])]

    def __str__(self) -> str:
        return self.title or self.text[:60]


class Sample(AuditedModel):
    """An instruction sample: a list of chat messages plus metadata.

    ``messages`` = [{"role": "system"|"user"|"assistant", "content": str}, ...]. Samples come from
    ingested jsonl/csv (origin ingested), builders over documents (built), augmentation of another
    sample (augmented, with parent + method) or playground feedback (feedback).
    """

    class Origin(models.TextChoices):
        INGESTED = "ingested", "Ingested"
        BUILT = "built", "Built"
        AUGMENTED = "augmented", "Augmented"
        FEEDBACK = "feedback", "Feedback"

    class Split(models.TextChoices):
        NONE = "", "Unassigned"
        TRAIN = "train", "Train"
        VALIDATION = "validation", "Validation"
        TEST = "test", "Test"

    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="samples")
    messages = models.JSONField()
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.INGESTED, db_index=True)
    method = models.CharField(max_length=64, blank=True, help_text="Builder or augmentation method.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    source_document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.SET_NULL, related_name="samples")
    source_file = models.ForeignKey(SourceFile, null=True, blank=True, on_delete=models.SET_NULL, related_name="samples")
    record_index = models.PositiveIntegerField(default=0)
    external_id = models.CharField(max_length=200, blank=True)
    intent = models.CharField(max_length=100, blank=True, db_index=True)
    entities = models.JSONField(default=dict, blank=True)
    domain = models.CharField(max_length=50, blank=True, db_index=True)
    language = models.CharField(max_length=16, blank=True, db_index=True)
    split = models.CharField(max_length=16, choices=Split.choices, blank=True, default="", db_index=True,
                             help_text="Pinned split (held-out samples are never augmented).")
    content_hash = models.CharField(max_length=64, db_index=True)
    meta = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["collection", "origin"])]

    def __str__(self) -> str:
        first = next((m.get("content", "") for m in self.messages if m.get("role") == "user"), "")
        return first[:60] or f"Sample {self.pk}"
