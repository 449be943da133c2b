"""Ingest: raw files (txt, md, html, pdf, docx, jsonl, csv; folders; zip archives) → Documents / Samples.

Layout:
  sources.py    expands paths (files, folders recursively, zip archives recursively, with zip-bomb
                and path-traversal checks) into ``SourceItem``s whose bytes load lazily
  encoding.py   text decoding (BOMs, UTF-8, UTF-16, GB18030/GBK, charset-normalizer) and binary detection
  readers/      one reader per format: bytes → ``ReadResult`` (documents, samples, per-line errors)
  services.py   ``ingest_paths`` / ``ingest_upload_start``: one transaction per file, raw file kept
                under UPLOADS_DIR by sha256, idempotent by content hash, per-file ``IngestReport``
  search.py     full-text search (SQLite FTS5 trigram index / PostgreSQL full-text / fallback)
  selectors.py  reads for collections, source files, documents, samples
"""
