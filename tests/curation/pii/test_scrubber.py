"""PIIScrubber: every type, formats, placeholder consistency, modes, non-PII preservation, edge sizes."""
import re

import pytest

from curation.pii import MODES, PII_TYPES, PLACEHOLDER_RE, PIIScrubber, ScrubResult, mask_value


@pytest.fixture(scope="module")
def scrubber():
    return PIIScrubber(mode="replace")


@pytest.fixture(scope="module")
def structured():
    return PIIScrubber(mode="replace", names=False)


@pytest.mark.parametrize("text,expected", [
    # Chinese
    ("身份证号450327199611071416。", "身份证号[CN_ID_1]。"),
    ("身份证11010519491231002X", "身份证[CN_ID_1]"),
    ("旧身份证110105491231002", "旧身份证[CN_ID_1]"),
    ("手机+86 138-1234-5678", "手机[PHONE_1]"),
    ("手机13812345678，", "手机[PHONE_1]，"),
    ("电话 138 1234 5678", "电话 [PHONE_1]"),
    ("座机(010) 8888 6666转123", "座机[PHONE_1]"),
    ("座机021-12345678", "座机[PHONE_1]"),
    ("卡号6222021234567890128", "卡号[CARD_1]"),
    ("信用卡 4111 1111 1111 1111 已冻结", "信用卡 [CARD_1] 已冻结"),
    ("统一社会信用代码91350100M000100Y43", "统一社会信用代码[USCC_1]"),
    ("护照号码：E12345678", "护照号码：[PASSPORT_1]"),
    ("车牌京A12345和粤B·D12345", "车牌[PLATE_1]和[PLATE_2]"),
    ("住址：北京市朝阳区建国路88号3单元501室。", "住址：[ADDRESS_1]。"),
    # English
    ("mail jane.doe+x@mail.example.co.uk now", "mail [EMAIL_1] now"),
    ("call (434) 416-8587 ext. 123 today", "call [PHONE_1] today"),
    ("call +1-541-754-3010 today", "call [PHONE_1] today"),
    ("call 786.883.8738x069 today", "call [PHONE_1] today"),
    ("call +44 20 7946 0958 today", "call [PHONE_1] today"),
    ("SSN 150-05-2626.", "SSN [SSN_1]."),
    ("card 4111-1111-1111-1111.", "card [CARD_1]."),
    ("from 192.168.10.1 and 2001:db8::8a2e:370:7334 too", "from [IP_1] and [IP_2] too"),
    ("dsn postgres://admin:s3cr3t@db.example.com:5432/app", "dsn postgres://[CREDENTIALS_1]@db.example.com:5432/app"),
    ("ship to 14426 Anderson Points Apt. 939, Jacksonhaven, AZ 50042 asap",
     "ship to [ADDRESS_1] asap"),
    ("mail to Unit 8484 Box 7513, DPO AP 42105.", "mail to [ADDRESS_1]."),
])
def test_structured_types(structured, text, expected):
    assert structured.scrub(text).text == expected


@pytest.mark.parametrize("text,name", [
    ("Please contact Norma Fisher at the front desk.", "Norma Fisher"),
    ("The report was signed by Jorge Sullivan yesterday.", "Jorge Sullivan"),
    ("Dr. Smith will see you now.", "Smith"),
    ("患者唐建华，女，45岁，因咳嗽就诊。", "唐建华"),
    ("医生王鹏建议复查。", "王鹏"),
    ("联系人：欧阳娜娜，电话见附件。", "欧阳娜娜"),
])
def test_person_names(scrubber, text, name):
    result = scrubber.scrub(text)
    assert name not in result.text
    assert "[PERSON_1]" in result.text
    assert [e.value for e in result.entities if e.type == "PERSON"] == [name]


