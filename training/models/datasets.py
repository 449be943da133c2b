"""Dataset versions (the contract between curation and training) and training runs / adapters."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models

from refinery.models import AuditedModel

SPLITS = ("train", "validation", "test")


class VersionDeleteError(ValueError):
    """Dataset versions are never deleted: training runs, adapters and manifests refer to them by name."""


class DatasetVersionQuerySet(models.QuerySet):
    def delete(self):
        if self.exists():
            raise VersionDeleteError("Dataset versions cannot be deleted: they are immutable records that runs, "
                                     "adapters and later versions refer to by name. Build a new version instead.")
        return super().delete()


class DatasetVersion(AuditedModel):
    """An immutable, versioned instruction dataset built from a collection's samples.

    Files live under ``REFINERY_DATA_DIR / path``. The canonical data, read by the trainer, is
    ``data/<split>.jsonl`` for split in train/validation/test — one JSON object per line in the
    OpenAI messages format: ``{"id": "<sample id>", "messages": [{"role": ..., "content": ...}], "meta": {...}}``.
    ``messages``: optional leading system message(s), then alternating user/assistant turns starting with
    user and ending with assistant (only ``role`` and ``content`` keys; PII placeholders such as ``[PERSON_1]``
    as the pipeline wrote them). ``meta``: sample_id, origin, method, domain, language, intent, label,
    agreement, quality, source_file, source_file_name, source_document, pipeline_run, parent, group.
    Rows are in a seeded shuffled order. Beside them: ``alpaca/``, ``sharegpt/``, ``parquet/`` (the same rows
    in other formats), ``lineage.jsonl``, ``dataset_info.json`` (LLaMA-Factory), ``README.md`` (dataset card)
    and ``manifest.json`` (counts, distributions, spec, lineage summary, sha256 of every file).
    Written once (status READY), never changed (``save`` refuses; only ``notes`` may change), never deleted
    (``delete`` refuses, for one row and for querysets), so a number names one dataset forever.
    """

    class Status(models.TextChoices):
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    collection = models.ForeignKey("curation.Collection", on_delete=models.PROTECT, related_name="dataset_versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BUILDING, db_index=True)
    spec = models.JSONField(default=dict, blank=True, help_text="Filter spec and split settings it was built with.")
    manifest = models.JSONField(default=dict, blank=True)
    path = models.CharField(max_length=500, blank=True, help_text="Folder relative to REFINERY_DATA_DIR.")
    content_hash = models.CharField(max_length=64, blank=True)
    n_train = models.PositiveIntegerField(default=0)
    n_validation = models.PositiveIntegerField(default=0)
    n_test = models.PositiveIntegerField(default=0)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["collection__name", "-number"]
        constraints = [models.UniqueConstraint(fields=["collection", "number"], name="uniq_version_number")]

    objects = DatasetVersionQuerySet.as_manager()

    IMMUTABLE_FIELDS = ("collection_id", "number", "spec", "manifest", "path", "content_hash", "n_train",
                        "n_validation", "n_test", "parent_id")

    def __str__(self) -> str:
        return f"{self.collection.name} {self.name}"

    def save(self, *args, **kwargs):
        """A READY version never changes (only its notes may); its files are content-hashed in the manifest."""
        if self.pk is not None and not self._state.adding:
            stored = type(self).objects.filter(pk=self.pk, status=self.Status.READY).values(*self.IMMUTABLE_FIELDS, "status").first()
            if stored is not None:
                changed = [f for f in (*self.IMMUTABLE_FIELDS, "status") if stored[f] != getattr(self, f)]
                if changed:
                    raise ValueError(f"{self} is immutable; cannot change {', '.join(changed)}. Create a new version.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        """Refused: a version's number is never freed for reuse and its folder never changes."""
        raise VersionDeleteError(f"{self} cannot be deleted: dataset versions are immutable and their numbers are "
                                 "never reused. Build a new version instead.")

    @property
    def name(self) -> str:
        return f"v{self.number}"

    @property
    def folder(self) -> Path:
        return Path(settings.DATA_DIR) / self.path

    def split_file(self, split: str) -> Path:
        """Canonical messages JSONL of one split (the trainer's input)."""
        if split not in SPLITS:
            raise ValueError(f"Unknown split {split!r}; valid: {', '.join(SPLITS)}")
        return self.folder / "data" / f"{split}.jsonl"

    @property
    def zip_file(self) -> Path:
        """The downloadable zip of the version folder (built once, on first download)."""
        return self.folder.with_name(f"{self.folder.name}.zip")

    @property
    def n_total(self) -> int:
        return self.n_train + self.n_validation + self.n_test


class EvaluationSet(AuditedModel):
    """Texts the user evaluates on; dataset versions exclude training samples that overlap them.

    The uploaded file (JSONL with ``messages`` or prompt/response-style fields, or plain text with one
    item per line) is normalised once into ``texts.jsonl`` (``{"text": ...}`` per line) under
    ``REFINERY_DATA_DIR / path``.
    """

    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    original_name = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField(max_length=64)
    n_items = models.PositiveIntegerField(default=0)
    path = models.CharField(max_length=500, help_text="texts.jsonl relative to REFINERY_DATA_DIR.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def file(self) -> Path:
        return Path(settings.DATA_DIR) / self.path
