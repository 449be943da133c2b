"""The one task the worker runs: execute a Job by id (handlers are registered per app in tasks.py)."""
from django_tasks import task


@task()
def run_job(job_id: int) -> str:
    from .jobs import job_execute

    return job_execute(job_id).status
