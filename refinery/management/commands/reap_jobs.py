"""python manage.py reap_jobs [--minutes N] [--any-host]: fail jobs left "running" by a dead worker.

scripts/run.sh runs it before starting the worker; workers also reap whenever they start a job.
"""
from django.core.management.base import BaseCommand

from refinery.jobs import job_reap_stale


class Command(BaseCommand):
    help = "Mark running jobs whose worker died (no heartbeat for N minutes, process gone) as failed."

    def add_arguments(self, parser):
        parser.add_argument("--minutes", type=float, default=None,
                            help="Heartbeat age that counts as stale (default: REFINERY_JOB_STALE_MINUTES).")
        parser.add_argument("--any-host", action="store_true",
                            help="Also reap jobs of workers on other hosts (their processes cannot be checked "
                                 "from here), e.g. after a container restart changed the host name.")

    def handle(self, *args, minutes=None, any_host=False, **options):
        reaped = job_reap_stale(minutes=minutes, any_host=any_host)
        for job in reaped:
            self.stdout.write(f"job #{job.pk} {job.title!r}: failed — {job.error}")
        if reaped or options["verbosity"] > 1:
            self.stdout.write(f"{len(reaped)} stale job{'s' if len(reaped) != 1 else ''} reaped")
