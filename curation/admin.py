from django.contrib import admin

from refinery.admin import AuditedAdmin

from .models import Collection, Document, Sample, SourceFile


@admin.register(Collection)
class CollectionAdmin(AuditedAdmin):
    list_display = ("name", "title", "domain", "created_by", "created_at")
    search_fields = ("name", "title")


@admin.register(SourceFile)
class SourceFileAdmin(AuditedAdmin):
    list_display = ("name", "collection", "format", "status", "n_documents", "n_samples", "size", "created_at")
    list_filter = ("collection", "format", "status")
    search_fields = ("name", "sha256")


@admin.register(Document)
class DocumentAdmin(AuditedAdmin):
    list_display = ("id", "collection", "title", "language", "char_count", "status")
    list_filter = ("collection", "language", "status")
    search_fields = ("title", "text")
    raw_id_fields = ("source_file",)


@admin.register(Sample)
class SampleAdmin(AuditedAdmin):
    list_display = ("id", "collection", "origin", "method", "intent", "domain", "split")
    list_filter = ("collection", "origin", "split", "domain")
    search_fields = ("intent", "external_id")
    raw_id_fields = ("parent", "source_document", "source_file")


# ---- pipelines, runs (engine area)
from .models import PipelineConfig, PipelineRun  # noqa: E402


@admin.register(PipelineConfig)
class PipelineConfigAdmin(AuditedAdmin):
    list_display = ("name", "collection", "updated_at")
    list_filter = ("collection",)


@admin.register(PipelineRun)
class PipelineRunAdmin(AuditedAdmin):
    list_display = ("id", "collection", "config_name", "status", "executor", "n_input", "n_output", "n_rejected", "created_at")
    list_filter = ("collection", "status", "executor")
    raw_id_fields = ("config", "job")
