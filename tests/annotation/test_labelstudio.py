"""Label Studio sync against a REAL Label Studio server (started once per test session)."""
import json
import threading
import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from annotation import labelstudio, selectors, services
from annotation.models import Annotation, Item, WebhookEvent
from annotation.schemes import PRESETS, Scheme
from refinery.models import Job

from . import labelstudio_server as lss
from .conftest import ls_client_for
from .helpers import make_collection, sft_label

pytestmark = pytest.mark.labelstudio
FAST = (0.2, 0.4, 0.8)


def _project(curator, annotator, annotator2, n=4, name="LS review"):
    col = make_collection(name=name.lower().replace(" ", "-"), n=n)
    return services.project_create(name=name, collection=col, scheme=PRESETS["sft_review"], overlap=2,
                                   annotators=[annotator, annotator2], user=curator)


def _ls_tasks(server, project):
    c = ls_client_for(server, "annotator1@example.com")
    return list(c.tasks.list(project=project.ls_project_id))


def _annotate_in_ls(server, email, task_id, label, scheme):
    c = ls_client_for(server, email)
    return c.annotations.create(id=task_id, result=scheme.to_labelstudio_result(label), lead_time=2.5)


def test_every_preset_config_is_accepted_by_label_studio(ls):
    c = labelstudio.get_client()
    for name, scheme in PRESETS.items():
        xml = Scheme.from_dict(scheme).to_labelstudio_xml()
        p = c.projects.create(title=f"preset {name}", label_config=xml)
        assert c.projects.get(id=p.id).label_config.strip() == xml.strip()


def test_push_annotate_pull_agreement_and_idempotent_repush(ls, curator, annotator, annotator2):
    project = _project(curator, annotator, annotator2)
    scheme = project.parsed_scheme
    result = labelstudio.project_push(project=project)
    project.refresh_from_db()
    assert result["created"] == 4 and project.ls_project_id
    tasks = _ls_tasks(ls, project)
    assert len(tasks) == 4
    assert {t.meta["refinery_item"] for t in tasks} == set(project.items.values_list("id", flat=True))

    # idempotent: nothing new; a changed sample updates its task in place
    assert labelstudio.project_push(project=project) == {"ls_project_id": project.ls_project_id,
                                                         "created": 0, "updated": 0, "unchanged": 4, "overlap_set": 0}
    item = project.items.order_by("position").first()
    item.sample.messages = [{"role": "user", "content": "Changed question?"},
                            {"role": "assistant", "content": "Changed answer."}]
    item.sample.save()
    # a push that died after the import but before saving task ids must not duplicate either
    Item.objects.filter(project=project).update(ls_task_id=None, ls_data_hash="")
    result = labelstudio.project_push(project=project)
    assert result["created"] == 0 and result["updated"] == 1 and result["unchanged"] == 3
    tasks = {t.meta["refinery_item"]: t for t in _ls_tasks(ls, project)}
    assert len(tasks) == 4 and "Changed question?" in tasks[item.pk].data["text"]

    # two Label Studio users annotate through its API, with their own tokens
    agree, disagree = list(tasks.values())[:3], list(tasks.values())[3]
    for t in agree:
        _annotate_in_ls(ls, "annotator1@example.com", t.id, sft_label(4, "accept"), scheme)
        _annotate_in_ls(ls, "annotator2@example.com", t.id, sft_label(4, "accept"), scheme)
    _annotate_in_ls(ls, "annotator1@example.com", disagree.id, sft_label(5, "accept"), scheme)
    ann_edit = _annotate_in_ls(ls, "annotator2@example.com", disagree.id, sft_label(1, "edit", "Fixed."), scheme)

    pulled = labelstudio.project_pull(project=project)
    assert pulled["stored"] == 8 and pulled["unmatched"] == 0 and pulled["invalid"] == 0
    assert Annotation.objects.filter(item__project=project, source="labelstudio").count() == 8
    assert set(Annotation.objects.values_list("annotator__username", flat=True)) == {"annotator1", "annotator2"}
    edited = Annotation.objects.get(ls_annotation_id=ann_edit.id)
    assert edited.annotator == annotator2 and edited.label["edited_response"] == "Fixed."
    assert edited.lead_time == 2.5

    report = selectors.project_agreement_report(user=curator, project=project, bootstrap=False)
    decision = next(f for f in report["fields"] if f["field"] == "decision")
    assert decision["n_items"] == 4 and decision["percent_agreement"] == 0.75
    queue = selectors.low_agreement_queue(user=curator, project=project)
    assert [q["item_id"] for q in queue] == [disagree.meta["refinery_item"]]

    # pulling again changes nothing; an annotation deleted in Label Studio is deleted here
    assert labelstudio.project_pull(project=project)["stored"] == 8
    assert Annotation.objects.count() == 8
    labelstudio.get_client().annotations.delete(id=ann_edit.id)
    again = labelstudio.project_pull(project=project)
    assert again["deleted"] == 1 and Annotation.objects.count() == 7


