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


# ------------------------------------------------------------------------------------ every route
import re  # noqa: E402

from django.urls import Resolver404, URLResolver, get_resolver, resolve  # noqa: E402
from django.urls.resolvers import RoutePattern  # noqa: E402

from ._world import WORLD_PK, make_world  # noqa: E402

# Routes an anonymous visitor may reach (each checks its own credentials or needs none).
ANONYMOUS_OK = {"login", "admin:login", "healthz", "api-token-obtain", "annotation:labelstudio_webhook"}
# The only routes an annotator may use: their queue and labelling, their jobs, their token, home.
ANNOTATOR_OK = {
    "home", "login", "admin:login", "logout", "admin:logout", "healthz", "api_token", "api-token-obtain", "api-root",
    "job_list", "job_detail", "job_cancel", "job-list", "job-detail", "job-cancel",
    "annotation:home", "annotation:label_next", "annotation:label", "annotation:labelstudio_webhook",
    "assignment-list", "assignment-detail", "assignment-annotate", "assignment-skip",
    "labeling-project-list", "labeling-project-detail",  # only the projects they have assignments in
}
# What a user without any role may open: log in/out, their token, the health check.
NO_ROLE_OK = {"login", "admin:login", "logout", "admin:logout", "healthz", "api_token", "api-token-obtain", "annotation:labelstudio_webhook"}
# URL parameters that are not object ids: real values, so no route 404s on the value itself.
PARAM_VALUES = {"format": "json", "name": "synonym", "app_label": "curation"}
ROUTE_PARAMS = {"annotation:project_action": {"action": "assign"}, "training:adapter_action": {"action": "promote"}}


def _fill(pattern, value_for) -> str:
    """The URL piece of one pattern with each parameter replaced by ``value_for(name)``."""
    if isinstance(pattern, RoutePattern):
        def convert(m):
            value, regex = value_for(m.group(1)), pattern.converters[m.group(1)].regex
            return value if re.fullmatch(regex, value) else "." + value  # DRF's format suffix: ".json"
        return re.sub(r"<(?:\w+:)?(\w+)>", convert, str(pattern))
    text = pattern.regex.pattern.removeprefix("^").removesuffix("$")
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: value_for(m.group(1)), text)
    return text.replace("/?", "/").replace("\\.", ".")


def all_routes() -> list[tuple[str, str]]:
    """(route name, URL) for every URL pattern of the project, parameters filled with the world's ids.

    Unnamed patterns (the admin's object redirects) get the name "" and are never allowlisted.
    """
    from django.contrib.contenttypes.models import ContentType

    from curation.models import Document

    values = dict(PARAM_VALUES, content_type_id=str(ContentType.objects.get_for_model(Document).pk))
    routes: dict[str, str] = {}

    def walk(resolver, namespaces, prefix):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                sub = namespaces + ([entry.namespace] if entry.namespace else [])
                walk(entry, sub, prefix + _fill(entry.pattern, lambda p: values.get(p, str(WORLD_PK))))
                continue
            name = ":".join(namespaces + [entry.name]) if entry.name else ""
            specific = ROUTE_PARAMS.get(name, {})
            url = "/" + prefix + _fill(entry.pattern, lambda p: specific.get(p, values.get(p, str(WORLD_PK))))
            try:
                resolve(url)  # a URL that does not resolve would test nothing
            except Resolver404:
                pytest.fail(f"the URL built for {name or entry.pattern} does not resolve: {url}")
            routes.setdefault(url, name)

    walk(get_resolver(), [], "")
    return [(name, url) for url, name in routes.items()]


def _refused(response, *, admin_route: bool) -> bool:
    if admin_route:  # the Django admin sends everyone who is not staff to its own login page
        return response.status_code == 302 and response["Location"].startswith("/admin/login/")
    return response.status_code in (403, 404)


@pytest.fixture
def world(db, curator, annotator2):
    return make_world(curator=curator, other_annotator=annotator2)


