"""First-run set-up for `make run`: role groups, the four users, then each app's demo data.

Users: admin, curator, annotator1, annotator2. Passwords come from REFINERY_<USER>_PASSWORD
(e.g. REFINERY_ADMIN_PASSWORD) or are generated and printed once, when the user is created.
Each app may expose ``<app>/demo.py: load(stdout, users) -> None`` (idempotent) for demo data. A demo
step that failed once is not retried by later runs (they print how to retry); ``--retry-demo`` retries
it, passed to every loader that takes ``retry_failed``.
"""
import importlib
import inspect
import os
import secrets

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from refinery import roles
from refinery.signals import ensure_role_groups

USERS = [
    ("admin", roles.ADMIN),
    ("curator", roles.CURATOR),
    ("annotator1", roles.ANNOTATOR),
    ("annotator2", roles.ANNOTATOR),
]


class Command(BaseCommand):
    help = "Create role groups, the admin/curator/annotator users and the demo data (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--no-demo", action="store_true", help="Only users and groups.")
        parser.add_argument("--retry-demo", action="store_true",
                            help="Retry demo steps (pipeline run, training) that failed before.")

    def handle(self, *args, no_demo=False, retry_demo=False, **options):
        ensure_role_groups()
        users = self.ensure_users()
        if no_demo:
            return
        for app in apps.get_app_configs():
            try:
                module = importlib.import_module(f"{app.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name == f"{app.name}.demo":
                    continue
                raise
            takes_retry = "retry_failed" in inspect.signature(module.load).parameters
            module.load(self.stdout, users, **({"retry_failed": True} if retry_demo and takes_retry else {}))

    def ensure_users(self) -> dict:
        User = get_user_model()
        created = []
        users = {}
        with transaction.atomic():
            for username, role in USERS:
                user = User.objects.filter(username=username).first()
                if user is None:
                    password = os.environ.get(f"REFINERY_{username.upper()}_PASSWORD") or secrets.token_urlsafe(9)
                    user = User.objects.create_user(
                        username=username, password=password, email=f"{username}@refinery.local",
                        is_staff=role == roles.ADMIN, is_superuser=role == roles.ADMIN,
                    )
                    user.groups.add(Group.objects.get(name=role))
                    created.append((username, role, password))
                users[username] = user
        if created:
            self.stdout.write(self.style.SUCCESS("Created users (passwords are shown only now):"))
            for username, role, password in created:
                self.stdout.write(f"    {username:<11} {role:<10} password: {password}")
        else:
            self.stdout.write("Users admin, curator, annotator1, annotator2 exist (reset a password with "
                              "`.venv/bin/python manage.py changepassword NAME`).")
        return users
