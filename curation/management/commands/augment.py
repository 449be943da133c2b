"""python manage.py augment --collection NAME --methods backtranslate,synonym --ratio 0.2 [--backend lm] [--band 0.45,0.95]"""
from django.core.management.base import BaseCommand, CommandError

from curation.augment.services import DEFAULT_RATIO, DEFAULT_SEED, JOB_KIND, clean_method_options, parse_methods
from curation.models import Collection
from refinery.jobs import job_run_inline


class Command(BaseCommand):
    help = ("Augment a collection's samples (held-out validation/test samples are never used); "
            "prints acceptance statistics per method.")

    def add_arguments(self, parser):
        parser.add_argument("--collection", required=True, help="Collection name.")
        parser.add_argument("--methods", required=True,
                            help="Comma-separated: backtranslate, synonym, entity_swap, perturb, dialogue.")
        parser.add_argument("--ratio", type=float, default=DEFAULT_RATIO,
                            help="Share of eligible samples to augment (0–1].")
        parser.add_argument("--backend", default="lm",
                            help="Back-translation backend: lm, lm:openai:URL#model, seq2seq:PATH (default lm).")
        parser.add_argument("--band", default="",
                            help="Back-translation similarity band LOW,HIGH a paraphrase must fall in "
                                 "(default: the built-in band).")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, collection, methods, ratio, backend, seed, band="", no_progress=False, **options):
        coll = Collection.objects.filter(name=collection).first()
        if coll is None:
            raise CommandError(f"No collection named {collection!r}.")
        try:
            names = parse_methods(methods)
            bt = {"backend": backend}
            if band.strip():
                parts = [x.strip() for x in band.split(",")]
                if len(parts) != 2:
                    raise CommandError(f"--band must be LOW,HIGH (e.g. 0.45,0.95), got {band!r}")
                bt["band"] = parts
            if "band" in bt and "backtranslate" not in names:
                raise CommandError("--band applies to back-translation; add backtranslate to --methods")
            opts = clean_method_options(methods=names, options={"backtranslate": bt} if "backtranslate" in names else {})
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not 0 < ratio <= 1:
            raise CommandError(f"--ratio must be in (0, 1], got {ratio}")
        job = job_run_inline(kind=JOB_KIND, title=f"Augment {coll.name}: {', '.join(names)} ({ratio:.0%}) (CLI)",
                             params={"collection_id": coll.pk, "methods": names, "ratio": ratio, "options": opts,
                                     "seed": seed}, target=coll, progress_bar=not no_progress)
        if job.status != job.Status.SUCCEEDED:
            raise CommandError(f"Augment job {job.pk} {job.status}: {job.error}")
        r = job.result
        self.stdout.write(f"{r['selected']} of {r['eligible']} eligible samples selected "
                          f"({r['held_out_skipped']} held-out samples never touched)")
        for method, s in r["methods"].items():
            rate = "n/a" if s["acceptance_rate"] is None else f"{s['acceptance_rate']:.0%}"
            self.stdout.write(f"  {method:<14} accepted {s['accepted']}/{s['attempted']} ({rate}), "
                              f"{s['new_samples']} new samples, {s['seconds']}s; rejected {s['rejected']}")
        self.stdout.write(self.style.SUCCESS(f"{r['new_samples']} new samples in {coll.name}"))
