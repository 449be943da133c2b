"""python manage.py agreement --input annotations.jsonl [--level nominal]

Each input line is {"item": ..., "annotator": ..., "label": ...}; prints one JSON object:
{"cohen_kappa": {"<a>|<b>": value, ...}, "fleiss_kappa": value, "krippendorff_alpha": value,
 "percent_agreement": value, "n_items": n, "n_annotators": n}
Pair keys are the two annotator names, sorted, joined by "|". With --level ordinal or interval the
labels must be numbers and Cohen's kappa is quadratic-weighted; alpha uses the level's distance.
Undefined values (e.g. fewer than two annotators) are null; when everyone used one label, 1.0.
"""
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from annotation import agreement as A


class Command(BaseCommand):
    help = "Inter-annotator agreement (Cohen, Fleiss, Krippendorff, percent) of a JSONL file of annotations."

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True, help="JSONL file ('-' for stdin).")
        parser.add_argument("--level", default="nominal", choices=A.LEVELS)

    def handle(self, *args, input, level, **opts):
        try:
            fh = sys.stdin if input == "-" else open(input, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {input}: {exc.strerror}") from None
        with fh:
            try:
                items, anns, labels = A.read_jsonl_triples(fh)
                if level != "nominal" and not all(isinstance(x, float) for x in labels):
                    raise ValueError(f"{level} level needs numeric labels")
                report = A.agreement_summary(A.encode(items, anns, labels), level=level)
            except ValueError as exc:
                raise CommandError(f"{input}: {exc}") from None
        self.stdout.write(json.dumps(report, ensure_ascii=False))
