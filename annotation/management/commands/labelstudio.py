"""python manage.py labelstudio push|pull --project ID   |   labelstudio reconcile

Schedule the reconcile pull (Label Studio's webhooks are sent once, never retried), e.g. cron:
    */10 * * * *  cd /srv/refinery && .venv/bin/python manage.py labelstudio reconcile
"""
from django.core.management.base import BaseCommand, CommandError

from refinery.jobs import job_run_inline


class Command(BaseCommand):
    help = "Push a labelling project's tasks to Label Studio, pull its annotations, or reconcile all projects."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["push", "pull", "reconcile"])
        parser.add_argument("--project", type=int, help="Labelling project id (push / pull).")
        parser.add_argument("--webhook-url", default="",
                            help="Register this URL as the project's webhook on push, e.g. "
                                 "https://refinery.example.com/annotation/labelstudio/webhook/")

    def handle(self, *args, action, project=None, webhook_url="", **opts):
        if action in ("push", "pull") and not project:
            raise CommandError(f"labelstudio {action} needs --project ID")
        if action == "push":
            job = job_run_inline(kind="annotation.labelstudio_push", title=f"Label Studio push of project {project}",
                                 params={"project_id": project, "webhook_url": webhook_url})
        elif action == "pull":
            job = job_run_inline(kind="annotation.labelstudio_pull", title=f"Label Studio pull of project {project}",
                                 params={"project_id": project})
        else:
            job = job_run_inline(kind="annotation.labelstudio_reconcile", title="Label Studio reconcile", params={})
        if job.status != "succeeded":
            raise CommandError(job.error or f"Job {job.pk} ended as {job.status}")
        self.stdout.write(self.style.SUCCESS(f"{action}: {job.result}"))
