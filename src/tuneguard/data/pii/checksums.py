"""Check-digit algorithms for structured identifiers: validation for recognizers, completion for fakes."""

from __future__ import annotations

import datetime as _dt
import math
import re
import string
from collections import Counter

# --- Luhn (payment cards) -----------------------------------------------------------------------------------


# Luhn doubling of one digit, by digit value.
_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_ok(digits: str) -> bool:
    if len(digits) < 2 or not digits.isdigit():
        return False
    if not digits.isascii():  # other Unicode digits: the reference algorithm's arithmetic on code points
        return luhn_check_digit(digits[:-1]) == digits[-1]
    # Equivalent to comparing the computed check digit, in two C-level passes over the string.
    d = _LUHN_DOUBLE
    total = sum(map(int, digits[-1::-2])) + sum(d[int(c)] for c in digits[-2::-2])
    return total % 10 == 0


def luhn_check_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = ord(ch) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


CARD_LENGTHS = {
    "visa": (13, 16, 19),
    "mastercard": (16,),
    "amex": (15,),
    "unionpay": (16, 17, 18, 19),
    "discover": (16, 19),
    "jcb": (15, 16, 17, 18, 19),
    "diners": (14, 16),
    "maestro": (12, 13, 14, 15, 16, 17, 18, 19),
}


def card_brand(digits: str) -> str | None:
    """The card network by issuer prefix (IIN ranges), or None when no major network uses the prefix."""
    n = len(digits)
    p2, p4 = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        brand = "visa"
    elif 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        brand = "mastercard"
    elif p2 in (34, 37):
        brand = "amex"
    elif p2 == 62 or p2 == 81:
        brand = "unionpay"
    elif digits.startswith("6011") or p2 == 65 or 644 <= int(digits[:3]) <= 649:
        brand = "discover"
    elif p2 == 35 or (n == 15 and digits[:4] in ("1800", "2131")):
        brand = "jcb"
    elif p2 in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        brand = "diners"
    elif p2 in (50, 56, 57, 58) or digits[:4] in ("6304", "6759", "6761", "6762", "6763", "0604", "6390"):
        brand = "maestro"
    else:
        return None
    return brand if n in CARD_LENGTHS[brand] else None


# --- IBAN (ISO 13616, mod 97) -------------------------------------------------------------------------------

IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NL": 18,
    "NO": 15,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "SA": 24,
    "SC": 31,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
}


def _iban_int(s: str) -> int:
    return int("".join(str(int(c, 36)) for c in s))


def iban_ok(iban: str) -> bool:
    iban = iban.replace(" ", "").upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    return _iban_int(iban[4:] + iban[:4]) % 97 == 1


def iban_check_digits(country: str, bban: str) -> str:
    return f"{98 - _iban_int(bban + country + '00') % 97:02d}"


# --- China: resident ID (GB 11643-1999) ---------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def cn_id_check_char(body17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(body17, _ID_WEIGHTS, strict=True)) % 11]


def cn_resident_id_ok(value: str, today: _dt.date | None = None) -> bool:
    if len(value) != 18 or not value[:17].isdigit() or value[0] not in "12345678":
        return False
    try:
        born = _dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > (today or _dt.date.today()):
        return False
    return cn_id_check_char(value[:17]) == value[17].upper()


# --- China: unified social credit code (GB 32100-2015, with the GB 11714 organization code inside) ----------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(body17: str) -> str:
    total = sum(_USCC_VALUE[c] * w for c, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(body8: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    r = 11 - total % 11
    return "X" if r == 10 else ("0" if r == 11 else str(r))


def uscc_ok(value: str) -> bool:
    value = value.upper()
    if len(value) != 18 or any(c not in _USCC_VALUE for c in value) or not value[2:8].isdigit():
        return False
    if org_code_check_char(value[8:16]) != value[16]:
        return False
    return uscc_check_char(value[:17]) == value[17]


# --- US social security number ------------------------------------------------------------------------------


def ssn_ok(digits: str) -> bool:
    """SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000; no well-known test numbers."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return digits not in ("078051120", "219099999", "123456789") and len(set(digits)) > 1


# --- entropy for secrets ------------------------------------------------------------------------------------


def shannon_entropy(value: str) -> float:
    """Bits per character of the value's own character distribution."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


_ASCII_CLASSES = (
    re.compile(r"[a-z]"),
    re.compile(r"[A-Z]"),
    re.compile(r"[0-9]"),
    re.compile("[" + re.escape(string.punctuation) + "]"),
)


def char_classes(value: str) -> int:
    """How many of lower case, upper case, digits and ASCII punctuation occur in `value`."""
    if value.isascii():  # for ASCII, islower/isupper/isdigit are exactly these classes: C-level searches
        return sum(1 for r in _ASCII_CLASSES if r.search(value))
    return sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(c in string.punctuation for c in value),
        )
    )
