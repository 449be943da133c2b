"""Create a dataset version of a collection and write it in one format into a folder.

    python manage.py export_dataset --collection NAME [--filter KEY=VALUE ...] --format messages|alpaca|sharegpt|hf --out DIR

Filters: see training.dataset_spec.DatasetSpec (origin, label, min_agreement, adjudicated_only, min_quality,
language, domain, pipeline_run, seed, validation_ratio, test_ratio, cot, ngram, max_overlap, eval_sets).
"""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from refinery.jobs import job_run_inline
from training.export.base import FORMATS


class Command(BaseCommand):
    help = "Create a new dataset version from a collection's samples and export it (jsonl/hf) into DIR."

    def add_arguments(self, parser):
        parser.add_argument("--collection", required=True, help="Collection name")
        parser.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                            help="Filter spec entry; repeat for several (e.g. origin=built,ingested)")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--out", required=True, help="Output folder")
        parser.add_argument("--notes", default="")

    def handle(self, *args, collection, filter, format, out, notes, **opts):  # noqa: A002
        from curation.models import Collection
        from training.dataset_spec import DatasetSpec, DatasetSpecError
        from training.models import DatasetVersion
        from training.services.datasets import dataset_version_export

        col = Collection.objects.filter(name=collection).first()
        if col is None:
            names = ", ".join(Collection.objects.values_list("name", flat=True)[:20]) or "none"
            raise CommandError(f"No collection named {collection!r} (collections: {names})")
        try:
            spec = DatasetSpec.from_pairs(filter)
        except DatasetSpecError as exc:
            raise CommandError(str(exc)) from exc
        job = job_run_inline(kind="training.dataset_create", title=f"Create dataset version of {col.name}",
                             params={"collection_id": col.pk, "spec": spec.as_dict(), "notes": notes},
                             target=col, progress_bar=opts.get("verbosity", 1) > 0)
        if job.status != job.Status.SUCCEEDED:
            raise CommandError(job.error or f"Dataset build ended as {job.status}")
        version = DatasetVersion.objects.get(pk=job.result["version_id"])
        result = dataset_version_export(version=version, fmt=format, out_dir=Path(out))
        self.stdout.write(self.style.SUCCESS(
            f"{col.name} {version.name}: {version.n_train} train, {version.n_validation} validation, "
            f"{version.n_test} test → {result['out']} ({format})"))
