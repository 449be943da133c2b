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