NON_PII = [
    "The visit was on 2024-03-05 at 14:05:33, follow-up 2024年3月5日 9:45 AM.",
    "Total $1,234.50 (¥12,345.00, 3,456万元, 1,250,000 units, 12.5%).",
    "Upgrade from v2.3.1 to version 1.2.3.4 and 4.0.0-rc1 (python 3.10.4).",
    "Diagnosis C34.9, E11.65 and J45.909; I10 controlled.",
    "Trained with lr=1e-4, batch_size=32, weight_decay=0.01, epochs=3, seed 42.",
    "Order 202403051234567890 and tracking 1234567890123456 shipped; invoice INV-2024-0042.",
    "订单号202403051234567890已发货，诊断编码C34.9，本季度营收增长12.5%。",
    "Room 12, page 345, 100 mg twice daily, 3 x 20 = 60, pH 7.4, 37.5°C.",
    "今天天气晴朗，门诊量较上周有所增加，银行卡业务正常。",
    "The United States Congress met in Washington on Monday.",
    # jieba's dictionary tags these common words as names (nr); they must survive
    "社会文明程度提高，环境温馨，专家权威发布，卢布汇率下跌。",
    "宾馆经理表示欢迎，居委会主任到场。",
    "Install Beautiful Soup 4.12 and read the Python docs before 10:00.",
]


@pytest.mark.parametrize("text", NON_PII)
def test_non_pii_is_left_alone(scrubber, text):
    result = scrubber.scrub(text)
    assert result.text == text, result.entities
    assert result.counts == {}


def test_same_value_same_placeholder_within_a_document(structured):
    text = "Call 13812345678 or +86 138-1234-5678; backup 13900001111, then 13812345678 again."
    assert structured.scrub(text).text == "Call [PHONE_1] or [PHONE_1]; backup [PHONE_2], then [PHONE_1] again."


def test_numbering_restarts_per_document(structured):
    a, b = structured.scrub_batch(["x 13900001111 y 13812345678", "z 13812345678"])
    assert a.text == "x [PHONE_1] y [PHONE_2]"
    assert b.text == "z [PHONE_1]"


def test_group_shares_one_map_across_texts(scrubber):
    first, second = scrubber.scrub_group(["我是张伟，电话13812345678", "张伟您好，13812345678已记录，备用13900001111"])
    assert first.text == "我是[PERSON_1]，电话[PHONE_1]"
    assert second.text == "[PERSON_1]您好，[PHONE_1]已记录，备用[PHONE_2]"


def test_entities_carry_offsets_into_the_input(structured):
    text = "邮箱 a.b@example.com，手机13812345678"
    result = structured.scrub(text)
    assert isinstance(result, ScrubResult)
    for e in result.entities:
        assert text[e.start:e.end] == e.value
    assert result.counts == {"EMAIL": 1, "PHONE": 1}


def test_mask_mode():
    s = PIIScrubber(mode="mask", names=False)
    assert s.scrub("手机13812345678").text == "手机138****5678"
    assert s.scrub("card 4111 1111 1111 1111").text == "card **** **** **** 1111"
    assert s.scrub("mail jane@example.com").text == "mail j***@example.com"
    assert mask_value("PERSON", "张伟") == "张*"


def test_hash_mode_is_stable_across_documents_and_salted():
    a = PIIScrubber(mode="hash", names=False, hash_salt="s1")
    b = PIIScrubber(mode="hash", names=False, hash_salt="s2")
    t1 = a.scrub("手机13812345678").text
    t2 = a.scrub("another doc, 138-1234-5678").text
    assert re.fullmatch(r"手机\[PHONE_[0-9a-f]{10}\]", t1)
    assert t1[2:] == t2[-len(t1[2:]):]
    assert b.scrub("手机13812345678").text != t1
    assert PLACEHOLDER_RE.fullmatch(t1[2:])


def test_drop_mode_reports_without_changing_text():
    s = PIIScrubber(mode="drop", names=False)
    result = s.scrub("手机13812345678")
    assert result.text == "手机13812345678"
    assert result.found and result.counts == {"PHONE": 1}


def test_modes_and_types_are_validated():
    assert set(MODES) == {"replace", "mask", "hash", "drop"}
    with pytest.raises(ValueError, match="Valid modes"):
        PIIScrubber(mode="redact")
    with pytest.raises(ValueError, match="Valid types"):
        PIIScrubber(types=["PHONE", "SHOE_SIZE"])


def test_types_option_limits_detection():
    s = PIIScrubber(types=["EMAIL"])
    assert s.scrub("a@example.com 13812345678").text == "[EMAIL_1] 13812345678"


