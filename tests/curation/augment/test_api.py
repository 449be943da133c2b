"""REST API for augmentation: methods with options, start a run (the web/CLI job), status and acceptance,
the samples a run made with their parents, clear 400s, roles. Jobs run for real (immediate task backend,
started when the request's transaction commits), on perturb/dialogue (fast, no model)."""
from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from curation.augment.base import augment_methods, get_augmenter
from curation.models import Sample
from refinery.jobs import job_create
from refinery.models import Job
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

METHODS = ["backtranslate", "dialogue", "entity_swap", "perturb", "synonym"]


def _start(api, capture, **body):
    with capture(execute=True):
        resp = api.post("/api/augment-runs/", body, format="json")
    return resp


def test_methods_list_their_options_and_defaults(curator):
    api = api_client_for(curator)
    rows = api.get("/api/augment-methods/").json()
    assert [r["name"] for r in rows] == METHODS == sorted(augment_methods())
    by_name = {r["name"]: {o["name"]: o for o in r["options"]} for r in rows}
    assert list(by_name["backtranslate"]) == ["roles", "backend", "band"]  # the in-process translator is not listed
    rate = by_name["synonym"]["rate"]
    assert (rate["type"], rate["default"], rate["minimum"], rate["maximum"], rate["exclusive_minimum"]) == \
        ("number", 0.2, 0, 1, True)
    assert by_name["perturb"]["kinds"]["choices"] == ["rephrase", "irrelevant_context", "reorder"]
    branches = by_name["dialogue"]["max_branches"]
    assert (branches["type"], branches["default"], branches["minimum"]) == ("integer", 2, 1)
    # the listed defaults are what an augmenter built without options uses
    for r in rows:
        built = get_augmenter(r["name"]).options
        for o in r["options"]:
            default = o["default"]
            assert (list(built[o["name"]]) if isinstance(default, list) else built[o["name"]]) == default, o
    one = api.get("/api/augment-methods/perturb/")
    assert one.status_code == 200 and one.json() == next(r for r in rows if r["name"] == "perturb")
    assert api.get("/api/augment-methods/nope/").status_code == 404


def test_start_a_run_then_read_its_status_acceptance_and_samples(collection, samples, curator,
                                                                  django_capture_on_commit_callbacks):
    api = api_client_for(curator)
    resp = _start(api, django_capture_on_commit_callbacks, collection=collection.pk, methods=["perturb", "dialogue"],
                  ratio=1, options={"dialogue": {"max_branches": "1"}, "perturb": {"kinds": ["rephrase"]}})
    assert resp.status_code == 202, resp.content
    started = resp.json()
    assert started["status"] == "queued" and started["collection"] == collection.pk
    assert started["collection_name"] == "bank" and started["methods"] == ["perturb", "dialogue"]
    assert started["options"] == {"dialogue": {"max_branches": 1}, "perturb": {"kinds": ["rephrase"]}}  # normalised
    assert started["eligible"] is None and started["acceptance"] == [] and started["created_by"] == "curator"

    run = api.get(f"/api/augment-runs/{started['id']}/").json()
    assert run["status"] == "succeeded", run["error"]
    assert (run["eligible"], run["selected"], run["held_out_skipped"]) == (3, 3, 2)
    assert run["progress_done"] == run["progress_total"] == 6 and run["percent"] == 100.0
    acceptance = {a["method"]: a for a in run["acceptance"]}
    assert list(acceptance) == ["perturb", "dialogue"]
    dialogue = acceptance["dialogue"]
    assert {k: v for k, v in dialogue.items() if k != "seconds"} == {
        "method": "dialogue", "attempted": 3, "accepted": 3, "new_samples": 3, "acceptance_rate": 1.0, "rejected": {}}
    assert acceptance["perturb"]["attempted"] == 3 and acceptance["perturb"]["acceptance_rate"] == 1.0
    assert run["new_samples"] == sum(a["new_samples"] for a in run["acceptance"]) == 6
    # the run is its job
    assert api.get(run["job_url"]).json()["kind"] == "curation.augment"

    made = api.get(run["samples_url"]).json()
    assert made["count"] == 6
    train = {s.pk: s for s in samples["train"]}
    for s in made["results"]:
        parent = train[s["parent"]]  # never a held-out sample
        assert s["origin"] == "augmented" and s["parent_messages"] == parent.messages
        assert s["parent_url"].endswith(f"/api/samples/{parent.pk}/")
        assert api.get(s["parent_url"]).json()["id"] == parent.pk
        assert s["meta"]["augment"]["job"] == run["id"]
    perturbed = api.get(run["samples_url"], {"method": "perturb"}).json()["results"]
    assert len(perturbed) == 3 and all(s["meta"]["augment"]["perturbations"] == ["rephrase"] for s in perturbed)
    dialogues = api.get(run["samples_url"], {"method": "dialogue"}).json()["results"]
    assert all(s["meta"]["augment"]["branch"] == "opening" for s in dialogues)  # max_branches 1

    # A second run (the CLI, same job) lists apart from the first, with its own samples only.
    call_command("augment", "--collection", "bank", "--methods", "dialogue", "--ratio", "1", "--seed", "7",
                 "--no-progress")
    runs = api.get("/api/augment-runs/", {"collection": collection.pk}).json()
    assert runs["count"] == 2 and runs["results"][1]["id"] == run["id"]
    cli = runs["results"][0]
    assert cli["status"] == "succeeded" and cli["created_by"] is None and cli["methods"] == ["dialogue"]
    cli_samples = api.get(cli["samples_url"]).json()
    assert cli_samples["count"] == cli["new_samples"] > 0
    assert all(s["meta"]["augment"]["job"] == cli["id"] for s in cli_samples["results"])
    assert api.get(run["samples_url"]).json()["count"] == 6
    assert Sample.objects.filter(origin="augmented").count() == 6 + cli["new_samples"]
    assert api.get("/api/augment-runs/", {"status": "failed"}).json()["count"] == 0
    assert api.get("/api/augment-runs/", {"collection": 999999}).json()["count"] == 0


