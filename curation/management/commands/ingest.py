"""python manage.py ingest PATH... --collection NAME [--create]: files, folders, zip archives."""
from django.core.management.base import BaseCommand, CommandError

from refinery.jobs import job_run_inline

from curation.ingest.services import ERROR, JOB_KIND, PARTIAL, PRESENT, collection_create
from curation.models import Collection


class Command(BaseCommand):
    help = "Ingest files, folders (recursively) and zip archives into a collection, with a per-file report."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="Files, folders or .zip archives.")
        parser.add_argument("--collection", required=True, help="Collection name (slug).")
        parser.add_argument("--create", action="store_true", help="Create the collection if it does not exist.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, paths, collection, create=False, no_progress=False, **options):
        coll = Collection.objects.filter(name=collection).first()
        if coll is None:
            if not create:
                raise CommandError(f"No collection named {collection!r}. Use --create to create it.")
            try:
                coll = collection_create(name=collection)
            except Exception as exc:  # ValidationError: bad slug
                raise CommandError(f"Cannot create collection {collection!r}: {exc}") from None
            self.stdout.write(f"Created collection {coll.name}")
        job = job_run_inline(kind=JOB_KIND, title=f"Ingest {len(paths)} path(s) into {coll.name} (CLI)",
                             params={"collection_id": coll.pk, "paths": [str(p) for p in paths]},
                             target=coll, progress_bar=not no_progress)
        if job.status != job.Status.SUCCEEDED:
            raise CommandError(f"Ingest job {job.pk} {job.status}: {job.error}")
        result = job.result
        width = max((len(f["name"]) for f in result["files"]), default=10)
        for f in result["files"]:
            style = (self.style.ERROR if f["status"] == ERROR else
                     self.style.WARNING if f["status"] in (PARTIAL, PRESENT) else self.style.SUCCESS)
            detail = (f"{f['documents']} documents, {f['samples']} samples" if f["status"] not in (ERROR, PRESENT)
                      else f["message"])
            if f["message"] and f["status"] not in (ERROR, PRESENT):
                detail += f" — {f['message']}"  # a note, e.g. NUL characters removed
            self.stdout.write(f"{f['name']:<{width}}  {style(f['status']):<16}  {detail}")
            for line, reason in f["line_errors"][:20]:
                self.stdout.write(f"{'':<{width}}    line {line}: {reason}")
        self.stdout.write(
            f"\n{len(result['files'])} files: {result['ingested']} ingested, {result['partial']} partial, "
            f"{result['already_present']} already present, {result['errors']} errors — "
            f"{result['documents']} documents, {result['samples']} samples in {coll.name}")
        if result["files"] and result["errors"] == len(result["files"]):
            raise CommandError("Every file failed.")