def test_placeholder_re_and_idempotence(scrubber):
    text = "Contact Norma Fisher at 13812345678 or norma@example.com."
    once = scrubber.scrub(text).text
    assert scrubber.scrub(once).text == once
    assert {m.group("type") for m in PLACEHOLDER_RE.finditer(once)} == {"PERSON", "PHONE", "EMAIL"}
    for t in PII_TYPES:
        assert PLACEHOLDER_RE.fullmatch(f"[{t}_12]")
    assert not PLACEHOLDER_RE.search("[NOT_A_TYPE_1] and [PHONE_x]")


def test_numbering_continues_after_existing_placeholders(structured):
    assert structured.scrub("[PHONE_1] then 13812345678").text == "[PHONE_1] then [PHONE_2]"


def test_empty_text(scrubber):
    result = scrubber.scrub("")
    assert result.text == "" and result.entities == () and result.counts == {}
    assert scrubber.scrub_batch([]) == []


def test_mixed_script(scrubber):
    text = "客户John Smith的电话是13812345678，email: john@example.com，身份证450327199611071416。"
    result = scrubber.scrub(text)
    assert result.text == "客户[PERSON_1]的电话是[PHONE_1]，email: [EMAIL_1]，身份证[CN_ID_1]。"


def test_ten_megabyte_text(structured):
    unit = ("Routine log line with order 202403051234567890, build v2.3.1 and lr=1e-4. "
            "今天门诊量正常，诊断编码C34.9。\n")
    body = unit * (10 * 1024 * 1024 // len(unit.encode()))
    text = "start 13812345678\n" + body + "end jane@example.com"
    assert len(text.encode()) >= 10 * 1024 * 1024 - len(unit.encode())
    result = structured.scrub(text)
    assert result.counts == {"PHONE": 1, "EMAIL": 1}
    assert result.text.startswith("start [PHONE_1]\n") and result.text.endswith("end [EMAIL_1]")
    assert len(result.text) == len(text) - len("13812345678") - len("jane@example.com") + len("[PHONE_1]") + len("[EMAIL_1]")


def test_city_led_chinese_address_without_province_group():
    """Regression: the city-led ADDRESS detector has no `prov` group (used to raise IndexError)."""
    from curation.pii import PIIScrubber

    out = PIIScrubber(mode="replace").scrub("住在北京市朝阳区建国路88号的张伟").text
    assert "建国路88号" not in out and "[ADDRESS_1]" in out


def test_hash_mode_default_salt_is_the_installation_secret_not_empty():
    import hashlib
    import hmac

    from django.conf import settings

    from curation.pii.scrubber import HASH_SALT_CONTEXT

    a, b = PIIScrubber(mode="hash", names=False), PIIScrubber(mode="hash", names=False)
    expected = hmac.new(settings.SECRET_KEY.encode(), HASH_SALT_CONTEXT, hashlib.sha256).hexdigest()
    assert a.hash_salt == b.hash_salt == expected and a.hash_salt_source == "installation"
    token = a.scrub("手机13812345678").text[2:]
    assert token == b.scrub("13812345678").text  # stable across scrubbers (and runs) of one installation
    unsalted = hashlib.sha256(b"|PHONE|13812345678").hexdigest()[:10]  # what an empty salt gave: brute-forceable
    assert unsalted not in token
    assert PIIScrubber(mode="hash", names=False, hash_salt="given").hash_salt == "given"


def test_hash_mode_without_django_uses_a_random_salt_per_scrubber():
    import json
    import subprocess
    import sys
    from pathlib import Path

    code = ("import json; from curation.pii.scrubber import PIIScrubber as P;"
            "a, b = P(mode='hash', names=False), P(mode='hash', names=False);"
            "print(json.dumps([a.hash_salt_source, len(a.hash_salt), a.scrub('13812345678').text,"
            " a.scrub('138-1234-5678').text, b.scrub('13812345678').text]))")
    env = {k: v for k, v in __import__("os").environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                         cwd=Path(__file__).resolve().parents[3], check=True).stdout
    source, n, t1, t2, t3 = json.loads(out.strip().splitlines()[-1])
    assert source == "random" and n == 64
    assert t1 == t2 != t3  # consistent within one scrubber, different salt for another
