"""English non-PII phrases that look like person names, drawn from sources nobody tuned to the name detector.

A name detector keyed on capitalised words, given-name and surname lists and a small NER sees a person
in many proper nouns: places and streets named after people ("Lincoln Park", "Kathleen Highway"), firms
("Wells Fargo", "Mathis-Wagner"), eponyms ("Parkinson's disease", "Kendall test"), units, holidays,
titles of works, products. This module collects such phrases, by kind, from

* WordNet 3.0 (``curation.assets``: the Debian ``wordnet-base`` files): noun lemmas with a capital
  letter, grouped by their lexicographer file (``noun.location`` → place, ``noun.group`` → organisation,
  ``noun.state``/``noun.body`` → medical, drugs by their hypernym, …); never ``noun.person`` lemmas, nor
  lemmas holding the full name of a WordNet person ("Susan B. Anthony dollar": replacing that name is right),
* Faker en_US's generators (cities such as "West Davidmouth", street names such as "Kathleen Highway",
  firms such as "Castaneda, Castillo and Manning"), built from real given names and surnames (a street
  name is dropped when it is a given name + a census surname, "Michael Springs": a person's name too),
* a short list of technical terms named after people that WordNet lacks (optimisers, tests, filters,
  units, eponymous diseases: ``TECHNICAL``),

and splits them by a stable hash of the phrase into ``dev`` (looked at while fixing the detector) and
``held-out`` (never used to tune anything). bench/pii.py puts them in sentence frames of its own per split.
Phrases that share a distinctive word with bench/pii.py's hand-written held-out sentences are left out of
``dev`` (``exclude``). Nothing here is read at scrubbing time.
"""
from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from functools import lru_cache

SPLITS = ("dev", "held-out")
KINDS = ("place", "street", "organisation", "product", "drug", "medical", "science", "time", "work", "food")

