"""Structured PII: one combined compiled regex pass, each hit confirmed by a cheap validator.

Every detector is a ``Detector(type, regex, validate)``. All regexes are OR-ed into one pattern
(priority order = list order); the scanner runs it once over the text. When the winning
alternative's validator rejects a hit, the lower-priority detectors are tried at the same position
(``re.match`` — cheap, and rare), then the scan moves on. See ``checksums.py`` for the checksum policy.

Boundaries are ASCII-only (``(?<![0-9A-Za-z])``): Chinese characters count as word characters for
``\\b``, and ``手机13812345678`` must still match.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable

import phonenumbers

from . import checksums

L = r"(?<![0-9A-Za-z])"  # ASCII left boundary
R = r"(?![0-9A-Za-z])"  # ASCII right boundary

# Strong context cues: a number right after one of these is the named thing even when its
# checksum fails (a typo in a real ID is still a real ID).
ID_CUE_RE = re.compile(r"(?:身份证|证件|公民身份|id\s*card|id\s*(?:no|number|#)|identity)\s*(?:号码|号)?\s*[:：#]?\s*$", re.I)
CARD_CUE_RE = re.compile(r"(?:卡号|银行卡|信用卡|借记卡|储蓄卡|card\s*(?:no\.?|number|#)?|account)\s*(?:号码|号)?\s*[:：#]?\s*$", re.I)
PHONE_CUE_RE = re.compile(r"(?:phone|call(?:ed)?|tel|mobile|cell|fax|text|dial|reach|contact|电话|手机|致电|联系|号码)"
                          r"[^\n。；;!?！？]{0,%d}$" % 56, re.I)
PHONE_CUE_WINDOW = 64  # a phone cue may sit a few words back: "contact Norma Fisher at n@x.org or 6929002134"
USCC_CUE_RE = re.compile(r"(?:信用代码|社会信用|税号|纳税人识别号|uscc|credit\s*code)\s*[:：]?\s*$", re.I)
VERSION_CUE_RE = re.compile(r"(?:\bv|version|ver\.?|release|版本|版本号)\s*[:：]?\s*$", re.I)
CUE_WINDOW = 24

PROVINCES = (
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|"
    "贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门"
)
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
STREET_SUFFIXES = (
    "Alley|Avenue|Ave|Bayou|Beach|Bend|Bluff|Bluffs|Bottom|Boulevard|Blvd|Branch|Bridge|Brook|Brooks|Burg|Burgs|"
    "Bypass|Camp|Canyon|Cape|Causeway|Center|Centers|Circle|Circles|Cliff|Cliffs|Club|Common|Commons|Corner|Corners|"
    "Course|Court|Ct|Courts|Cove|Coves|Creek|Crescent|Crest|Crossing|Crossroad|Curve|Dale|Dam|Divide|Drive|Dr|Drives|"
    "Estate|Estates|Expressway|Extension|Extensions|Fall|Falls|Ferry|Field|Fields|Flat|Flats|Ford|Fords|Forest|Forge|"
    "Forges|Fork|Forks|Fort|Freeway|Garden|Gardens|Gateway|Glen|Glens|Green|Greens|Grove|Groves|Harbor|Harbors|Haven|"
    "Heights|Highway|Hwy|Hill|Hills|Hollow|Inlet|Island|Islands|Isle|Junction|Junctions|Key|Keys|Knoll|Knolls|Lake|"
    "Lakes|Land|Landing|Lane|Ln|Light|Lights|Loaf|Lock|Locks|Lodge|Loop|Mall|Manor|Manors|Meadow|Meadows|Mews|Mill|"
    "Mills|Mission|Motorway|Mount|Mountain|Mountains|Neck|Orchard|Oval|Overpass|Park|Parks|Parkway|Parkways|Pass|"
    "Passage|Path|Pike|Pine|Pines|Place|Pl|Plain|Plains|Plaza|Point|Points|Port|Ports|Prairie|Radial|Ramp|Ranch|Rapid|"
    "Rapids|Rest|Ridge|Ridges|River|Road|Rd|Roads|Route|Row|Rue|Run|Shoal|Shoals|Shore|Shores|Skyway|Spring|Springs|"
    "Spur|Spurs|Square|Squares|Station|Stravenue|Stream|Street|St|Streets|Summit|Terrace|Throughway|Trace|Track|"
    "Trafficway|Trail|Trailer|Tunnel|Turnpike|Underpass|Union|Unions|Valley|Valleys|Via|Viaduct|View|Views|Village|"
    "Villages|Ville|Vista|Walk|Walks|Wall|Way|Ways|Well|Wells"
)


@dataclasses.dataclass(frozen=True)
class Hit:
    type: str
    start: int
    end: int


Validator = Callable[[str, "re.Match[str]"], tuple[int, int] | None]


@dataclasses.dataclass(frozen=True)
class Detector:
    type: str
    regex: str
    validate: Validator  # (text, match) -> (start, end) of the PII inside the match, or None
    gate: str = "digit"  # what the text must contain for this detector to be tried (see GATES)
    digit_initial: bool = False  # the match starts with a digit, '+' or '(' (grouped behind one lookahead)


_DIGIT_RE = re.compile(r"\d")
_CJK_ANY_RE = re.compile(r"[\u4e00-\u9fa5]")
# Cheap whole-text checks: a detector whose gate fails is left out of the combined regex for that text
# (Python's re tries every alternative at every position, so fewer alternatives = a faster scan).
GATES: dict[str, Callable[[str], bool]] = {
    "digit": lambda t: _DIGIT_RE.search(t) is not None,
    "at": lambda t: "@" in t,
    "scheme": lambda t: "://" in t,
    "colon": lambda t: ":" in t,
    "cjk": lambda t: _CJK_ANY_RE.search(t) is not None and _DIGIT_RE.search(t) is not None,
    "cjk_only": lambda t: _CJK_ANY_RE.search(t) is not None,
    "passport": lambda t: "护照" in t or "assport" in t or "ASSPORT" in t,
    "apo": lambda t: "PO A" in t,
}


def _before(text: str, m: re.Match) -> str:
    return text[max(0, m.start() - CUE_WINDOW):m.start()]


def _whole(text: str, m: re.Match) -> tuple[int, int]:
    return m.start(), m.end()


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def v_always(text, m):
    return _whole(text, m)


def v_url_credentials(text, m):
    return m.start("uc"), m.end("uc")


def v_cn_id18(text, m):
    value = m.group()
    if checksums.cn_id18_valid(value) or ID_CUE_RE.search(_before(text, m)):
        return _whole(text, m)
    return None


def v_cn_id15(text, m):
    return _whole(text, m) if checksums.cn_id15_valid(m.group()) else None


def v_uscc(text, m):
    value = m.group()
    if not checksums.uscc_valid(value):
        return None
    if value.isdigit() and not USCC_CUE_RE.search(_before(text, m)):
        return None  # 1 random 18-digit order number in 31 passes the MOD 31 check: need a cue
    return _whole(text, m)


def v_card(text, m):
    raw = m.group()
    seps = {c for c in raw if not c.isdigit()}
    if len(seps) > 1:  # mixed separators: "1234 5678-…" is not how cards are written
        return None
    digits = _digits(raw)
    if checksums.card_valid(digits, context=bool(CARD_CUE_RE.search(_before(text, m)))):
        return _whole(text, m)
    return None


def v_ssn(text, m):
    return _whole(text, m) if checksums.ssn_valid(m.group()) else None


_DOTTED_PHONE_RE = re.compile(r"(?:\+?1\.)?\d{3}\.\d{3}\.\d{4}")


def v_phone(text, m):
    """International/US-style numbers through the phonenumbers library.

    Written with separators, '+' or parentheses, or right after a phone cue ("call", "tel", 电话)
    → must be a *possible* number; a bare run of digits without a cue (an order number? an
    amount?) → must be a *valid* number (real area code and exchange).
    """
    raw = m.group()
    core = re.split(r"\s*(?:x|ext\.?|#)", raw, maxsplit=1)[0]
    if core.startswith("00"):
        core = "+" + core[2:]
    try:
        num = phonenumbers.parse(core, "US")
    except phonenumbers.NumberParseException:
        return None
    formatted = any(c in core for c in " .-()+")
    if core.count(".") >= 2 and not _DOTTED_PHONE_RE.fullmatch(core) and not phonenumbers.is_valid_number(num):
        return None  # dotted digit groups are versions/amounts unless shaped 3.3.4 or a real number
    if formatted or PHONE_CUE_RE.search(text[max(0, m.start() - PHONE_CUE_WINDOW):m.start()]):
        ok = phonenumbers.is_possible_number(num)
    else:
        ok = phonenumbers.is_valid_number(num)
    return _whole(text, m) if ok else None


def v_ipv4(text, m):
    if VERSION_CUE_RE.search(_before(text, m)):
        return None
    return _whole(text, m)


def v_ipv6(text, m):
    value = m.group()
    if "::" not in value and value.count(":") != 7:
        return None
    if not any(c.isalpha() for c in value) and value.count(":") < 7 and len(value) < 10:
        return None  # "12::30" — not worth the risk
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return None
    return _whole(text, m)


_ADDRESS_CN_TRIM = "住在于位到从址是为的地：:，, "
_ADDRESS_UNIT_RE = re.compile(r"[市区县州镇乡路街道巷弄村]")


def v_address_cn(text, m):
    start, end = m.start(), m.end()
    while start < end and text[start] in _ADDRESS_CN_TRIM:
        start += 1
    prov = m.groupdict().get("prov")  # only the province-led detector has this group
    rest = text[m.end("prov"):end] if prov else text[start:end]
    if prov and not _ADDRESS_UNIT_RE.search(rest):
        return None
    return (start, end) if end - start >= 6 else None


def v_passport(text, m):
    return m.start("pp"), m.end("pp")


CJK = r"\u4e00-\u9fa5"
_CAP = r"[A-Z][a-z]+"

DETECTORS: tuple[Detector, ...] = (
    Detector("CREDENTIALS",
             r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{1,15}://(?P<uc>[^\s/:@\[\]]+:[^\s/@\[\]]+)@", v_url_credentials,
             gate="scheme"),
    Detector("EMAIL", r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}" + R, v_always, gate="at"),
    Detector("PASSPORT",
             r"(?:护照(?:号码|号)?|(?i:passport)(?:\s*(?i:no\.?|number|#))?)\s*[:：]?\s*(?P<pp>[A-Z]{1,2}\d{7,8}|\d{9})" + R, v_passport, gate="passport"),
    Detector("CN_ID", L + r"[1-8]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]" + R, v_cn_id18, digit_initial=True),
    Detector("USCC", L + r"[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}" + R, v_uscc),
    Detector("CN_ID", L + r"[1-8]\d{7}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}" + R, v_cn_id15, digit_initial=True),
    Detector("CARD", L + r"\d(?:[ \-]?\d){11,18}" + R, v_card, digit_initial=True),
    Detector("SSN", r"(?<![0-9A-Za-z\-])\d{3}-\d{2}-\d{4}(?![0-9A-Za-z\-])", v_ssn, digit_initial=True),
    Detector("PHONE", r"(?<![0-9A-Za-z+])(?:(?:\+|00)86[\s\-]?)?1[3-9]\d(?:[\s\-]?\d{4}){2}" + R, v_always, digit_initial=True),
    Detector("PHONE", r"(?<![0-9A-Za-z+])(?:(?:\+|00)86[\s\-]?)?(?:\(0\d{2,3}\)|0\d{2,3})[\s\-]?\d{3,4}[\s\-]?\d{4}"
                      r"(?:\s*(?:转|ext\.?|x)\s*\d{1,5})?" + R, v_always, digit_initial=True),
    Detector("PHONE", r"(?<![0-9A-Za-z+])(?:(?:\+|00)\d{1,3}[\s.\-]?|1[\s.\-])?(?:\(\d{2,4}\)\s?|\d{2,4}[\s.\-]?)\d{3,4}[\s.\-]?\d{3,4}"
                      r"(?:\s*(?:x|ext\.?|#)\s*\d{1,6})?" + R, v_phone, digit_initial=True),
    Detector("IP", r"(?<![0-9A-Za-z.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![0-9A-Za-z]|\.\d)", v_ipv4, digit_initial=True),
    Detector("IP", r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|(?::[0-9A-Fa-f]{1,4}){1,7}|[0-9A-Fa-f]{1,4})(?![0-9A-Za-z:])", v_ipv6, gate="colon"),
    Detector("PLATE", rf"[{PLATE_PROVINCES}][A-Z][·•\-\s]?(?=[A-Z0-9]*\d[A-Z0-9]*\d)[A-Z0-9]{{5,6}}" + R, v_always, gate="cjk"),
    Detector("ADDRESS",
             rf"{L}\d{{1,6}}\s+(?:{_CAP}\s+){{1,3}}(?:{STREET_SUFFIXES})\.?(?![A-Za-z])"
             r"(?:,?\s+(?:Apt\.?|Suite|Unit|Ste\.?|#)\s*[\w\-]+)?"
             rf"(?:,?\s+{_CAP}(?:\s+{_CAP}){{0,2}},\s+[A-Z]{{2}}\s+\d{{5}}(?:-\d{{4}})?)?" + R, v_always, digit_initial=True),
    Detector("ADDRESS",
             r"(?:(?:Unit|PSC)\s+\d{4},?\s+Box\s+\d{4}|US[A-Z]{1,4}\s+[A-Z][a-z]+),?\s+[ADF]PO\s+A[AEP]\s+\d{5}" + R, v_always, gate="apo"),
    Detector("ADDRESS",
             rf"(?P<prov>(?:{PROVINCES})(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)?)"
             rf"[{CJK}A-Za-z0-9]{{2,30}}?(?:\d+|[A-Za-z]|[一二三四五六七八九十百]+)(?:号楼|号院|号|座|栋|幢|单元|室)"
             rf"(?:[0-9A-Za-z一二三四五六七八九十]{{1,5}}(?:号楼|号|座|栋|幢|单元|层|室))*(?:\s?\d{{6}}(?!\d))?", v_address_cn, gate="cjk_only"),
    Detector("ADDRESS",
             rf"[{CJK}]{{2,6}}(?:市|区|县)[{CJK}0-9]{{1,20}}?(?:路|街|大道|巷|弄|胡同)[0-9一二三四五六七八九十]{{1,6}}(?:号|座|栋|幢)"
             rf"(?:[0-9A-Za-z一二三四五六七八九十]{{1,5}}(?:号楼|号|座|栋|幢|单元|层|室))*", v_address_cn, gate="cjk_only"),
)


class StructuredScanner:
    """``scan(text)`` returns non-overlapping hits in text order.

    Per text, the detectors whose gate passes are OR-ed into one regex (compiled once per gate
    combination and cached); digit-initial alternatives sit behind one ``(?=[\d(+])`` lookahead so
    non-digit positions are skipped in one test.
    """

    def __init__(self, types: frozenset[str] | None = None):
        self.detectors = [d for d in DETECTORS if types is None or d.type in types]
        self.singles = [re.compile(d.regex) for d in self.detectors]
        self.gates = sorted({d.gate for d in self.detectors})
        self._cache: dict[tuple[str, ...], re.Pattern | None] = {}

    def _combined(self, open_gates: tuple[str, ...]) -> re.Pattern | None:
        if open_gates not in self._cache:
            active = [i for i, d in enumerate(self.detectors) if d.gate in open_gates]
            digit = [f"(?:{self.detectors[i].regex})" for i in active if self.detectors[i].digit_initial]
            other = [f"(?:{self.detectors[i].regex})" for i in active if not self.detectors[i].digit_initial]
            parts = ([rf"(?=[\d(+])(?:{'|'.join(digit)})"] if digit else []) + other
            # the combined regex only finds the leftmost position where something matches;
            # _confirm then walks the detectors in priority order at that position
            got = re.compile("|".join(parts)) if parts else None
            self._cache[open_gates] = got
        return self._cache[open_gates]

    def scan(self, text: str) -> list[Hit]:
        hits: list[Hit] = []
        if not text or not self.detectors:
            return hits
        open_gates = tuple(g for g in self.gates if GATES[g](text))
        combined = self._combined(open_gates)
        if combined is None:
            return hits
        pos, n = 0, len(text)
        search = combined.search
        while pos < n:
            m = search(text, pos)
            if m is None:
                break
            hit = self._confirm(text, m, open_gates)
            if hit is None:
                pos = m.start() + 1
                continue
            hits.append(hit)
            pos = max(hit.end, m.start() + 1)
        return hits

    def _confirm(self, text: str, m: re.Match, open_gates: tuple[str, ...]) -> Hit | None:
        """The highest-priority detector that matches at this position and validates."""
        start = m.start()
        for i, det in enumerate(self.detectors):
            if det.gate not in open_gates:
                continue
            m2 = self.singles[i].match(text, start)
            if m2 is None:
                continue
            span = det.validate(text, m2)
            if span is not None:
                return Hit(det.type, *span)
        return None