def test_cli_push_and_pull(ls, curator, annotator, annotator2, capsys):
    project = _project(curator, annotator, annotator2, n=2, name="CLI project")
    call_command("labelstudio", "push", "--project", str(project.pk))
    project.refresh_from_db()
    task = _ls_tasks(ls, project)[0]
    _annotate_in_ls(ls, "annotator1@example.com", task.id, sft_label(3), project.parsed_scheme)
    call_command("labelstudio", "pull", "--project", str(project.pk))
    assert "pull:" in capsys.readouterr().out
    assert Annotation.objects.filter(item__project=project).count() == 1
    assert Job.objects.filter(kind="annotation.labelstudio_pull", status="succeeded").exists()


@pytest.mark.django_db(transaction=True)
def test_webhook_path(ls, live_server, curator, annotator, annotator2):
    project = _project(curator, annotator, annotator2, n=2, name="Webhook project")
    url = live_server.url + reverse("annotation:labelstudio_webhook")
    labelstudio.project_push(project=project, webhook_url=url)
    project.refresh_from_db()
    assert project.ls_webhook_id
    task = _ls_tasks(ls, project)[0]
    ann = _annotate_in_ls(ls, "annotator1@example.com", task.id, sft_label(2, "reject"), project.parsed_scheme)
    # Label Studio posts the webhook synchronously while creating the annotation
    deadline = time.monotonic() + 10
    while not Annotation.objects.filter(ls_annotation_id=ann.id).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    stored = Annotation.objects.get(ls_annotation_id=ann.id)
    assert stored.annotator == annotator and stored.label["decision"] == "reject"
    assert WebhookEvent.objects.filter(action="ANNOTATION_CREATED", processed=True).exists()
    # update, then delete, both through webhooks
    c = ls_client_for(ls, "annotator1@example.com")
    c.annotations.update(id=ann.id, result=project.parsed_scheme.to_labelstudio_result(sft_label(5, "accept")))
    deadline = time.monotonic() + 10
    while Annotation.objects.get(ls_annotation_id=ann.id).label["decision"] != "accept" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert Annotation.objects.get(ls_annotation_id=ann.id).label["relevance"] == 5
    # an update Refinery cannot take over (an empty result misses required fields) keeps the last good label
    c.annotations.update(id=ann.id, result=[])
    deadline = time.monotonic() + 10
    while not Annotation.objects.get(ls_annotation_id=ann.id).stale_reason and time.monotonic() < deadline:
        time.sleep(0.2)
    kept = Annotation.objects.get(ls_annotation_id=ann.id)
    assert "invalid" in kept.stale_reason and kept.label["decision"] == "accept" and kept.label["relevance"] == 5
    c.annotations.delete(id=ann.id)
    deadline = time.monotonic() + 10
    while Annotation.objects.filter(ls_annotation_id=ann.id).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Annotation.objects.filter(ls_annotation_id=ann.id).exists()


