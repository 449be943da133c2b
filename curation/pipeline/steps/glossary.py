"""glossary — standardise terms: every variant spelling becomes the curator's canonical term.

Terms come from one of (first non-empty wins):

* ``terms``: a list of ``{"canonical": "高血压", "variants": ["高血壓", "HBP"], "synonyms": [...]}``
  (YAML pipeline configs);
* ``terms_file``: a JSON file with that list, or a ``{"canonical": ["variant", ...]}`` object
  (headless: ``--set glossary.terms_file=terms.json``); the glossary page exports this format;
* ``collection``: the named collection's glossary in the database (web runs).

Matching: longest variant first, one pass, never inside a ``[PERSON_1]``-style placeholder. Latin
variants match whole words only (``HBP`` does not match inside ``HBPX``); CJK variants match anywhere.
Case-insensitive by default for Latin script. Synonyms are *not* replaced unless
``replace_synonyms`` is set: they are different words with the same meaning, used by the synonym
augmenter. Replacement counts per canonical term go to the step's counters and ``attrs.glossary``.
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from ..base import Mapper, StepConfigError, register_step
from ._text import map_text, set_attr

_PLACEHOLDER_RE = re.compile(r"\[[A-Z][A-Z_]*_\d+\]")


def parse_terms(data: Any, *, where: str = "terms") -> list[dict]:
    """Normalise the accepted term formats to [{"canonical", "variants", "synonyms"}]; raises StepConfigError."""
    if isinstance(data, dict):
        data = [{"canonical": k, "variants": v if isinstance(v, list) else [v]} for k, v in data.items()]
    if not isinstance(data, list):
        raise StepConfigError(f"glossary: {where} must be a list of terms or a {{canonical: [variants]}} object")
    out = []
    for i, item in enumerate(data, 1):
        if not isinstance(item, dict) or not str(item.get("canonical", "")).strip():
            raise StepConfigError(f"glossary: {where} item {i} needs a non-empty 'canonical'")
        variants = item.get("variants") or []
        synonyms = item.get("synonyms") or []
        if not isinstance(variants, list) or not isinstance(synonyms, list):
            raise StepConfigError(f"glossary: {where} item {i}: 'variants' and 'synonyms' must be lists")
        out.append({
            "canonical": str(item["canonical"]).strip(),
            "variants": [str(v).strip() for v in variants if str(v).strip()],
            "synonyms": [str(v).strip() for v in synonyms if str(v).strip()],
        })
    return out


def load_terms_file(path: str) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise StepConfigError(f"glossary: terms_file {p} does not exist")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StepConfigError(f"glossary: terms_file {p} is not valid JSON: {exc}") from None
    return parse_terms(data, where=str(p))


class GlossaryMatcher:
    """One compiled regex over all variants; ``apply(text) -> (text, Counter of canonical terms)``."""

    def __init__(self, terms: list[dict], *, case_sensitive: bool = False, replace_synonyms: bool = False):
        self.lookup: dict[str, str] = {}
        for term in terms:
            sources = list(term["variants"]) + (list(term["synonyms"]) if replace_synonyms else [])
            for v in sources:
                if v == term["canonical"]:
                    continue
                key = v if case_sensitive else v.casefold()
                self.lookup.setdefault(key, term["canonical"])
        self.case_sensitive = case_sensitive
        parts = []
        for v in sorted(self.lookup, key=len, reverse=True):
            esc = re.escape(v)
            if v.isascii() and re.match(r"\w", v) and re.search(r"\w$", v):
                esc = rf"(?<![A-Za-z0-9_]){esc}(?![A-Za-z0-9_])"
            parts.append(esc)
        flags = 0 if case_sensitive else re.IGNORECASE
        self.regex = re.compile("|".join([_PLACEHOLDER_RE.pattern] + parts), flags) if parts else None

    def apply(self, text: str) -> tuple[str, Counter]:
        counts: Counter = Counter()
        if self.regex is None or not text:
            return text, counts

        def repl(m: re.Match) -> str:
            found = m.group(0)
            canonical = self.lookup.get(found if self.case_sensitive else found.casefold())
            if canonical is None:  # a placeholder: leave it alone
                return found
            counts[canonical] += 1
            return canonical

        return self.regex.sub(repl, text), counts


@register_step
class Glossary(Mapper):
    name = "glossary"
    description = "Replace variant spellings with the collection's canonical terms (curator glossary)."

    @dataclasses.dataclass
    class Options:
        terms: list = dataclasses.field(default_factory=list)  # [{"canonical", "variants", "synonyms"}]
        terms_file: str = ""        # JSON file (list of terms or {canonical: [variants]})
        collection: str = ""        # the named collection's glossary (database)
        case_sensitive: bool = False
        replace_synonyms: bool = False

    _unpicklable = ("_matcher",)

    def prepare(self) -> None:
        """In the driver: read the terms file / the collection's glossary now (a missing file is a config
        error before the run starts) and carry the terms inline, so workers need neither."""
        o = self.options
        if not o.terms and (o.terms_file or o.collection):
            self._resolved_terms = self._load_terms()

    def setup(self) -> None:
        o = self.options
        terms = getattr(self, "_resolved_terms", None)
        if terms is None:
            terms = self._load_terms()
        self.n_terms = len(terms)
        self._matcher = GlossaryMatcher(terms, case_sensitive=o.case_sensitive, replace_synonyms=o.replace_synonyms)

    def _load_terms(self) -> list[dict]:
        o = self.options
        if o.terms:
            terms = parse_terms(o.terms)
        elif o.terms_file:
            terms = load_terms_file(o.terms_file)
        elif o.collection:
            from curation.selectors import glossary_terms_for_step

            terms = glossary_terms_for_step(collection_name=o.collection)
        else:
            terms = []
        return terms

    def map(self, record):
        self.ensure_setup()
        total: Counter = Counter()

        def fn(text: str) -> str:
            out, counts = self._matcher.apply(text)
            total.update(counts)
            return out

        out = map_text(record, fn)
        if total:
            self.stats.counters.update(total)
            set_attr(out, self.name, dict(total))
        return out
