"""Annotation test fixtures: a real Label Studio server for the session (see labelstudio_server.py)."""
from __future__ import annotations

import pytest

from . import labelstudio_server as lss


@pytest.fixture(scope="session")
def labelstudio_server(tmp_path_factory):
    try:
        server = lss.start_session_server(tmp_path_factory.mktemp("labelstudio"))
    except lss.LabelStudioUnavailable as exc:
        pytest.fail(f"Label Studio tests need a real server: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def ls(settings, labelstudio_server):
    """Settings pointing at the session's Label Studio, as the admin (legacy token)."""
    settings.LABEL_STUDIO_URL = labelstudio_server.url
    settings.LABEL_STUDIO_API_KEY = lss.ADMIN_TOKEN
    settings.LABEL_STUDIO_WEBHOOK_SECRET = "test-webhook-secret"
    return labelstudio_server


def ls_client_for(server, email: str):
    """A Label Studio SDK client acting as one of the Label Studio test annotators."""
    from label_studio_sdk.client import LabelStudio

    return LabelStudio(base_url=server.url, api_key=lss.LS_ANNOTATORS[email])