def test_label_studio_down_mid_sync_retries_and_loses_nothing(ls, curator, annotator, annotator2):
    project = _project(curator, annotator, annotator2, n=3, name="Outage project")
    labelstudio.project_push(project=project)
    project.refresh_from_db()
    task = _ls_tasks(ls, project)[0]
    _annotate_in_ls(ls, "annotator1@example.com", task.id, sft_label(4), project.parsed_scheme)
    port = ls.port
    ls.stop()
    try:
        # down for good: the job retries with back-off, then fails with a clear message; nothing written
        job = services_job("annotation.labelstudio_pull", project, delays=[0.1, 0.2])
        assert job.status == "failed" and "unreachable after 3 attempts" in job.error
        assert sum("retry" in m["message"] for m in job.messages) == 2
        assert Annotation.objects.count() == 0
        # back while the sync is retrying: it completes and stores everything
        restarter = threading.Timer(1.0, lambda: ls.start(port=port))
        restarter.start()
        job = services_job("annotation.labelstudio_pull", project, delays=[1, 2, 4, 8, 8])
        restarter.join()
    finally:
        if not ls.healthy():
            ls.start(port=port)
    assert job.status == "succeeded", job.error
    assert any("retry" in m["message"] for m in job.messages)
    assert Annotation.objects.filter(item__project=project).count() == 1
    assert labelstudio.project_push(project=project)["created"] == 0


def services_job(kind, project, *, delays):
    from refinery.jobs import job_run_inline

    return job_run_inline(kind=kind, title="test", params={"project_id": project.pk, "delays": delays},
                          progress_bar=False)


def test_label_studio_stopped_in_the_middle_of_a_push(ls, curator, annotator, annotator2, monkeypatch):
    """Stop the server after the first imported batch; the push retries, resumes and duplicates nothing."""
    project = _project(curator, annotator, annotator2, n=5, name="Mid push project")
    monkeypatch.setattr(labelstudio, "IMPORT_BATCH", 2)
    port = ls.port
    events, restarter = [], []

    def report(msg):
        events.append(msg)
        if msg.startswith("Imported 2/") and not restarter:
            ls.stop()
            t = threading.Timer(1.0, lambda: ls.start(port=port))
            t.start()
            restarter.append(t)

    try:
        result = labelstudio.project_push(project=project, sync=labelstudio.Sync(report=report, delays=(1, 2, 4, 8, 8)))
    finally:
        for t in restarter:
            t.join()
        if not ls.healthy():
            ls.start(port=port)
    assert restarter and any("retry" in e for e in events)
    assert result["created"] == 5
    project.refresh_from_db()
    tasks = _ls_tasks(ls, project)
    assert sorted(t.meta["refinery_item"] for t in tasks) == sorted(project.items.values_list("id", flat=True))
    assert not project.items.filter(ls_task_id=None).exists()


def test_push_and_pull_from_the_project_page_run_as_jobs(ls, curator_client, curator, annotator, annotator2,
                                                        django_capture_on_commit_callbacks):
    project = _project(curator, annotator, annotator2, n=2, name="Web sync project")
    with django_capture_on_commit_callbacks(execute=True):
        r = curator_client.post(reverse("annotation:project_action", args=[project.pk, "push"]),
                                SERVER_NAME="127.0.0.1")
    assert r.status_code == 302 and "/jobs/" in r.url
    job = Job.objects.get(kind="annotation.labelstudio_push")
    assert job.status == "succeeded", job.error
    assert job.result["created"] == 2 and job.target_id == str(project.pk)
    project.refresh_from_db()
    assert project.ls_webhook_id  # the page registers the webhook at its own absolute URL
    hooks = labelstudio.get_client().webhooks.list(project=str(project.ls_project_id))
    assert [h.url for h in hooks] == ["http://127.0.0.1/annotation/labelstudio/webhook/"]
    with django_capture_on_commit_callbacks(execute=True):
        curator_client.post(reverse("annotation:project_action", args=[project.pk, "pull"]))
    assert Job.objects.get(kind="annotation.labelstudio_pull").status == "succeeded"


