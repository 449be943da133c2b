from django.contrib import admin

from .models import AuditEvent, Job


class AuditedAdmin(admin.ModelAdmin):
    """Base admin for AuditedModel subclasses: shows and fills the audit columns."""

    readonly_fields = ("created_at", "created_by", "updated_at", "updated_by")


@admin.register(Job)
class JobAdmin(AuditedAdmin):
    list_display = ("id", "kind", "title", "status", "progress_done", "progress_total", "created_by", "created_at")
    list_filter = ("kind", "status")
    search_fields = ("title",)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "user", "action", "model", "object_id", "summary")
    list_filter = ("action", "model")
    search_fields = ("summary", "object_id")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
