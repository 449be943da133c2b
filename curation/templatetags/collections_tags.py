"""Template filters for the document browser: a search-result snippet with the matched terms marked."""
from __future__ import annotations

import re

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

from curation.ingest.search import split_terms

register = template.Library()
SNIPPET_CHARS = 180


@register.filter
def search_snippet(text: str, query: str = "") -> str:
    """~180 characters around the first match, HTML-escaped, each query term wrapped in <mark>."""
    text = text or ""
    terms = sorted({t for t in split_terms(query or "")}, key=len, reverse=True)
    lower = text.lower()
    hits = [i for i in (lower.find(t.lower()) for t in terms) if i >= 0]
    start = max(0, min(hits) - SNIPPET_CHARS // 3) if hits else 0
    snippet = text[start:start + SNIPPET_CHARS]
    parts = ["…" if start else ""]
    last = 0
    if terms:
        for m in re.finditer("|".join(re.escape(t) for t in terms), snippet, flags=re.IGNORECASE):
            parts.append(conditional_escape(snippet[last:m.start()]))
            parts.append(format_html("<mark>{}</mark>", m.group()))
            last = m.end()
    parts.append(conditional_escape(snippet[last:]))
    parts.append("…" if start + SNIPPET_CHARS < len(text) else "")
    return mark_safe("".join(str(p) for p in parts))  # every piece above is escaped
