"""Shared fixtures: isolated data dir, users per role, logged-in clients, a headless browser."""
from __future__ import annotations

import os
import shutil

import pytest

os.environ.setdefault("REFINERY_TASKS_BACKEND", "immediate")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    """Each test writes uploads, exports and runs under its own temporary data dir."""
    data = tmp_path / "data"
    data.mkdir()
    settings.DATA_DIR = data
    for name in ("UPLOADS_DIR", "EXPORTS_DIR", "ADAPTERS_DIR", "RUNS_DIR", "PIPELINE_DIR", "MEDIA_ROOT"):
        setattr(settings, name, data / name.removesuffix("_DIR").removesuffix("_ROOT").lower())
    # Models are shared across tests (converting the bundled model once is slow).
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    yield data


def _make_user(django_user_model, username: str, role: str | None, **extra):
    from django.contrib.auth.models import Group

    from refinery.signals import ensure_role_groups

    ensure_role_groups()
    user = django_user_model.objects.create_user(username=username, password=PASSWORD,
                                                 email=f"{username}@example.com", **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def admin_user(db, django_user_model):
    return _make_user(django_user_model, "admin", "admin", is_staff=True, is_superuser=True)


@pytest.fixture
def curator(db, django_user_model):
    return _make_user(django_user_model, "curator", "curator")


@pytest.fixture
def annotator(db, django_user_model):
    return _make_user(django_user_model, "annotator1", "annotator")


@pytest.fixture
def annotator2(db, django_user_model):
    return _make_user(django_user_model, "annotator2", "annotator")


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


@pytest.fixture
def annotator_client(db, annotator):
    from django.test import Client

    c = Client()
    c.force_login(annotator)
    return c


@pytest.fixture
def admin_client_(db, admin_user):
    from django.test import Client

    c = Client()
    c.force_login(admin_user)
    return c


def api_client_for(user):
    from rest_framework.test import APIClient

    c = APIClient()
    c.force_authenticate(user)
    return c


# ------------------------------------------------------------------------------------ browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (its own browser download is not used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    context.close()


def browser_login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
