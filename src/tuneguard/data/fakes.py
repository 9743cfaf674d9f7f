"""Format-keeping fake values for the pseudonym operator, drawn from a seeded RNG (the seed is a keyed HMAC).

A fake keeps the shape of the original (separators, grouping, length, country) and passes the same validity
checks where the entity has one: Luhn for cards, mod-97 for IBANs, GB 11643 / GB 32100 for Chinese IDs,
`phonenumbers` validity for phone numbers, SSA rules for SSNs.
"""

from __future__ import annotations

import datetime as dt
import random
import string

import phonenumbers

from .pii.checksums import (
    IBAN_LENGTHS,
    USCC_ALPHABET,
    cn_id_check_char,
    iban_check_digits,
    luhn_check_digit,
    org_code_check_char,
)

FIRST = (
    "Alex",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Rowan",
    "Elena",
    "Mateo",
    "Priya",
    "Lukas",
    "Hannah",
    "Omar",
    "Sofia",
    "Noah",
    "Mia",
    "Leon",
)
LAST = (
    "Smith",
    "Keller",
    "Novak",
    "Haddad",
    "Brennan",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Rossi",
    "Fischer",
    "Walsh",
    "Patel",
    "Silva",
    "Kowalski",
    "Byrne",
    "Weber",
    "Larsen",
    "Ortega",
    "Mills",
)
CN_SURNAME = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
CN_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
CN_PLACES = (
    "江苏省南京市鼓楼区中山路",
    "浙江省杭州市西湖区文三路",
    "广东省深圳市南山区科技园路",
    "四川省成都市武侯区人民南路",
)
STREETS = ("Maple", "Station", "Church", "Mill", "Park", "Highfield", "Linden", "Garden", "Harbor", "Oak")
DOMAINS = ("example.com", "example.org", "example.net")


def like(value: str, rng: random.Random, keep: int = 0) -> str:
    """Replace each character by a random one of the same class, keeping the first `keep` characters."""
    out = list(value[:keep])
    for ch in value[keep:]:
        if ch.isdigit() and ch.isascii():
            out.append(rng.choice(string.digits))
        elif ch.isascii() and ch.isupper():
            out.append(rng.choice(string.ascii_uppercase))
        elif ch.isascii() and ch.islower():
            out.append(rng.choice(string.ascii_lowercase))
        else:
            out.append(ch)
    return "".join(out)


def _regroup(template: str, digits: str) -> str:
    it = iter(digits)
    return "".join(next(it) if c.isdigit() else c for c in template)


def _has_cjk(value: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in value)


def fake_email(value: str, rng: random.Random) -> str:
    return (
        f"{rng.choice(FIRST).lower()}.{rng.choice(LAST).lower()}{rng.randint(1, 999)}@{rng.choice(DOMAINS)}"
    )


def fake_phone(value: str, rng: random.Random) -> str:
    digits = [c for c in value if c.isdigit()]
    keep = 4 if value.startswith(("+", "00")) else min(3, max(1, len(digits) - 6))
    best = None
    for _ in range(60):
        new = "".join(digits[:keep]) + "".join(rng.choice(string.digits) for _ in digits[keep:])
        candidate = _regroup(value, new)
        best = best or candidate
        if _phone_valid(candidate):
            return candidate
    return best or value


def _phone_valid(value: str) -> bool:
    core = value.split("x")[0].strip()
    core = "+" + core[2:] if core.startswith("00") else core
    for region in (None,) if core.startswith("+") else ("US", "GB", "CN", "DE"):
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(core, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def fake_card(value: str, rng: random.Random) -> str:
    digits = "".join(c for c in value if c.isdigit())
    body = digits[:4] + "".join(rng.choice(string.digits) for _ in range(len(digits) - 5))
    return _regroup(value, body + luhn_check_digit(body))


def fake_iban(value: str, rng: random.Random) -> str:
    compact = value.replace(" ", "").upper()
    country = compact[:2] if compact[:2] in IBAN_LENGTHS else "DE"
    bban = like(compact[4:], rng)
    iban = country + iban_check_digits(country, bban) + bban
    if " " in value:
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    return iban


def fake_ssn(value: str, rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    digits = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
    return _regroup(value, digits)


def fake_cn_id(value: str, rng: random.Random) -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 20000))
    body = value[:6] + born.strftime("%Y%m%d") + f"{rng.randint(0, 999):03d}"
    return body + cn_id_check_char(body)


def fake_uscc(value: str, rng: random.Random) -> str:
    org = "".join(rng.choice(USCC_ALPHABET[:10] + "ABCDEFGH") for _ in range(8))
    body = value[:8] + org + org_code_check_char(org)
    from .pii.checksums import uscc_check_char

    return body + uscc_check_char(body)


def fake_person(value: str, rng: random.Random) -> str:
    if _has_cjk(value):
        return rng.choice(CN_SURNAME) + "".join(rng.choice(CN_GIVEN) for _ in range(max(1, len(value) - 1)))
    parts = value.split()
    return " ".join([rng.choice(FIRST)] + [rng.choice(LAST) for _ in parts[1:]])


def fake_location(value: str, rng: random.Random) -> str:
    if _has_cjk(value):
        return f"{rng.choice(CN_PLACES)}{rng.randint(1, 300)}号"
    return f"{rng.randint(1, 300)} {rng.choice(STREETS)} Street"


def fake_ip(value: str, rng: random.Random) -> str:
    if ":" in value:
        return "2001:db8:" + ":".join(f"{rng.getrandbits(16):x}" for _ in range(6))
    return ".".join(str(rng.randint(11, 223)) for _ in range(4))


def fake_url(value: str, rng: random.Random) -> str:
    scheme, _, rest = value.partition("://")
    user = f"{rng.choice(FIRST).lower()}{rng.randint(1, 99)}"
    if not rest:
        return value.rsplit("/", 1)[0] + "/" + user
    return f"{scheme}://{user}@{rng.choice(DOMAINS)}/{user}"


def fake_private_key(value: str, rng: random.Random) -> str:
    lines = value.splitlines(keepends=True)
    return "".join(ln if ln.startswith("-----") else like(ln, rng) for ln in lines)


_PREFIX_KEEP = {
    "SECRET_AWS_KEY": 4,
    "SECRET_GITHUB_TOKEN": 4,
    "SECRET_SLACK_TOKEN": 5,
    "SECRET_API_KEY": 3,
    "SECRET_JWT": 3,
    "CN_PASSPORT": 1,
    "MAC_ADDRESS": 0,
}

FAKERS = {
    "EMAIL_ADDRESS": fake_email,
    "PHONE_NUMBER": fake_phone,
    "CREDIT_CARD": fake_card,
    "IBAN_CODE": fake_iban,
    "US_SSN": fake_ssn,
    "CN_RESIDENT_ID": fake_cn_id,
    "CN_USCC": fake_uscc,
    "PERSON": fake_person,
    "LOCATION": fake_location,
    "IP_ADDRESS": fake_ip,
    "URL": fake_url,
    "SECRET_PRIVATE_KEY": fake_private_key,
}


def fake_value(entity: str, value: str, rng: random.Random) -> str:
    faker = FAKERS.get(entity)
    if faker is not None:
        return faker(value, rng)
    return like(value, rng, keep=_PREFIX_KEEP.get(entity, 0))
