"""Training models: runs (one trainer subprocess each), adapters (versioned registry), human evaluations,
layer-importance reports, playground feedback and common-set adapter comparisons."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from refinery.models import AuditedModel

__all__ = ["TrainingRun", "Adapter", "HumanEvaluation", "LayerImportance", "PlaygroundFeedback",
           "AdapterComparison"]


class TrainingRun(AuditedModel):
    """One training of a base model on a dataset version. Files live in ``DATA_DIR / run_dir``:
    config.json (what the subprocess reads), log.jsonl (what the run page polls), result.json,
    checkpoints/ and adapter/."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    dataset_version = models.ForeignKey("training.DatasetVersion", on_delete=models.PROTECT, related_name="runs")
    base_model = models.CharField(max_length=500, help_text="Registry name, local folder or hub id.")
    config = models.JSONField(default=dict, help_text="User settings (the trainer's RunConfig minus paths).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    run_dir = models.CharField(max_length=500, blank=True, help_text="Relative to REFINERY_DATA_DIR.")
    job = models.ForeignKey("refinery.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resume_count = models.PositiveIntegerField(default=0)
    exit_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    log_tail = models.TextField(blank=True, help_text="Last lines of the trainer's output on failure.")
    eval_before = models.JSONField(default=dict, blank=True)
    eval_after = models.JSONField(default=dict, blank=True)
    tokens_per_second = models.FloatField(null=True, blank=True)
    steps_done = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Run #{self.pk} on {self.dataset_version}"

    @property
    def folder(self) -> Path:
        return Path(settings.DATA_DIR) / self.run_dir

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class Adapter(AuditedModel):
    """A trained adapter, versioned per collection (v1, v2, …), with its lineage and metrics.

    Only the last N (``ADAPTER_KEEP``) unpromoted adapters keep their files; older ones are archived
    (row kept for lineage, files removed). One adapter per collection can be promoted (served)."""

    class Status(models.TextChoices):
        READY = "ready", "Ready"
        ARCHIVED = "archived", "Archived (files removed)"

    run = models.OneToOneField(TrainingRun, on_delete=models.CASCADE, related_name="adapter")
    collection = models.ForeignKey("curation.Collection", on_delete=models.PROTECT, related_name="adapters")
    number = models.PositiveIntegerField()
    path = models.CharField(max_length=500, help_text="Adapter folder relative to REFINERY_DATA_DIR.")
    base_model = models.CharField(max_length=500)
    method = models.CharField(max_length=16, default="lora")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.READY, db_index=True)
    promoted = models.BooleanField(default=False, db_index=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    lineage = models.JSONField(default=dict, blank=True, help_text="Dataset version, base model, config, parent adapter.")
    merged_path = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["collection__name", "-number"]
        constraints = [models.UniqueConstraint(fields=["collection", "number"], name="uniq_adapter_number")]

    def __str__(self) -> str:
        return f"{self.collection.name} adapter {self.name}"

    @property
    def name(self) -> str:
        return f"a{self.number}"

    @property
    def serve_name(self) -> str:
        """The ``model`` value that selects this adapter on /v1/chat/completions."""
        return f"{self.collection.name}-{self.name}"

    @property
    def folder(self) -> Path:
        return Path(settings.DATA_DIR) / self.path


class HumanEvaluation(AuditedModel):
    """One rater's 1–5 scores (relevance, accuracy, fluency) of one adapter answer."""

    adapter = models.ForeignKey(Adapter, on_delete=models.CASCADE, related_name="human_evals")
    prompt = models.TextField()
    response = models.TextField()
    relevance = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    accuracy = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    fluency = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]


class LayerImportance(AuditedModel):
    """Gradient sensitivity per decoder layer of a base model on a sample of a dataset version."""

    dataset_version = models.ForeignKey("training.DatasetVersion", on_delete=models.CASCADE, related_name="layer_reports")
    base_model = models.CharField(max_length=500)
    n_samples = models.PositiveIntegerField(default=0)
    scores = models.JSONField(default=list, help_text="One score per layer, in layer order.")
    suggested_layers = models.JSONField(default=list)
    job = models.ForeignKey("refinery.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-id"]


class PlaygroundFeedback(AuditedModel):
    """One thumbs up/down on an adapter's playground answer.

    A thumbs-up, or any rating with a correction, also creates a candidate Sample (origin feedback) whose
    answer is the approved reply or the correction. A thumbs-down without a correction is kept here only,
    as a negative example (``sample`` empty): the rejected reply never becomes a training target."""

    class Rating(models.TextChoices):
        UP = "up", "Thumbs up"
        DOWN = "down", "Thumbs down"

    adapter = models.ForeignKey(Adapter, on_delete=models.CASCADE, related_name="feedback")
    messages = models.JSONField(help_text="The conversation up to and including the user's message.")
    reply = models.TextField(help_text="What the adapter answered.")
    rating = models.CharField(max_length=8, choices=Rating.choices)
    correction = models.TextField(blank=True)
    sample = models.ForeignKey("curation.Sample", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", help_text="The candidate sample it created (none for a bare thumbs-down).")

    class Meta:
        ordering = ["-id"]

    @property
    def is_negative(self) -> bool:
        return self.sample_id is None


class AdapterComparison(AuditedModel):
    """Several adapters of one collection scored on one common evaluation set (a job), so their numbers
    can be compared: the test split of one chosen dataset version, or an uploaded messages JSONL file."""

    collection = models.ForeignKey("curation.Collection", on_delete=models.CASCADE, related_name="adapter_comparisons")
    adapter_ids = models.JSONField(default=list)
    dataset_version = models.ForeignKey("training.DatasetVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    split = models.CharField(max_length=16, blank=True)
    path = models.CharField(max_length=500, help_text="The evaluation file, relative to REFINERY_DATA_DIR.")
    source = models.CharField(max_length=300, help_text="What the set is, for people.")
    n_samples = models.PositiveIntegerField(default=0)
    generate_samples = models.PositiveIntegerField(default=16)
    max_new_tokens = models.PositiveIntegerField(default=64)
    results = models.JSONField(default=dict, blank=True, help_text="'base:<name>' or adapter id → metrics.")
    job = models.ForeignKey("refinery.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-id"]

    @property
    def file(self) -> Path:
        return Path(settings.DATA_DIR) / self.path
