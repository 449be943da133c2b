"""Compare two dataset versions of a collection: ``python manage.py dataset_diff COLLECTION vA vB``."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Samples added / removed / changed between two versions, and their statistics side by side."

    def add_arguments(self, parser):
        parser.add_argument("collection")
        parser.add_argument("a", help="Older version, e.g. v1")
        parser.add_argument("b", help="Newer version, e.g. v2")
        parser.add_argument("--json", action="store_true", help="Print the diff as JSON")
        parser.add_argument("--limit", type=int, default=20, help="Sample ids listed per category")

    def handle(self, *args, collection, a, b, **opts):
        from training.models import DatasetVersion
        from training.services.datasets import dataset_version_diff

        def get(name: str) -> DatasetVersion:
            number = name.lower().removeprefix("v")
            if not number.isdigit():
                raise CommandError(f"{name!r} is not a version name (v1, v2, …)")
            v = DatasetVersion.objects.filter(collection__name=collection, number=int(number)).first()
            if v is None:
                have = ", ".join(f"v{n}" for n in DatasetVersion.objects.filter(collection__name=collection)
                                 .order_by("number").values_list("number", flat=True)) or "none"
                raise CommandError(f"Collection {collection!r} has no version {name} (versions: {have})")
            return v

        diff = dataset_version_diff(a=get(a), b=get(b))
        data = diff.as_dict(limit=opts["limit"])
        if opts["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        c = data["counts"]
        self.stdout.write(f"{collection}: {data['a']} → {data['b']}")
        self.stdout.write(f"  added {c['added']}  removed {c['removed']}  changed {c['changed']}  "
                          f"moved between splits {c['moved']}  unchanged {c['unchanged']}")
        if c["changed"]:
            self.stdout.write("  changed: " + ", ".join(f"{f} {n}" for f, n in data["changed_fields"].items()))
        for key in ("added", "removed", "changed"):
            if data[key]:
                more = " …" if c[key] > len(data[key]) else ""
                self.stdout.write(f"  {key} ids: {', '.join(data[key])}{more}")
        width = max(len(k) for k in data["stats"])
        self.stdout.write(f"\n  {'statistic':<{width}}  {data['a']:<30}  {data['b']}")
        for key, pair in data["stats"].items():
            fa = json.dumps(pair["a"], ensure_ascii=False) if isinstance(pair["a"], dict) else str(pair["a"])
            fb = json.dumps(pair["b"], ensure_ascii=False) if isinstance(pair["b"], dict) else str(pair["b"])
            self.stdout.write(f"  {key:<{width}}  {fa:<30}  {fb}")