@pytest.mark.django_db
def test_every_route_refuses_anonymous_visitors(client, world):
    routes = all_routes()
    assert len(routes) > 150  # every page, API endpoint and admin page
    for name, url in routes:
        if name in ANONYMOUS_OK:
            continue
        for method in ("get", "post"):
            r = getattr(client, method)(url)
            if r.status_code == 302:
                logins = ("/login/", "/admin/login/") if name.startswith("admin:") or not name else ("/login/",)
                assert r["Location"].startswith(logins), (name, method, url, r["Location"])
            else:
                assert r.status_code in (401, 403), (name, method, url, r.status_code)
    # The open routes still check what they need.
    assert client.get("/healthz").status_code == 200 and client.get("/login/").status_code == 200
    assert client.post("/api/auth/token/", {"username": "curator", "password": "wrong"}).status_code == 400
    assert client.post(reverse("annotation:labelstudio_webhook"), data="{}",
                       content_type="application/json").status_code in (401, 403)


def _walk_as(client_, allowed: set[str]) -> int:
    checked = 0
    for name, url in all_routes():
        if name in allowed:
            if name not in ("logout", "admin:logout"):  # would end the session of the walk
                r = client_.get(url)
                assert r.status_code < 500, (name, url, r.status_code)
            continue
        admin_route = name.startswith("admin:") or not name  # unnamed routes are the admin's
        responses = {m: getattr(client_, m)(url) for m in ("get", "post")}
        for method, r in responses.items():
            assert _refused(r, admin_route=admin_route) or (r.status_code == 405 and not admin_route), \
                (name, method, url, r.status_code, r.get("Location"))
        assert any(_refused(r, admin_route=admin_route) for r in responses.values()), (name, url)
        checked += 1
    return checked


@pytest.mark.django_db
def test_annotator_is_refused_on_every_route_outside_the_allowlist(annotator_client, world):
    from annotation.models import Assignment
    from curation.models import Collection, Document

    assert _walk_as(annotator_client, ANNOTATOR_OK) > 150
    # Nothing of the world was changed by the annotator's POSTs.
    assert Collection.objects.get(pk=WORLD_PK).title == "World" and Document.objects.filter(pk=WORLD_PK).exists()
    assert Assignment.objects.get(pk=WORLD_PK).status == Assignment.Status.PENDING


@pytest.mark.django_db
def test_user_without_a_role_is_refused_everywhere_but_login_logout_and_token(client, django_user_model, world):
    nobody = django_user_model.objects.create_user(username="nobody", password="x-y-z-secret-1")
    client.force_login(nobody)
    assert _walk_as(client, NO_ROLE_OK | {"home"}) > 150
    r = client.get("/")
    assert r.status_code == 403 and b"no role yet" in r.content


@pytest.mark.django_db
def test_annotator_home_is_their_queue_and_schema_docs_are_for_curators(annotator_client, curator_client):
    r = annotator_client.get("/")
    assert r.status_code == 302 and r["Location"] == reverse("annotation:home")
    for url in ("/api/schema/", "/api/docs/"):
        assert annotator_client.get(url).status_code == 403, url
        assert curator_client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_job_cancel_api_for_owner_other_annotator_and_curator(annotator, annotator2, curator):
    from refinery.jobs import job_create
    from refinery.models import Job
    from tests.conftest import api_client_for

    mine = job_create(kind="curation.ingest", title="Annotator's job", user=annotator)
    assert api_client_for(annotator2).post(f"/api/jobs/{mine.pk}/cancel/").status_code == 404  # not theirs: unseen
    assert Job.objects.get(pk=mine.pk).status == Job.Status.QUEUED
    r = api_client_for(annotator).post(f"/api/jobs/{mine.pk}/cancel/")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    theirs = job_create(kind="curation.ingest", title="Another annotator's job", user=annotator2)
    r = api_client_for(curator).post(f"/api/jobs/{theirs.pk}/cancel/")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    curators = job_create(kind="curation.ingest", title="Curator's job", user=curator)
    assert api_client_for(annotator).post(f"/api/jobs/{curators.pk}/cancel/").status_code == 404
    assert Job.objects.get(pk=curators.pk).status == Job.Status.QUEUED
