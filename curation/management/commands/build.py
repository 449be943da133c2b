"""python manage.py build --collection NAME (--template NAME --input FILE.jsonl|csv | --qa [--generator SPEC])"""
from django.core.management.base import BaseCommand, CommandError

from curation.builders.cot import CotError
from curation.builders.records import RecordsError
from curation.builders.services import QA_JOB_KIND, samples_build_from_template
from curation.builders.templates import TemplateError
from curation.generation import GenerationError, parse_spec
from curation.models import Collection, InstructionTemplate
from refinery.jobs import job_run_inline


class Command(BaseCommand):
    help = ("Build instruction samples: apply a saved record template to a jsonl/csv file of structured "
            "records, or generate question/answer pairs from the collection's documents.")

    def add_arguments(self, parser):
        parser.add_argument("--collection", required=True)
        parser.add_argument("--template", help="Name of a saved instruction template.")
        parser.add_argument("--input", help="jsonl/csv file of structured records (with --template).")
        parser.add_argument("--qa", action="store_true", help="Generate QA pairs from documents.")
        parser.add_argument("--generator", default="", help="local[:model] or openai:URL#model (default: bundled LM).")
        parser.add_argument("--max-pairs", type=int, default=2, help="QA pairs per document (one per passage).")
        parser.add_argument("--limit", type=int, help="At most this many documents.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **o):
        coll = Collection.objects.filter(name=o["collection"]).first()
        if coll is None:
            raise CommandError(f"No collection named {o['collection']!r}.")
        if o["qa"]:
            try:
                parse_spec(o["generator"])
            except GenerationError as exc:
                raise CommandError(str(exc)) from None
            job = job_run_inline(kind=QA_JOB_KIND, title=f"QA pairs from {coll.name} documents (CLI)",
                                 params={"collection_id": coll.pk, "generator_spec": o["generator"],
                                         "max_pairs": o["max_pairs"], "limit": o["limit"]},
                                 target=coll, progress_bar=not o["no_progress"])
            if job.status != job.Status.SUCCEEDED:
                raise CommandError(f"QA job {job.pk} {job.status}: {job.error}")
            self.stdout.write(self.style.SUCCESS(
                f"{job.result['samples']} QA samples from {job.result['documents']} documents ({job.result['generator']})"))
            return
        if not o["template"] or not o["input"]:
            raise CommandError("Give --template NAME --input FILE, or --qa.")
        template = InstructionTemplate.objects.filter(collection=coll, name=o["template"]).first()
        if template is None:
            names = ", ".join(InstructionTemplate.objects.filter(collection=coll).values_list("name", flat=True))
            raise CommandError(f"No template {o['template']!r} in {coll.name} (templates: {names or 'none'}).")
        try:
            result = samples_build_from_template(collection=coll, template=template, path=o["input"])
        except (TemplateError, RecordsError, CotError) as exc:
            raise CommandError(f"{o['input']}: {exc}") from None
        self.stdout.write(self.style.SUCCESS(
            f"{result['samples']} samples built from {result['records']} records "
            f"({result['duplicates']} duplicates skipped) with {result['method']}"))