# lexicographer file → kind (noun.person, plants and animals — Latin binomials — are left out)
LEXNAME_KINDS = {
    "noun.location": "place", "noun.object": "place", "noun.group": "organisation", "noun.artifact": "product",
    "noun.state": "medical", "noun.body": "medical", "noun.process": "science", "noun.cognition": "science",
    "noun.relation": "science", "noun.phenomenon": "science", "noun.quantity": "science",
    "noun.attribute": "science", "noun.shape": "science", "noun.time": "time", "noun.communication": "work",
    "noun.act": "work", "noun.event": "work", "noun.food": "food", "noun.substance": "food",
    "noun.possession": "work", "noun.feeling": "work",
}
DRUG_ROOTS = ("drug.n.01", "medicine.n.02", "antibiotic.n.01", "vaccine.n.01")
# Eponymous technical terms not in WordNet 3.0 (2006): written from general knowledge of the fields.
TECHNICAL = {
    "science": (
        "Adam optimizer", "the Adam Optimizer", "Monte Carlo", "Monte Carlo Tree Search", "Kalman filter",
        "Extended Kalman Filter", "Gaussian process", "Gaussian Mixture Model", "Markov Chain Monte Carlo",
        "Hidden Markov Model", "Fast Fourier Transform", "Bayes' theorem", "Naive Bayes", "Dijkstra's algorithm",
        "Levenshtein distance", "Jaccard Index", "Huffman coding", "Newton-Raphson method", "Pearson correlation",
        "Spearman's rank correlation", "Kaplan-Meier estimator", "Cox regression", "Wilcoxon signed-rank test",
        "Mann-Whitney U test", "Kruskal-Wallis test", "Bloom filter", "Turing Machine", "Nash Equilibrium",
        "Gini coefficient", "Euler method", "Runge-Kutta method", "Lagrange multiplier", "Hamming distance",
        "Bellman-Ford algorithm", "Floyd-Warshall algorithm", "Boyer-Moore search", "Smith-Waterman alignment",
        "Lotka-Volterra equations", "Navier-Stokes equations", "Black-Scholes model", "Box-Cox transform",
        "Holt-Winters forecasting", "Augmented Dickey-Fuller test", "Durbin-Watson statistic", "Fisher's exact test",
        "Bonferroni correction", "Benjamini-Hochberg procedure", "Chebyshev's inequality", "Xavier initialization",
        "Glorot Uniform", "Nesterov Momentum", "Hopfield Network", "Restricted Boltzmann Machine", "Kohonen Map",
        "Lloyd's algorithm", "Viterbi Algorithm", "Baum-Welch algorithm", "Kullback-Leibler divergence",
        "Jensen-Shannon divergence", "Wasserstein Distance", "Mahalanobis Distance", "Student's t-test",
        "Pareto Principle", "Bessel Function", "Laplace Transform", "Poisson Regression", "Dirichlet Allocation",
        "Latent Dirichlet Allocation", "Cholesky Decomposition", "Jacobi Iteration", "Gauss-Seidel method",
        "degrees Celsius", "degrees Fahrenheit", "Kelvin", "Newton metres", "Joules", "Watt Hours", "Tesla",
        "Pascal seconds", "Hertz", "Coulomb's law", "Ohm's Law", "Boyle's Law", "Hooke's Law", "Doppler Effect",
    ),
    "medical": (
        "Parkinson disease", "Parkinson's Disease", "Hodgkin lymphoma", "Hodgkin Lymphoma", "Non-Hodgkin Lymphoma",
        "Crohn's Disease", "Graves Disease", "Addison's disease", "Cushing Syndrome", "Asperger Syndrome",
        "Tourette Syndrome", "Bell's Palsy", "Raynaud's Phenomenon", "Kaposi Sarcoma", "Wilms Tumor",
        "Ewing Sarcoma", "Guillain-Barre Syndrome", "Barrett's Esophagus", "Lyme Disease", "Meniere's Disease",
        "Sjogren Syndrome", "Apgar Score", "Glasgow Coma Scale", "Alzheimer's Disease", "Huntington Disease",
        "Hashimoto Thyroiditis", "Marfan Syndrome", "Turner Syndrome", "Klinefelter Syndrome", "Reye Syndrome",
        "Kawasaki Disease", "Paget Disease", "Dupuytren Contracture", "Baker's Cyst", "Osgood-Schlatter Disease",
        "Tay-Sachs Disease", "Niemann-Pick Disease", "Creutzfeldt-Jakob Disease", "Wolff-Parkinson-White Syndrome",
        "Stevens-Johnson Syndrome", "Epstein-Barr Virus", "Whipple Procedure", "Heimlich Maneuver",
        "Valsalva Maneuver", "Trendelenburg Position", "Foley Catheter", "Swan-Ganz Catheter", "Down Syndrome",
        "Bence Jones Protein", "Babinski Sign", "Homan Sign", "Murphy Sign", "Romberg Test",
    ),
}
# Common English words that say nothing by themselves: sharing one of them with a held-out sentence
# does not keep a phrase out of dev ("Lake", "River", "City" name many places).
GENERIC_WORDS = frozenset(
    "the of and a an in on at for to by with & s st saint new old north south east west great lake river city "
    "county state park bay mount point island university college school clinic hospital health care institute "
    "market bridge street road air lines day company group bank".split()
)
_UPPER = re.compile(r"[A-Z]")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*")


def split_of(phrase: str) -> str:
    """``dev`` / ``held-out`` for ``phrase``, the same on every machine and run."""
    return SPLITS[zlib.crc32(phrase.encode("utf-8")) % 2]


def _lemma_text(name: str) -> str:
    return name.replace("_", " ")


