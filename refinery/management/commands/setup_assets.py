"""Prepare offline assets once: each app's ``<app>/assets.py`` exposes ``setup(stdout) -> None``.

Run by `make run` / `make test` (scripts/setup.sh); idempotent — each setup skips what is present.
"""
import importlib

from django.apps import apps
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Prepare offline assets: bundled base model, language data (idempotent)."

    def handle(self, *args, **options):
        for app in apps.get_app_configs():
            try:
                module = importlib.import_module(f"{app.name}.assets")
            except ModuleNotFoundError as exc:
                if exc.name == f"{app.name}.assets":
                    continue
                raise
            self.stdout.write(f"- {app.label}: preparing assets")
            module.setup(self.stdout)
        self.stdout.write(self.style.SUCCESS("Assets ready."))
