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


# ---- pipeline outputs (read-only: runs write them, all or nothing)
from .models import RunOutput, RunRejection  # noqa: E402


class _RunRowAdmin(AuditedAdmin):
    raw_id_fields = ("run", "document", "sample")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RunOutput)
class RunOutputAdmin(_RunRowAdmin):
    list_display = ("id", "run", "document", "sample", "created_at")
    list_filter = ("run__collection",)


@admin.register(RunRejection)
class RunRejectionAdmin(_RunRowAdmin):
    list_display = ("id", "run", "record_id", "step", "reason", "duplicate_of")
    list_filter = ("step", "run__collection")
    search_fields = ("record_id", "reason")


# ---- glossary, instruction templates, entity lists, quality classifier
from .models import EntityList, GlossaryTerm, InstructionTemplate, QualityClassifier, QualityExample  # noqa: E402


@admin.register(GlossaryTerm)
class GlossaryTermAdmin(AuditedAdmin):
    list_display = ("canonical", "collection", "note", "updated_at")
    list_filter = ("collection",)
    search_fields = ("canonical", "note")


@admin.register(InstructionTemplate)
class InstructionTemplateAdmin(AuditedAdmin):
    list_display = ("name", "collection", "intent_field", "updated_at")
    list_filter = ("collection",)
    search_fields = ("name", "instruction")


@admin.register(EntityList)
class EntityListAdmin(AuditedAdmin):
    list_display = ("entity_type", "collection", "updated_at")
    list_filter = ("collection",)
    search_fields = ("entity_type",)


@admin.register(QualityExample)
class QualityExampleAdmin(AuditedAdmin):
    list_display = ("document", "collection", "label", "updated_by", "updated_at")
    list_filter = ("collection", "label")
    raw_id_fields = ("document",)


@admin.register(QualityClassifier)
class QualityClassifierAdmin(AuditedAdmin):
    list_display = ("id", "collection", "cv_accuracy", "n_accepted", "n_rejected", "is_active", "created_at")
    list_filter = ("collection", "is_active")
    readonly_fields = AuditedAdmin.readonly_fields + ("path", "cv_scores", "cv_accuracy", "n_accepted", "n_rejected")