def test_push_survives_a_rejected_webhook_url(ls, curator, annotator, annotator2):
    project = _project(curator, annotator, annotator2, n=1, name="Bad hook project")
    notes = []
    result = labelstudio.project_push(project=project, webhook_url="http://testserver/hook/",
                                      sync=labelstudio.Sync(report=notes.append))
    assert result["created"] == 1
    assert any("Webhook not registered" in n for n in notes)


def test_reconcile_pulls_every_linked_project(ls, curator, annotator, annotator2):
    """A missed webhook is caught by the periodic reconcile pull (`manage.py labelstudio reconcile`)."""
    projects = [_project(curator, annotator, annotator2, n=1, name=f"Reconcile {i}") for i in range(2)]
    for p in projects:
        labelstudio.project_push(project=p)  # no webhook registered: only the reconcile can pick labels up
        p.refresh_from_db()
        task = _ls_tasks(ls, p)[0]
        _annotate_in_ls(ls, "annotator2@example.com", task.id, sft_label(2, "reject"), p.parsed_scheme)
    assert not Annotation.objects.exists()
    call_command("labelstudio", "reconcile")
    assert sorted(Annotation.objects.values_list("item__project_id", flat=True)) == sorted(p.pk for p in projects)
    assert set(Annotation.objects.values_list("annotator__username", flat=True)) == {"annotator2"}


def test_spans_choice_and_taxonomy_round_trip_through_label_studio(ls, curator, annotator, annotator2):
    scheme = {"fields": [PRESETS["intent"]["fields"][0], PRESETS["entities"]["fields"][0],
                         PRESETS["medical_hierarchy"]["fields"][0]]}
    col = make_collection(name="roundtrip", n=1)
    col.documents.update(text="Patient 😀 𠀀 Alice Smith took aspirin in Paris.")  # astral characters before the span
    project = services.project_create(name="Round trip", collection=col, scheme=scheme, target="document",
                                      overlap=2, annotators=[annotator, annotator2], user=curator)
    labelstudio.project_push(project=project)
    project.refresh_from_db()
    task = _ls_tasks(ls, project)[0]
    text = task.data["text"]
    start = text.index("Alice Smith")
    label = {"intent": "question", "topic": "fever / influenza / antivirals",
             "entities": [{"start": start, "end": start + 11, "label": "PERSON"}]}
    # annotator1's span in code points (Label Studio's <Text>), annotator2's in UTF-16 units (a JavaScript client)
    for email, units in (("annotator1@example.com", "codepoints"), ("annotator2@example.com", "utf16")):
        result = labelstudio.label_to_labelstudio(project.parsed_scheme, label, text, units=units)
        ls_client_for(ls, email).annotations.create(id=task.id, result=result)
    exported = json.loads(b"".join(labelstudio.get_client().projects.exports.download_sync(
        id=project.ls_project_id, export_type="JSON", download_all_tasks=True)))
    assert sorted(r["value"]["start"] for a in exported[0]["annotations"] for r in a["result"]
                  if r["type"] == "labels") == [start, start + 2]
    assert labelstudio.project_pull(project=project)["stored"] == 2
    for user in (annotator, annotator2):
        stored = Annotation.objects.get(annotator=user).label
        assert stored["intent"] == "question" and stored["topic"] == "fever / influenza / antivirals"
        assert stored["entities"] == [{"start": start, "end": start + 11, "label": "PERSON", "text": "Alice Smith"}]
    entities = selectors.project_agreement_report(user=curator, project=project)["fields"][1]
    assert entities["field"] == "entities" and entities["span_f1_exact"] == 1.0


