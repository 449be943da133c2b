from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class RefineryConfig(AppConfig):
    """Project-wide infrastructure: audit trail, roles, background jobs."""

    name = "refinery"
    verbose_name = "Refinery core"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (role groups and permissions after migrate)

        # Each app's tasks.py registers its job handlers with @job_handler.
        autodiscover_modules("tasks")
