"""Cheap validators for structured identifiers (pure functions, no I/O).

Checksum policy (one place, used by the detectors in ``patterns.py``):

* Chinese resident ID, 18 digits (GB 11643-1999): the ISO 7064 MOD 11-2 check character must match
  AND the birth date must be a real date (1900 ≤ year ≤ today's century). A number that fails is
  *not* an ID — order numbers and tracking numbers of 18 digits are common — unless a strong
  context cue (身份证 / 证件号 / ID card …) stands right before it; then it is an ID with a typo and
  is still scrubbed.
* Legacy 15-digit IDs have no checksum: they need a valid region digit and a real YYMMDD date.
* Bank / credit cards: Luhn AND a known issuer prefix (IIN). Luhn alone passes 1 random number in
  10, so a Luhn-valid 16-digit number with an unknown prefix is only a card after a card cue.
* Unified social credit codes (GB 32100-2015): the MOD 31 check character must match; an all-digit
  code also needs a cue (信用代码 / 税号 …), since 1 random 18-digit number in 31 passes.
* US SSN: the SSA rules (area not 000/666/9xx, group not 00, serial not 0000).
"""
from __future__ import annotations

import datetime

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def cn_id18_checksum_ok(value: str) -> bool:
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(value[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == value[17].upper()


def cn_id18_date_ok(value: str) -> bool:
    if len(value) != 18 or not value[:17].isdigit():
        return False
    year, month, day = int(value[6:10]), int(value[10:12]), int(value[12:14])
    return 1900 <= year <= datetime.date.today().year and _real_date(year, month, day)


def cn_id18_valid(value: str) -> bool:
    """Resident ID: region digit 1–8, real birth date, MOD 11-2 check character."""
    return value[:1] in "12345678" and cn_id18_date_ok(value) and cn_id18_checksum_ok(value)


def cn_id15_valid(value: str) -> bool:
    """Legacy 15-digit ID (no checksum): region digit 1–8 and a real 19YYMMDD birth date."""
    if len(value) != 15 or not value.isdigit() or value[0] not in "12345678":
        return False
    return _real_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))


def luhn_ok(digits: str) -> bool:
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_issuer_known(digits: str) -> bool:
    """Issuer prefixes of the card networks seen in Chinese and English text."""
    n = len(digits)
    p2, p4 = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return n == 16
    if p2 in (34, 37):  # Amex
        return n == 15
    if p2 == 62:  # UnionPay
        return 16 <= n <= 19
    if p4 == 6011 or p2 == 65 or 644 <= int(digits[:3]) <= 649:  # Discover
        return 16 <= n <= 19
    if p2 == 35:  # JCB
        return n in (15, 16, 19)
    if p4 in (1800, 2131):  # JCB (15-digit legacy)
        return n == 15
    if p2 in (36, 38) or 300 <= int(digits[:3]) <= 305:  # Diners
        return 14 <= n <= 19
    if p2 == 50 or 56 <= p2 <= 69 or p4 in (6304, 6759, 6761, 6762, 6763) or p4 in (604, 6390):  # Maestro
        return 12 <= n <= 19
    if digits.startswith(("9558", "9559", "9555", "9400", "9880")):  # older domestic Chinese debit cards
        return 16 <= n <= 19
    return False


def card_valid(digits: str, *, context: bool = False) -> bool:
    """Luhn plus a known issuer prefix; with a card cue, Luhn on 16–19 digits is enough."""
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not luhn_ok(digits):
        return False
    return card_issuer_known(digits) or (context and 16 <= len(digits) <= 19)


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_valid(value: str) -> bool:
    """Unified social credit code (GB 32100-2015), MOD 31 check character."""
    value = value.upper()
    if len(value) != 18 or any(c not in _USCC_CHARS for c in value) or not value[2:8].isdigit():
        return False
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(value[:17], _USCC_WEIGHTS))
    check = (31 - total % 31) % 31
    return _USCC_CHARS[check] == value[17]


def ssn_valid(value: str) -> bool:
    digits = value.replace("-", "").replace(" ", "")
    if len(digits) != 9 or not digits.isdigit():
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"