def test_push_recreates_a_project_deleted_in_label_studio(ls, curator, annotator, annotator2):
    project = _project(curator, annotator, annotator2, n=2, name="Deleted project")
    labelstudio.project_push(project=project)
    project.refresh_from_db()
    old = project.ls_project_id
    task = _ls_tasks(ls, project)[0]
    _annotate_in_ls(ls, "annotator1@example.com", task.id, sft_label(4), project.parsed_scheme)
    labelstudio.project_pull(project=project)
    labelstudio.get_client().projects.delete(id=old)
    notes = []
    result = labelstudio.project_push(project=project, sync=labelstudio.Sync(report=notes.append))
    project.refresh_from_db()
    assert project.ls_project_id != old and result["created"] == 2
    assert any("is gone" in n for n in notes)
    assert len(_ls_tasks(ls, project)) == 2
    # what was pulled from the deleted project is kept, also after pulling the new one
    assert labelstudio.project_pull(project=project)["deleted"] == 0
    assert Annotation.objects.filter(item__project=project).count() == 1


def test_pull_keeps_annotations_it_cannot_take_over_and_says_why(ls, curator, curator_client, annotator, annotator2):
    """Invalid in Label Studio now, or its user no longer maps: kept (stale, with the reason), never deleted."""
    project = _project(curator, annotator, annotator2, n=2, name="Stale project")
    labelstudio.project_push(project=project)
    project.refresh_from_db()
    task = _ls_tasks(ls, project)[0]
    scheme = project.parsed_scheme
    a1 = _annotate_in_ls(ls, "annotator1@example.com", task.id, sft_label(4, "accept"), scheme)
    _annotate_in_ls(ls, "annotator2@example.com", task.id, sft_label(2, "reject"), scheme)
    assert labelstudio.project_pull(project=project)["stored"] == 2

    # annotator2's email changes here: Label Studio's user no longer maps to anyone
    annotator2.email = "renamed@example.com"
    annotator2.save()
    # annotator1's annotation becomes invalid in Label Studio (the required fields are gone)
    ls_client_for(ls, "annotator1@example.com").annotations.update(id=a1.id, result=[])
    result = labelstudio.project_pull(project=project)
    assert result["deleted"] == 0 and result["stale"] == 2 and result["unmatched"] == 1 and result["invalid"] == 1
    kept = {a.annotator.username: a for a in Annotation.objects.filter(item__project=project)}
    assert set(kept) == {"annotator1", "annotator2"}
    assert kept["annotator1"].label == sft_label(4, "accept")  # the last good label
    assert "invalid" in kept["annotator1"].stale_reason and "relevance" in kept["annotator1"].stale_reason
    assert "annotator2@example.com matches no Refinery user" in kept["annotator2"].stale_reason
    assert labelstudio.project_pull(project=project)["deleted"] == 0  # repeating it changes nothing

    # the reasons are on the project page and on the item's review page
    page = curator_client.get(reverse("annotation:project_detail", args=[project.pk])).content.decode()
    assert "Stale annotations" in page and "matches no Refinery user" in page
    item_page = curator_client.get(reverse("annotation:adjudicate", args=[kept["annotator1"].item_id])).content.decode()
    assert "stale" in item_page and "invalid" in item_page

    # fixed on both sides: taken over again, no longer stale
    annotator2.email = "annotator2@example.com"
    annotator2.save()
    ls_client_for(ls, "annotator1@example.com").annotations.update(
        id=a1.id, result=scheme.to_labelstudio_result(sft_label(5, "accept")))
    assert labelstudio.project_pull(project=project)["stored"] == 2
    assert not Annotation.objects.filter(item__project=project).exclude(stale_reason="").exists()
    assert Annotation.objects.get(ls_annotation_id=a1.id).label["relevance"] == 5

    # only an annotation Label Studio no longer has is deleted
    labelstudio.get_client().annotations.delete(id=a1.id)
    assert labelstudio.project_pull(project=project)["deleted"] == 1
    assert list(Annotation.objects.filter(item__project=project).values_list("annotator__username", flat=True)) == [
        "annotator2"]


