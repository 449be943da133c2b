"""Checksum validators and the documented checksum policy (curation/pii/checksums.py)."""
import pytest

from curation.pii import PIIScrubber, checksums

VALID_IDS = ["11010519491231002X", "450327199611071416", "37132919630729907X", "110107197711098890"]


@pytest.mark.parametrize("value", VALID_IDS)
def test_valid_resident_ids(value):
    assert checksums.cn_id18_valid(value)


@pytest.mark.parametrize("value", [
    "110105194912310021",  # wrong check character
    "450327199613071416",  # month 13
    "450327189902301416",  # 30 February
    "950327199611071416",  # region digit 9
])
def test_invalid_resident_ids(value):
    assert not checksums.cn_id18_valid(value)


def test_legacy_15_digit_id_needs_a_real_date():
    assert checksums.cn_id15_valid("110105491231002")
    assert not checksums.cn_id15_valid("110105491331002")


@pytest.mark.parametrize("digits,ok", [
    ("4111111111111111", True),  # Visa
    ("5253374068124157", True),  # Mastercard
    ("378282246310005", True),  # Amex
    ("6222021234567890128", True),  # UnionPay 19 digits
    ("6011111111111117", True),  # Discover
    ("4111111111111112", False),  # Luhn fails
    ("1234567812345670", False),  # Luhn passes, unknown issuer
])
def test_cards_need_luhn_and_an_issuer(digits, ok):
    assert checksums.card_valid(digits) is ok


def test_luhn_valid_unknown_issuer_is_a_card_only_after_a_card_cue():
    assert checksums.luhn_ok("1234567812345670")
    assert checksums.card_valid("1234567812345670", context=True)
    s = PIIScrubber(names=False)
    assert s.scrub("order 1234567812345670 shipped").text == "order 1234567812345670 shipped"
    assert s.scrub("卡号：1234567812345670").text == "卡号：[CARD_1]"


def test_uscc_checksum():
    assert checksums.uscc_valid("91350100M000100Y43")
    assert not checksums.uscc_valid("91350100M000100Y44")


@pytest.mark.parametrize("value,ok", [
    ("150-05-2626", True), ("000-12-3456", False), ("666-12-3456", False), ("912-12-3456", False),
    ("123-00-4567", False), ("123-45-0000", False),
])
def test_ssn_rules(value, ok):
    assert checksums.ssn_valid(value) is ok


def test_id_failing_checksum_is_not_an_id_without_a_cue_but_is_with_one():
    s = PIIScrubber(names=False)
    bad = "110105194912310021"
    assert s.scrub(f"流水号{bad}").text == f"流水号{bad}"
    assert s.scrub(f"身份证号：{bad}").text == "身份证号：[CN_ID_1]"
    assert s.scrub(f"ID card: {bad}").text == "ID card: [CN_ID_1]"
