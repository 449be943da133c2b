"""Full-text search: the SQLite FTS5 trigram index follows inserts, updates and deletes; Chinese and English."""
import pytest
from django.db import connection

from curation.ingest.search import FTS_TABLE, document_search, ensure_search_index, split_terms
from curation.models import Document

from ._ingest_helpers import make_collection

pytestmark = pytest.mark.django_db


def _ids(q):
    return sorted(document_search(Document.objects.all(), q).values_list("title", flat=True))


def test_terms_phrases_and_index_sync():
    coll = make_collection()
    Document.objects.create(collection=coll, title="en", text="Blood pressure and salt intake", content_hash="1")
    Document.objects.create(collection=coll, title="zh", text="高血压患者应减少食盐摄入", content_hash="2")
    d3 = Document.objects.create(collection=coll, title="other", text="Credit cards and interest", content_hash="3")
    assert split_terms('salt "blood pressure"  x') == ["salt", "blood pressure", "x"]
    assert _ids("blood") == ["en"]
    assert _ids('"pressure and salt"') == ["en"]
    assert _ids("SALT blood") == ["en"]            # case-insensitive, all terms must match
    assert _ids("salt credit") == []
    assert _ids("食盐摄入") == ["zh"] and _ids("血压") == ["zh"] and _ids("盐") == ["zh"]
    assert _ids("'\"quote") == []                  # odd input never breaks the FTS query syntax
    if connection.vendor == "sqlite":
        assert ensure_search_index()
        with connection.cursor() as c:
            c.execute(f"SELECT count(*) FROM {FTS_TABLE}")
            assert c.fetchone()[0] == 3
    d3.text = "Mortgage rates"
    d3.save()
    assert _ids("credit") == [] and _ids("mortgage") == ["other"]
    d3.delete()
    assert _ids("mortgage") == []
    Document.objects.bulk_create([Document(collection=coll, title="bulk", text="bulk inserted text", content_hash="4")])
    assert _ids("inserted") == ["bulk"]


def test_index_is_rebuilt_when_its_triggers_are_gone():
    coll = make_collection()
    Document.objects.create(collection=coll, title="a", text="alpha beta gamma", content_hash="1")
    assert _ids("beta") == ["a"]
    if connection.vendor == "sqlite":  # (PostgreSQL searches the table itself: nothing to lose)
        with connection.cursor() as c:
            c.execute(f"DROP TRIGGER {FTS_TABLE}_ai")
    Document.objects.create(collection=coll, title="b", text="beta delta", content_hash="2")
    assert _ids("beta") == ["a", "b"]
