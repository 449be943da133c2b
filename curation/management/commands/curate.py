"""python manage.py curate --collection NAME [--config NAME]: run a pipeline on a collection, with a progress bar."""
from django.core.management.base import BaseCommand, CommandError

from refinery.jobs import job_run_inline

from curation.models import Collection, PipelineConfig, PipelineRun
from curation.pipeline.base import StepConfigError
from curation.pipeline.engine import EXECUTORS, PipelineError
from curation.pipeline.services import JOB_KIND, pipeline_config_default, pipeline_run_create


class Command(BaseCommand):
    help = "Run a collection's pipeline config (default: 'default') over its documents and samples, as a job."

    def add_arguments(self, parser):
        parser.add_argument("--collection", required=True, help="Collection name.")
        parser.add_argument("--config", help="Pipeline config name (default: 'default', created if missing).")
        parser.add_argument("--executor", choices=EXECUTORS, help="Default: the REFINERY_PIPELINE_EXECUTOR setting.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, collection, config=None, executor=None, no_progress=False, **options):
        coll = Collection.objects.filter(name=collection).first()
        if coll is None:
            names = ", ".join(Collection.objects.values_list("name", flat=True)) or "none yet"
            raise CommandError(f"No collection named {collection!r} (collections: {names}).")
        if config:
            cfg = PipelineConfig.objects.filter(collection=coll, name=config).first()
            if cfg is None:
                names = ", ".join(PipelineConfig.objects.filter(collection=coll).values_list("name", flat=True)) or "none"
                raise CommandError(f"Collection {coll.name} has no pipeline named {config!r} (pipelines: {names}).")
        else:
            cfg = pipeline_config_default(collection=coll)
        try:
            run = pipeline_run_create(collection=coll, config=cfg, executor=executor)
        except (StepConfigError, PipelineError) as exc:
            raise CommandError(str(exc)) from None
        job = job_run_inline(kind=JOB_KIND, title=f"Pipeline {cfg.name} on {coll.name} (CLI)",
                             params={"run_id": run.pk}, target=run, progress_bar=not no_progress)
        PipelineRun.objects.filter(pk=run.pk).update(job=job)
        run.refresh_from_db()
        if job.status != job.Status.SUCCEEDED:
            raise CommandError(f"Run #{run.pk} {run.status}: {job.error or run.error}")
        for s in run.report["steps"]:
            self.stdout.write(f"{s['step']:<16} in {s['in']:>8}  out {s['out']:>8}  dropped {s['dropped']:>7}  {s['seconds']:>8.2f}s")
        self.stdout.write(self.style.SUCCESS(
            f"Run #{run.pk}: {run.n_input} records, {run.n_output} kept, {run.n_rejected} rejected in {run.seconds:.1f}s"))
