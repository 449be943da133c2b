"""python manage.py labelstudio push|pull --project ID   |   labelstudio reconcile [--every [SECONDS]]

``reconcile`` pulls every project linked to Label Studio once. Label Studio sends its webhooks once
and never retries them, so run it periodically: ``reconcile --every`` loops (every
LABEL_STUDIO_RECONCILE_SECONDS, default 600, or the given seconds), survives Label Studio being down
(a failed pass is logged and the next one catches up) and is what ``make run`` starts when
Label Studio is configured. Without LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY the loop says so and exits 0.
"""
from django.conf import settings
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
        parser.add_argument("--every", type=float, nargs="?", const=-1.0, default=None, metavar="SECONDS",
                            help="reconcile: repeat every SECONDS until stopped "
                                 "(no value: LABEL_STUDIO_RECONCILE_SECONDS)")
        parser.add_argument("--max-runs", type=int, default=None,
                            help="reconcile --every: stop after this many passes (default: never)")

    def handle(self, *args, action, project=None, webhook_url="", every=None, max_runs=None, **opts):
        if action in ("push", "pull") and not project:
            raise CommandError(f"labelstudio {action} needs --project ID")
        if (every is not None or max_runs is not None) and action != "reconcile":
            raise CommandError("--every / --max-runs only go with reconcile")
        if action == "reconcile" and (every is not None or max_runs is not None):
            return self._loop(every, max_runs)
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

    def _loop(self, every, max_runs):
        from annotation.tasks import reconcile_periodically

        seconds = settings.LABEL_STUDIO_RECONCILE_SECONDS if every is None or every < 0 else every
        if seconds <= 0:
            raise CommandError(f"--every needs a positive number of seconds, got {seconds:g}")
        if max_runs is not None and max_runs < 1:
            raise CommandError("--max-runs must be at least 1")
        if not (settings.LABEL_STUDIO_URL and settings.LABEL_STUDIO_API_KEY):
            self.stdout.write("Label Studio is not configured (LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY); "
                              "no periodic reconcile.")
            return
        self.stdout.write(f"Reconciling Label Studio every {seconds:g} s (Ctrl-C to stop)")
        try:
            reconcile_periodically(every=seconds, max_runs=max_runs,
                                   report=lambda msg: (self.stdout.write(msg), self.stdout.flush()))
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
