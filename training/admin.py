from django.contrib import admin

# ---- datasets
from .models import DatasetVersion, EvaluationSet  # noqa: E402


@admin.register(DatasetVersion)
class DatasetVersionAdmin(admin.ModelAdmin):
    """Read-only: versions are immutable; create them with the Datasets page, the API or export_dataset."""

    list_display = ("collection", "number", "status", "n_train", "n_validation", "n_test", "created_at", "created_by")
    list_filter = ("status", "collection")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EvaluationSet)
class EvaluationSetAdmin(admin.ModelAdmin):
    list_display = ("name", "n_items", "original_name", "created_at")
    readonly_fields = ("sha256", "n_items", "path", "original_name")


# ---- training runs, adapters
from refinery.admin import AuditedAdmin  # noqa: E402

from .models import (Adapter, AdapterComparison, HumanEvaluation, LayerImportance, PlaygroundFeedback,  # noqa: E402
                     TrainingRun)


@admin.register(TrainingRun)
class TrainingRunAdmin(AuditedAdmin):
    list_display = ("id", "dataset_version", "base_model", "status", "steps_done", "total_steps", "tokens_per_second", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("dataset_version", "job")


@admin.register(Adapter)
class AdapterAdmin(AuditedAdmin):
    list_display = ("collection", "number", "base_model", "method", "status", "promoted", "created_at")
    list_filter = ("status", "promoted", "collection")


@admin.register(HumanEvaluation)
class HumanEvaluationAdmin(AuditedAdmin):
    list_display = ("adapter", "relevance", "accuracy", "fluency", "created_by", "created_at")


@admin.register(LayerImportance)
class LayerImportanceAdmin(AuditedAdmin):
    list_display = ("dataset_version", "base_model", "n_samples", "created_at")
    raw_id_fields = ("dataset_version", "job")


@admin.register(PlaygroundFeedback)
class PlaygroundFeedbackAdmin(AuditedAdmin):
    list_display = ("adapter", "rating", "sample", "created_by", "created_at")
    list_filter = ("rating",)
    raw_id_fields = ("adapter", "sample")


@admin.register(AdapterComparison)
class AdapterComparisonAdmin(AuditedAdmin):
    list_display = ("collection", "source", "n_samples", "created_at")
    raw_id_fields = ("dataset_version", "job")
