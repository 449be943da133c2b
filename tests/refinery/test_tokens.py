"""API tokens: every user gets and rotates their own; ``Authorization: Token`` works on the REST API
and grants exactly the user's role (an annotator's token still sees only their own jobs)."""
import pytest
from rest_framework.test import APIClient

from refinery.jobs import job_create
from tests.conftest import PASSWORD

from ._world import WORLD_PK, make_world

pytestmark = pytest.mark.django_db


def _token_client(key: str) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return c


def _obtain(username: str, password: str = PASSWORD):
    return APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json")


def test_obtain_token_with_username_and_password(curator):
    r = _obtain("curator")
    assert r.status_code == 200 and r.json()["username"] == "curator" and len(r.json()["token"]) == 40
    assert _obtain("curator").json()["token"] == r.json()["token"]  # the same token until it is rotated
    bad = _obtain("curator", "wrong password")
    assert bad.status_code == 400 and "token" not in bad.json()
    assert APIClient().get("/api/auth/token/").status_code == 405


def test_token_page_shows_creates_and_rotates_the_users_own_token(annotator_client, annotator):
    r = annotator_client.get("/account/token/")
    assert r.status_code == 200 and b'id="api-token-none"' in r.content
    r = annotator_client.post("/account/token/", follow=True)
    assert r.status_code == 200 and b"New API token created" in r.content
    first = annotator.auth_token.key
    assert first.encode() in r.content
    assert _token_client(first).get("/api/jobs/").status_code == 200
    annotator_client.post("/account/token/")
    annotator.refresh_from_db()
    second = annotator.auth_token.key
    assert second != first
    old = _token_client(first).get("/api/jobs/")
    assert old.status_code in (401, 403) and old.json()["detail"] == "Invalid token."  # the old key stopped working
    assert _token_client(second).get("/api/jobs/").status_code == 200
    from refinery.models import AuditEvent

    assert AuditEvent.objects.filter(action="api_token_rotate", user=annotator).count() == 2


def test_the_user_menu_links_to_the_token_page(annotator_client):
    r = annotator_client.get("/annotation/")
    assert r.status_code == 200 and b'href="/account/token/"' in r.content


def test_token_auth_on_collections_documents_and_jobs(curator, annotator, annotator2):
    make_world(curator=curator, other_annotator=annotator2)
    own = job_create(kind="curation.ingest", title="Annotator job", user=annotator)
    curator_api = _token_client(_obtain("curator").json()["token"])
    r = curator_api.get("/api/collections/")
    assert r.status_code == 200 and "world" in [c["name"] for c in r.json()["results"]]
    r = curator_api.get(f"/api/documents/?collection={WORLD_PK}")
    assert r.status_code == 200 and [d["id"] for d in r.json()["results"]] == [WORLD_PK]
    assert curator_api.get(f"/api/documents/{WORLD_PK}/").json()["text"] == "World document."
    jobs = curator_api.get("/api/jobs/").json()["results"]
    assert {WORLD_PK, own.pk} <= {j["id"] for j in jobs}

    annotator_api = _token_client(_obtain("annotator1").json()["token"])
    assert annotator_api.get("/api/collections/").status_code == 403
    assert annotator_api.get(f"/api/collections/{WORLD_PK}/").status_code == 403
    assert annotator_api.get("/api/documents/").status_code == 403
    assert annotator_api.get(f"/api/documents/{WORLD_PK}/").status_code == 403
    jobs = annotator_api.get("/api/jobs/").json()["results"]
    assert [j["id"] for j in jobs] == [own.pk]  # only their own
    assert annotator_api.get(f"/api/jobs/{WORLD_PK}/").status_code == 404
    assert annotator_api.post(f"/api/jobs/{WORLD_PK}/cancel/").status_code == 404
    assert annotator_api.get("/api/schema/").status_code == 403

    bogus = _token_client("0" * 40).get("/api/jobs/")
    assert bogus.status_code in (401, 403) and bogus.json()["detail"] == "Invalid token."


def test_a_user_without_a_role_gets_a_token_that_opens_nothing(django_user_model):
    django_user_model.objects.create_user(username="nobody", password=PASSWORD)
    api = _token_client(_obtain("nobody").json()["token"])
    for url in ("/api/", "/api/jobs/", "/api/collections/", "/api/assignments/", "/api/schema/"):
        assert api.get(url).status_code == 403, url