def _next_task(server, email, ls_project_id):
    """Label Studio's own "next task" for a user (what its labelling stream shows them), or None."""
    import httpx

    r = httpx.get(f"{server.url}/api/projects/{ls_project_id}/next/",
                  headers={"Authorization": f"Token {lss.LS_ANNOTATORS[email]}"}, timeout=30)
    if r.status_code == 404:
        return None
    r.raise_for_status()
    return r.json()["id"]


def test_gold_tasks_stay_open_to_every_annotator_in_label_studio(ls, curator, annotator, annotator2):
    """overlap 1, two annotators: ordinary tasks close after one annotation, gold ones only after both."""
    col = make_collection(name="ls-gold", n=3)
    first, second, _third = col.samples.order_by("id")
    project = services.project_create(name="Gold in LS", collection=col, scheme=PRESETS["sft_review"], overlap=1,
                                      annotators=[annotator, annotator2], user=curator,
                                      gold={first.pk: sft_label(5, "accept")})
    result = labelstudio.project_push(project=project)
    project.refresh_from_db()
    assert result["created"] == 3 and result["overlap_set"] == 1
    c = labelstudio.get_client()
    assert c.projects.get(id=project.ls_project_id).maximum_annotations == 1
    tasks = {t.meta["refinery_item"]: t for t in _ls_tasks(ls, project)}
    gold_item = project.items.get(sample=first)
    assert {i: t.overlap for i, t in tasks.items()} == {i: (2 if i == gold_item.pk else 1) for i in tasks}

    scheme = project.parsed_scheme
    for t in tasks.values():  # annotator1 labels everything in Label Studio
        _annotate_in_ls(ls, "annotator1@example.com", t.id, sft_label(4), scheme)
    assert _next_task(ls, "annotator1@example.com", project.ls_project_id) is None
    # Label Studio still serves the gold task — and only it — to the second annotator
    assert _next_task(ls, "annotator2@example.com", project.ls_project_id) == tasks[gold_item.pk].id
    _annotate_in_ls(ls, "annotator2@example.com", tasks[gold_item.pk].id, sft_label(5, "accept"), scheme)
    assert _next_task(ls, "annotator2@example.com", project.ls_project_id) is None
    assert labelstudio.project_push(project=project)["overlap_set"] == 0  # idempotent

    # a task made gold after the push (and already labelled once) is reopened by the next push
    late = project.items.get(sample=second)
    services.item_set_gold(item=late, label=sft_label(3, "reject"), user=curator)
    assert labelstudio.project_push(project=project)["overlap_set"] == 1
    reopened = c.tasks.get(id=str(tasks[late.pk].id))
    assert reopened.overlap == 2 and reopened.is_labeled is False
    assert _next_task(ls, "annotator2@example.com", project.ls_project_id) == tasks[late.pk].id

    # Label Studio resets overlaps when its project setting changes; the next push puts them back
    c.projects.update(id=project.ls_project_id, maximum_annotations=2)
    c.projects.update(id=project.ls_project_id, maximum_annotations=1)
    assert {t.overlap for t in _ls_tasks(ls, project)} == {1}
    assert labelstudio.project_push(project=project)["overlap_set"] == 2
    assert sorted(t.overlap for t in _ls_tasks(ls, project)) == [1, 2, 2]
    # and a changed overlap goes to Label Studio's maximum_annotations
    project.overlap = 2
    project.save()
    labelstudio.project_push(project=project)
    assert c.projects.get(id=project.ls_project_id).maximum_annotations == 2
    assert {t.overlap for t in _ls_tasks(ls, project)} == {2}


