import pytest
from django.urls import reverse

from refinery.models import AuditEvent


@pytest.mark.django_db
def test_pages_require_login(client):
    for url in ["/", reverse("job_list"), reverse("curation:collection_list"), "/api/jobs/", "/api/docs/"]:
        r = client.get(url)
        assert r.status_code in (302, 401, 403), url
        if r.status_code == 302:
            assert r["Location"].startswith("/login/")


@pytest.mark.django_db
def test_annotator_is_kept_out_of_curator_pages(annotator_client):
    for url in [reverse("curation:collection_list"), reverse("curation:pipeline_list"),
                reverse("training:dataset_list"), reverse("training:run_list")]:
        assert annotator_client.get(url).status_code == 403, url
    assert annotator_client.get("/admin/").status_code == 302  # not staff → admin login


@pytest.mark.django_db
def test_curator_reaches_curator_pages(curator_client):
    for url in ["/", reverse("curation:collection_list"), reverse("training:dataset_list"), "/api/docs/",
                "/api/schema/"]:
        assert curator_client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_login_logout_round_trip(client, curator):
    from tests.conftest import PASSWORD

    r = client.post("/login/", {"username": "curator", "password": PASSWORD})
    assert r.status_code == 302
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_audit_mixin_records_who_changed_what(curator_client, curator):
    from curation.models import Collection
    from refinery.audit import acting_as

    with acting_as(curator):
        c = Collection.objects.create(name="audited")
        c.title = "Changed"
        c.save()
    c.refresh_from_db()
    assert c.created_by == curator and c.updated_by == curator
    actions = list(AuditEvent.objects.filter(model="curation.collection", object_id=str(c.pk)).values_list("action", "user"))
    assert ("create", curator.pk) in actions and ("update", curator.pk) in actions
