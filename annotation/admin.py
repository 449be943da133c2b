from django.contrib import admin

from .models import Adjudication, Annotation, Assignment, Item, LabelingProject, WebhookEvent


@admin.register(LabelingProject)
class LabelingProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "collection", "target", "overlap", "agreement_threshold", "gate_accepted_at",
                    "ls_project_id", "created_at")
    search_fields = ("name",)


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "sample", "document", "is_gold", "ls_task_id")
    list_filter = ("project", "is_gold")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("id", "item", "annotator", "status")
    list_filter = ("status", "annotator")


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ("id", "item", "annotator", "source", "lead_time", "stale_reason", "updated_at")
    list_filter = ("source", "annotator")


@admin.register(Adjudication)
class AdjudicationAdmin(admin.ModelAdmin):
    list_display = ("item", "method", "automatic", "decided_by", "agreement", "updated_at")
    list_filter = ("method", "automatic")


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "action", "processed", "error")
    list_filter = ("action", "processed")