def test_periodic_reconcile_pulls_without_webhooks_and_survives_label_studio_down(ls, curator, annotator,
                                                                                  annotator2):
    """The loop `manage.py labelstudio reconcile --every` runs: a pass, Label Studio down, back again."""
    from annotation.tasks import reconcile_periodically

    project = _project(curator, annotator, annotator2, n=2, name="Periodic project")
    labelstudio.project_push(project=project)  # no webhook: only the periodic pull brings annotations in
    project.refresh_from_db()
    task = _ls_tasks(ls, project)[0]
    port = ls.port
    notes, made = [], []

    def between_passes(seconds):  # what happens in Label Studio while the loop waits
        assert seconds == 5
        if not made:  # after pass 1: an annotator labels in Label Studio, then the server goes down
            made.append(_annotate_in_ls(ls, "annotator2@example.com", task.id, sft_label(1, "reject"),
                                        project.parsed_scheme))
            ls.stop()
        else:  # after pass 2 (which failed): Label Studio is back
            ls.start(port=port)

    try:
        jobs = reconcile_periodically(every=5, max_runs=3, delays=[0.1, 0.2], report=notes.append,
                                      sleep=between_passes)
    finally:
        if not ls.healthy():
            ls.start(port=port)
    assert [j.status for j in jobs] == ["succeeded", "failed", "succeeded"]
    assert jobs[0].result["projects"][str(project.pk)]["stored"] == 0
    assert "unreachable" in jobs[1].error and "Nothing was lost" in jobs[1].error
    assert jobs[2].result["projects"][str(project.pk)]["stored"] == 1
    stored = Annotation.objects.get(item__project=project)
    assert stored.ls_annotation_id == made[0].id and stored.annotator == annotator2
    assert stored.label["decision"] == "reject"
    assert "pass 2: failed" in notes[1] and "1 annotations stored" in notes[2]
    assert not WebhookEvent.objects.exists()


def test_reconcile_every_from_the_command_line(ls, curator, annotator, annotator2, capsys):
    project = _project(curator, annotator, annotator2, n=1, name="CLI periodic")
    labelstudio.project_push(project=project)
    project.refresh_from_db()
    _annotate_in_ls(ls, "annotator1@example.com", _ls_tasks(ls, project)[0].id, sft_label(3), project.parsed_scheme)
    call_command("labelstudio", "reconcile", "--every", "0.2", "--max-runs", "2")
    out = capsys.readouterr().out
    assert "Reconciling Label Studio every 0.2 s" in out and "reconcile pass 2:" in out
    assert Annotation.objects.filter(item__project=project).count() == 1
    assert Job.objects.filter(kind="annotation.labelstudio_reconcile", status="succeeded").count() == 2


def test_push_brings_the_webhook_secret_up_to_date(ls, settings, curator, annotator, annotator2):
    """Webhooks registered with an older secret (e.g. the former SECRET_KEY[:32] default) get the current one."""
    project = _project(curator, annotator, annotator2, n=1, name="Secret rotation")
    url = "http://127.0.0.1:9/annotation/labelstudio/webhook/"
    labelstudio.project_push(project=project, webhook_url=url)
    project.refresh_from_db()
    c = labelstudio.get_client()
    assert c.webhooks.get(id=project.ls_webhook_id).headers[labelstudio.SECRET_HEADER] == "test-webhook-secret"
    settings.LABEL_STUDIO_WEBHOOK_SECRET = "rotated-secret"
    notes = []
    labelstudio.project_push(project=project, webhook_url=url, sync=labelstudio.Sync(report=notes.append))
    assert c.webhooks.get(id=project.ls_webhook_id).headers[labelstudio.SECRET_HEADER] == "rotated-secret"
    assert "Webhook secret updated in Label Studio" in notes
    # deleted in Label Studio: registered again
    old = project.ls_webhook_id
    c.webhooks.delete(id=old)
    labelstudio.project_push(project=project, webhook_url=url)
    project.refresh_from_db()
    assert project.ls_webhook_id and project.ls_webhook_id != old
    assert [h.url for h in c.webhooks.list(project=str(project.ls_project_id))] == [url]