def test_admin_starts_and_a_cancelled_run_reports_no_counts(collection, samples, admin_user,
                                                           django_capture_on_commit_callbacks):
    api = api_client_for(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        resp = api.post("/api/augment-runs/", {"collection": collection.pk, "methods": ["perturb"]}, format="json")
        assert resp.status_code == 202
        assert api.post(resp.json()["job_url"] + "cancel/").status_code == 200  # before the worker picks it up
    run = api.get(f"/api/augment-runs/{resp.json()['id']}/").json()
    assert run["status"] == "cancelled" and run["ratio"] == 0.2 and run["seed"] == 13  # the defaults
    assert run["new_samples"] is None and run["acceptance"] == []
    assert api.get(run["samples_url"]).json()["count"] == 0
    assert not Sample.objects.filter(origin="augmented").exists()


@pytest.mark.parametrize("body, field, message", [
    ({"methods": ["perturb", "nope"]}, "methods",
     "Unknown augmentation method(s) nope. Valid methods: backtranslate, dialogue, entity_swap, perturb, synonym"),
    ({"methods": []}, "methods", "Valid methods: backtranslate, dialogue, entity_swap, perturb, synonym"),
    ({"methods": "perturb"}, "methods", "Expected a list"),
    ({"methods": ["perturb"], "ratio": 1.5}, "ratio", "ratio must be in (0, 1], got 1.5"),
    ({"methods": ["perturb"], "ratio": 0}, "ratio", "ratio must be in (0, 1]"),
    ({"methods": ["perturb"], "ratio": "lots"}, "ratio", "A valid number is required"),
    ({"methods": ["perturb"], "options": {"perturb": {"speed": 2}}}, "options",
     "Unknown option(s) speed for augmenter 'perturb'. Valid options: roles, rate, kinds"),
    ({"methods": ["perturb"], "options": {"perturb": {"kinds": ["shout"]}}}, "options",
     "unknown value(s) shout; valid: rephrase, irrelevant_context, reorder"),
    ({"methods": ["synonym"], "options": {"synonym": {"rate": 0}}}, "options",
     "Option 'rate' of augmenter 'synonym' must be in (0, 1], got 0.0"),
    ({"methods": ["synonym"], "options": {"synonym": {"rate": "high"}}}, "options", "must be a number, got 'high'"),
    ({"methods": ["dialogue"], "options": {"dialogue": {"max_branches": 1.5}}}, "options", "must be an integer"),
    ({"methods": ["synonym"], "options": {"synonym": {"roles": ["robot"]}}}, "options",
     "valid: system, user, assistant"),
    ({"methods": ["backtranslate"], "options": {"backtranslate": {"backend": "gpt"}}}, "options",
     "Unknown translation backend 'gpt'"),
    ({"methods": ["backtranslate"], "options": {"backtranslate": {"band": [0.9, 0.5]}}}, "options",
     "must satisfy 0 <= low < high <= 1"),
    ({"methods": ["backtranslate"], "options": {"backtranslate": {"translator": "x"}}}, "options",
     "Valid options: roles, backend, band"),
    ({"methods": ["perturb"], "options": {"synonym": {"rate": 0.5}}}, "options",
     "Options given for method(s) not chosen: synonym. Chosen methods: perturb"),
    ({"methods": ["perturb"], "options": {"perturb": 3}}, "options", "Expected a dictionary"),
    ({"methods": ["perturb"], "collection": 999999}, "collection", "does not exist"),
    ({"methods": ["perturb"], "collection": None}, "collection", "may not be null"),
])
def test_bad_requests_get_a_400_naming_the_field_and_what_is_valid(collection, curator, body, field, message,
                                                                   django_capture_on_commit_callbacks):
    api = api_client_for(curator)
    resp = _start(api, django_capture_on_commit_callbacks, **{"collection": collection.pk, **body})
    assert resp.status_code == 400
    errors = resp.json()
    assert list(errors) == [field] and message in str(errors[field]), errors
    assert not Job.objects.exists()


def test_the_cli_checks_options_through_the_same_service(collection):
    with pytest.raises(CommandError, match="Unknown translation backend 'gpt'"):
        call_command("augment", "--collection", "bank", "--methods", "backtranslate", "--backend", "gpt",
                     "--no-progress")
    assert not Job.objects.exists()


def test_bad_filters_and_unknown_runs(collection, curator):
    api = api_client_for(curator)
    bad = api.get("/api/augment-runs/", {"status": "done"})
    assert bad.status_code == 400 and "Valid: queued, running, succeeded, failed, cancelled" in bad.json()["status"][0]
    assert api.get("/api/augment-runs/", {"collection": "bank"}).status_code == 400
    assert api.get("/api/augment-runs/999999/").status_code == 404
    other = job_create(kind="curation.ingest", title="Ingest", params={}, target=collection)
    assert api.get(f"/api/augment-runs/{other.pk}/").status_code == 404  # only augmentation jobs
    assert api.get(f"/api/augment-runs/{other.pk}/samples/").status_code == 404
    form = api.post("/api/augment-runs/", {"collection": collection.pk, "methods": "perturb"})  # multipart
    assert form.status_code == 415


def test_annotators_get_403_and_anonymous_users_are_refused(collection, samples, annotator, curator,
                                                            django_capture_on_commit_callbacks):
    run = _start(api_client_for(curator), django_capture_on_commit_callbacks, collection=collection.pk,
                 methods=["dialogue"], ratio=1).json()
    n_jobs = Job.objects.count()
    for client, codes in [(api_client_for(annotator), {403}), (APIClient(), {401, 403})]:
        for url in ["/api/augment-methods/", "/api/augment-methods/perturb/", "/api/augment-runs/",
                    f"/api/augment-runs/{run['id']}/", f"/api/augment-runs/{run['id']}/samples/"]:
            assert client.get(url).status_code in codes, url
        start = client.post("/api/augment-runs/", {"collection": collection.pk, "methods": ["perturb"]}, format="json")
        assert start.status_code in codes
    assert Job.objects.count() == n_jobs


def test_openapi_schema_lists_the_augmentation_endpoints(curator):
    schema = api_client_for(curator).get("/api/schema/?format=json").json()
    for path in ["/api/augment-methods/", "/api/augment-methods/{name}/", "/api/augment-runs/",
                 "/api/augment-runs/{id}/", "/api/augment-runs/{id}/samples/"]:
        assert path in schema["paths"], path
    assert set(schema["paths"]["/api/augment-runs/"]) == {"get", "post"}
    assert "MethodAcceptance" in schema["components"]["schemas"]
