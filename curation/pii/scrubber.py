"""PIIScrubber: detect PII in Chinese/English text and replace it, consistently per document.

    >>> PIIScrubber(mode="replace").scrub("Call 13812345678 or 13812345678").text
    'Call [PHONE_1] or [PHONE_1]'

Modes (``MODES``):
* ``replace`` — typed placeholders ``[PERSON_1]``, ``[PHONE_2]``; the same value gets the same
  placeholder within one document (or one record's messages, see ``scrub_group``).
* ``mask`` — keeps the shape, hides the middle: ``138****5678``, ``张**``, ``j***@example.com``.
* ``hash`` — ``[PHONE_3f2a9c1b0d]``: a salted SHA-256 prefix, the same value → the same token
  across documents (joins stay possible, values do not leak). The salt must be secret — phone numbers
  and ID numbers are few enough to hash them all — so it is never empty: ``hash_salt`` when given,
  else ``default_hash_salt()``: derived from the installation's Django ``SECRET_KEY`` (HMAC-SHA256,
  stable across runs on one installation) when Django is configured, else a random salt per scrubber
  (headless use: tokens are consistent within one run only; pass ``hash_salt`` to join across runs).
* ``drop`` — the text is left as is; callers (the pipeline step) drop the document when
  ``result.entities`` is non-empty.

``PLACEHOLDER_RE`` matches the placeholders of ``replace`` and ``hash`` modes; augmenters must
never alter what it matches. Spans already matching it are never re-detected, and numbering
continues after the placeholders already in the text, so scrubbing twice is a no-op.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence

from . import names
from .patterns import DETECTORS, StructuredScanner

PII_TYPES: tuple[str, ...] = (
    "PERSON", "PHONE", "EMAIL", "CN_ID", "SSN", "CARD", "USCC", "PASSPORT", "PLATE", "ADDRESS", "IP", "CREDENTIALS",
)
STRUCTURED_TYPES = frozenset(d.type for d in DETECTORS)
assert STRUCTURED_TYPES | {"PERSON"} == set(PII_TYPES)
MODES = ("replace", "mask", "hash", "drop")
HASH_CHARS = 10
PLACEHOLDER_RE = re.compile(r"\[(?P<type>" + "|".join(PII_TYPES) + r")_(?P<key>\d+|[0-9a-f]{%d})\]" % HASH_CHARS)

# (keep first, keep last) visible characters per type in mask mode
MASK_KEEP: dict[str, tuple[int, int]] = {
    "PERSON": (1, 0), "PHONE": (3, 4), "CN_ID": (3, 4), "SSN": (0, 4), "CARD": (0, 4), "USCC": (2, 4),
    "PASSPORT": (1, 2), "PLATE": (2, 0), "ADDRESS": (3, 0), "IP": (0, 0), "CREDENTIALS": (0, 0), "EMAIL": (1, 0),
}


@dataclasses.dataclass(frozen=True)
class Entity:
    type: str
    start: int  # offsets in the input text
    end: int
    value: str
    replacement: str

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ScrubResult:
    text: str
    entities: tuple[Entity, ...]
    counts: dict[str, int]  # occurrences per type

    @property
    def found(self) -> bool:
        return bool(self.entities)


HASH_SALT_CONTEXT = b"refinery.pii.hash-salt.v1"


def default_hash_salt() -> tuple[str, str]:
    """(salt, where it came from) for hash mode when none is given: HMAC-SHA256 of a fixed context under the
    Django ``SECRET_KEY`` when Django is configured ("installation"), else 32 random bytes ("random")."""
    try:
        from django.conf import settings

        key = settings.SECRET_KEY if settings.configured else ""
    except Exception:  # noqa: BLE001 - no Django / no settings module: headless
        key = ""
    if key:
        return hmac.new(str(key).encode("utf-8"), HASH_SALT_CONTEXT, hashlib.sha256).hexdigest(), "installation"
    return secrets.token_hex(32), "random"


def normalise_value(pii_type: str, value: str) -> str:
    """The identity of a value for consistency: 138-1234-5678 and 13812345678 are the same phone."""
    if pii_type in ("PHONE", "CARD", "CN_ID", "SSN"):
        digits = "".join(c for c in value if c.isdigit() or c in "Xx").upper()
        if pii_type == "PHONE" and digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        return digits
    if pii_type in ("EMAIL", "IP", "USCC", "PASSPORT"):
        return value.lower()
    return " ".join(value.split())


def mask_value(pii_type: str, value: str) -> str:
    if pii_type == "EMAIL" and "@" in value:
        local, _, domain = value.partition("@")
        return local[:1] + "***@" + domain
    first, last = MASK_KEEP.get(pii_type, (0, 0))
    maskable = [i for i, c in enumerate(value) if c.isalnum()]
    if len(maskable) <= first + last:  # too short to show anything
        first, last = 0, 0
    keep = set(maskable[:first]) | (set(maskable[-last:]) if last else set())
    return "".join(c if (i in keep or not c.isalnum()) else "*" for i, c in enumerate(value))


class _Session:
    """One placeholder map: a document, or all messages of one record."""

    def __init__(self, scrubber: "PIIScrubber", texts: Sequence[str]):
        self.scrubber = scrubber
        self.assigned: dict[tuple[str, str], str] = {}
        self.next_index: Counter = Counter()
        for text in texts:  # continue numbering after placeholders already present
            if "[" not in text:
                continue
            for m in PLACEHOLDER_RE.finditer(text):
                if m.group("key").isdigit() and len(m.group("key")) < HASH_CHARS:
                    self.next_index[m.group("type")] = max(self.next_index[m.group("type")], int(m.group("key")))

    def replacement(self, pii_type: str, value: str) -> str:
        mode = self.scrubber.mode
        if mode == "mask":
            return mask_value(pii_type, value)
        if mode == "drop":
            return value
        key = (pii_type, normalise_value(pii_type, value))
        got = self.assigned.get(key)
        if got is None:
            if mode == "hash":
                digest = hashlib.sha256(f"{self.scrubber.hash_salt}|{key[0]}|{key[1]}".encode()).hexdigest()
                got = f"[{pii_type}_{digest[:HASH_CHARS]}]"
            else:
                self.next_index[pii_type] += 1
                got = f"[{pii_type}_{self.next_index[pii_type]}]"
            self.assigned[key] = got
        return got


def _propagate_names(texts: Sequence[str], spans: list[list[tuple[str, int, int]]]) -> None:
    """A name found once in a record is a name everywhere in it ("我是张伟" … "张伟您好"): every other
    occurrence of the same string (whole words for Latin script) becomes PERSON too, in place."""
    values = {t[s:e] for t, sp in zip(texts, spans) for typ, s, e in sp if typ == "PERSON" and e - s >= 2}
    for text, sp in zip(texts, spans):
        added = False
        for value in values:
            start = text.find(value)
            while start >= 0:
                end = start + len(value)
                latin_edge = (start and text[start - 1].isascii() and text[start - 1].isalnum()) or (
                    end < len(text) and text[end].isascii() and text[end].isalnum())
                if not latin_edge and not any(s < end and start < e for _, s, e in sp):
                    sp.append(("PERSON", start, end))
                    added = True
                start = text.find(value, end)
        if added:
            sp.sort(key=lambda x: x[1])


class PIIScrubber:
    """Standalone scrubber (no Django, no pipeline). Reuse one instance: it compiles regexes once.

    ``types``: the PII types to look for (default all, ``PII_TYPES``); ``names=False`` skips the
    NER/jieba name detection (structured types only, no model load).
    """

    def __init__(self, mode: str = "replace", *, types: Iterable[str] | None = None, names: bool = True,
                 hash_salt: str | None = None):
        if mode not in MODES:
            raise ValueError(f"Unknown PII mode {mode!r}. Valid modes: {', '.join(MODES)}")
        wanted = frozenset(t.upper() for t in types) if types else frozenset(PII_TYPES)
        unknown = sorted(wanted - set(PII_TYPES))
        if unknown:
            raise ValueError(f"Unknown PII type(s) {', '.join(unknown)}. Valid types: {', '.join(PII_TYPES)}")
        self.mode = mode
        self.types = wanted
        self.detect_names = names and "PERSON" in wanted
        # never an empty salt: see the module docstring (hash mode)
        self.hash_salt, self.hash_salt_source = (hash_salt, "given") if hash_salt else default_hash_salt()
        self.scanner = StructuredScanner(wanted & STRUCTURED_TYPES)

    # ---------------------------------------------------------------------------------- public
    def load(self) -> "PIIScrubber":
        """Load the name models and lists now (they load on first use otherwise); a no-op without names."""
        if self.detect_names:
            names.load_resources()
        return self

    def scrub(self, text: str) -> ScrubResult:
        return self.scrub_groups([[text]])[0][0]

    def scrub_batch(self, texts: Sequence[str]) -> list[ScrubResult]:
        """Independent documents, name detection batched across all of them (faster)."""
        return [group[0] for group in self.scrub_groups([[t] for t in texts])]

    def scrub_group(self, texts: Sequence[str]) -> list[ScrubResult]:
        """Texts of one record (e.g. a conversation's messages) sharing ONE placeholder map."""
        return self.scrub_groups([texts])[0]

    def scrub_groups(self, groups: Sequence[Sequence[str]]) -> list[list[ScrubResult]]:
        flat = [text or "" for group in groups for text in group]
        spans = self.detect(flat)
        if self.detect_names:
            k = 0
            for group in groups:
                _propagate_names(flat[k:k + len(group)], spans[k:k + len(group)])
                k += len(group)
        results: list[list[ScrubResult]] = []
        k = 0
        for group in groups:
            session = _Session(self, [t or "" for t in group])
            out = []
            for _ in group:
                out.append(self._render(flat[k], spans[k], session))
                k += 1
            results.append(out)
        return results

    def detect(self, texts: Sequence[str]) -> list[list[tuple[str, int, int]]]:
        """(type, start, end) spans per text, sorted, non-overlapping, placeholders excluded."""
        all_spans: list[list[tuple[str, int, int]]] = []
        covered: list[list[tuple[int, int]]] = []
        for text in texts:
            protected = [(m.start(), m.end()) for m in PLACEHOLDER_RE.finditer(text)] if "[" in text else []
            spans = [(h.type, h.start, h.end) for h in self.scanner.scan(text)
                     if not any(s < h.end and h.start < e for s, e in protected)]
            all_spans.append(spans)
            covered.append(protected + [(s, e) for _, s, e in spans])
        if self.detect_names:
            for ti, found in enumerate(names.english_names(list(texts), covered)):
                for s, e in found:
                    all_spans[ti].append(("PERSON", s, e))
                    covered[ti].append((s, e))
            for ti, found in enumerate(names.chinese_names_batch(list(texts), covered)):
                for s, e in found:
                    all_spans[ti].append(("PERSON", s, e))
        for spans in all_spans:
            spans.sort(key=lambda sp: sp[1])
        return all_spans

    # ---------------------------------------------------------------------------------- internals
    def _render(self, text: str, spans: list[tuple[str, int, int]], session: _Session) -> ScrubResult:
        if not spans:
            return ScrubResult(text, (), {})
        pieces: list[str] = []
        entities: list[Entity] = []
        counts: Counter = Counter()
        pos = 0
        for pii_type, start, end in spans:
            if start < pos:  # overlapping (should not happen; keep the earlier one)
                continue
            value = text[start:end]
            rep = session.replacement(pii_type, value)
            pieces.append(text[pos:start])
            pieces.append(rep)
            entities.append(Entity(pii_type, start, end, value, rep))
            counts[pii_type] += 1
            pos = end
        pieces.append(text[pos:])
        out = text if self.mode == "drop" else "".join(pieces)
        return ScrubResult(out, tuple(entities), dict(counts))