@lru_cache(maxsize=1)
def _wordnet_phrases() -> dict[str, str]:
    """phrase → kind from WordNet noun lemmas with a capital letter."""
    from curation.augment.methods import wordnet

    wn = wordnet()
    nouns = list(wn.all_synsets("n"))
    person_names: set[tuple[str, ...]] = set()  # multi-word names of people, as word tuples without dots
    for synset in nouns:
        if synset.lexname() == "noun.person":
            for lemma in synset.lemmas():
                words = tuple(_lemma_text(lemma.name()).replace(".", "").split())
                if len(words) >= 2 and words[0][:1].isupper():
                    person_names.add(words)
    longest = max((len(n) for n in person_names), default=0)

    def holds_a_person(phrase: str) -> bool:
        words = phrase.replace(".", "").replace("'s", "").split()
        return any(tuple(words[i:i + k]) in person_names
                   for k in range(2, min(longest, len(words)) + 1) for i in range(len(words) - k + 1))

    drugs = set()
    for root in DRUG_ROOTS:
        try:
            top = wn.synset(root)
        except Exception:  # noqa: BLE001 - a root missing from this WordNet: no drugs from it
            continue
        for synset in top.closure(lambda s: s.hyponyms() + s.instance_hyponyms()):
            drugs.add(synset.name())
    out: dict[str, str] = {}
    for synset in nouns:
        kind = "drug" if synset.name() in drugs else LEXNAME_KINDS.get(synset.lexname())
        if kind is None:
            continue
        for lemma in synset.lemmas():
            phrase = _lemma_text(lemma.name())
            if not _UPPER.search(phrase) or not phrase.isascii() or len(phrase) > 60 or holds_a_person(phrase):
                continue
            if kind == "drug" and not _UPPER.match(phrase):
                continue  # generic drug names are lower case; brands start with a capital (Lipitor)
            out.setdefault(phrase, kind)
    return out


@lru_cache(maxsize=1)
def _faker_phrases() -> dict[str, str]:
    """phrase → kind from Faker en_US's city, street-name and company generators (fixed seed)."""
    from faker import Faker

    from .en_lexicon import get_lexicon, key

    given, surnames = get_lexicon()
    fake = Faker("en_US")
    fake.seed_instance(20240605)
    out: dict[str, str] = {}
    for _ in range(1500):
        out.setdefault(fake.city(), "place")
        street = fake.street_name()
        words = street.split()
        if not (len(words) == 2 and key(words[0]) in given and key(words[1]) in surnames):
            out.setdefault(street, "street")
        out.setdefault(fake.company(), "organisation")
        out.setdefault(f"{fake.city()}, {fake.state()}", "place")
    return out


@lru_cache(maxsize=1)
def all_phrases() -> dict[str, tuple[str, str]]:
    """phrase → (kind, source) over the three sources (WordNet first, then Faker, then ``TECHNICAL``)."""
    out: dict[str, tuple[str, str]] = {}
    for phrase, kind in _wordnet_phrases().items():
        out.setdefault(phrase, (kind, "wordnet"))
    for phrase, kind in _faker_phrases().items():
        out.setdefault(phrase, (kind, "faker"))
    for kind, phrases in TECHNICAL.items():
        for phrase in phrases:
            out.setdefault(phrase, (kind, "technical"))
    return out


def distinctive_words(texts: Iterable[str]) -> frozenset[str]:
    """Lower-cased capitalised words of ``texts`` that are not ``GENERIC_WORDS``."""
    words = set()
    for text in texts:
        for w in _WORD.findall(text):
            if w[:1].isupper() and w.lower() not in GENERIC_WORDS:
                words.add(w.lower().replace("’", "'"))
    return frozenset(words)


def lookalike_phrases(split: str, kinds: Iterable[str] = KINDS, exclude: Iterable[str] = ()) -> dict[str, list[str]]:
    """Sorted phrases of ``split`` per kind. ``exclude``: texts whose distinctive words keep a phrase out of
    ``dev`` (bench/pii.py passes its hand-written held-out sentences)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    kinds = tuple(kinds)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown kind(s) {', '.join(unknown)}; expected some of {', '.join(KINDS)}")
    banned = distinctive_words(exclude) if split == "dev" else frozenset()
    out: dict[str, list[str]] = {k: [] for k in kinds}
    for phrase, (kind, _) in sorted(all_phrases().items()):
        if kind not in out or split_of(phrase) != split:
            continue
        if banned and any(w.lower().replace("’", "'") in banned for w in _WORD.findall(phrase)):
            continue
        out[kind].append(phrase)
    return out


def source_of(phrase: str) -> str | None:
    """``wordnet`` / ``faker`` / ``technical`` for a collected phrase (None: not collected)."""
    got = all_phrases().get(phrase)
    return got[1] if got else None
