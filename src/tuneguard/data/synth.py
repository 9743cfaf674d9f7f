"""A labelled bilingual corpus generator (Faker en_US, en_GB, zh_CN, de_DE) with planted PII spans and hard
negatives, for tests and the accuracy/throughput benchmarks. Faker is a dev dependency, imported lazily."""

from __future__ import annotations

import base64
import random
import string
from dataclasses import dataclass, field

import phonenumbers

from .pii.checksums import (
    USCC_ALPHABET,
    cn_id_check_char,
    luhn_check_digit,
    org_code_check_char,
    uscc_check_char,
)

LOCALES = ("en_US", "en_GB", "zh_CN", "de_DE")
REGION = {"en_US": "US", "en_GB": "GB", "zh_CN": "CN", "de_DE": "DE"}


@dataclass(frozen=True)
class Planted:
    entity: str
    start: int
    end: int
    value: str


@dataclass
class Sample:
    text: str
    locale: str
    spans: list[Planted] = field(default_factory=list)
    negative: bool = False


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def unionpay(rng: random.Random) -> str:
    body = "62" + _rand(rng, string.digits, rng.choice((13, 14, 15, 16)))
    return body + luhn_check_digit(body)


def cn_resident_id(rng: random.Random) -> str:
    body = (
        rng.choice(("110105", "310104", "440305", "510107", "320102")) + f"{rng.randint(1950, 2005)}"
        f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    )
    return body + cn_id_check_char(body)


def cn_uscc(rng: random.Random) -> str:
    org = _rand(rng, USCC_ALPHABET[:10] + "ABCDEFGH", 8)
    body = (
        rng.choice("159")
        + rng.choice("123")
        + rng.choice(("110105", "310104", "440305"))
        + org
        + org_code_check_char(org)
    )
    return body + uscc_check_char(body)


def group4(digits: str, sep: str) -> str:
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def private_key(rng: random.Random) -> str:
    body = "\n".join(_rand(rng, string.ascii_letters + string.digits + "+/", 64) for _ in range(4))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"


def jwt(rng: random.Random) -> str:
    def seg(obj: str) -> str:
        return base64.urlsafe_b64encode(obj.encode()).decode().rstrip("=")

    header = seg('{"alg":"HS256","typ":"JWT"}')
    payload = seg('{"sub":"' + _rand(rng, string.digits, 8) + '"}')
    return f"{header}.{payload}.{_rand(rng, string.ascii_letters + string.digits + '-_', 43)}"


class Generator:
    def __init__(self, seed: int = 0) -> None:
        from faker import Faker

        self.rng = random.Random(seed)  # noqa: S311 - test data, not crypto
        self.fakers = {loc: Faker(loc) for loc in LOCALES}
        for i, f in enumerate(self.fakers.values()):
            f.seed_instance(seed * 10 + i)

    def phone(self, locale: str) -> str:
        f = self.fakers[locale]
        for _ in range(50):
            value = f.phone_number()
            core = value.split("x")[0]
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(core, REGION[locale])):
                    return value
            except phonenumbers.NumberParseException:
                continue
        ex = phonenumbers.example_number(REGION[locale])
        return phonenumbers.format_number(ex, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def value(self, entity: str, locale: str) -> str:
        rng, f = self.rng, self.fakers[locale]
        if entity == "EMAIL_ADDRESS":
            return self.fakers["en_US"].email() if locale == "zh_CN" else f.email()
        if entity == "PHONE_NUMBER":
            return self.phone(locale)
        if entity == "CREDIT_CARD":
            digits = (
                unionpay(rng)
                if locale == "zh_CN" and rng.random() < 0.6
                else self.fakers["en_US"].credit_card_number(
                    rng.choice(("visa16", "mastercard", "amex", "discover"))
                )
            )
            return (
                rng.choice((digits, group4(digits, " "), group4(digits, "-")))
                if len(digits) == 16
                else digits
            )
        if entity == "IBAN_CODE":
            iban = self.fakers[rng.choice(("en_GB", "de_DE"))].iban()
            return group4(iban, " ") if rng.random() < 0.5 else iban
        if entity == "US_SSN":
            from .pii.checksums import ssn_ok

            while True:
                v = self.fakers["en_US"].ssn()
                if ssn_ok(v.replace("-", "")):
                    return v
        if entity == "IP_ADDRESS":
            return f.ipv4_public() if rng.random() < 0.7 else f.ipv6()
        if entity == "MAC_ADDRESS":
            return f.mac_address()
        if entity == "CN_RESIDENT_ID":
            return cn_resident_id(rng)
        if entity == "CN_USCC":
            return cn_uscc(rng)
        if entity == "CN_PASSPORT":
            return "E" + _rand(rng, string.digits, 8)
        if entity == "URL":
            return (
                f"https://{f.user_name()}:{_rand(rng, string.ascii_letters + string.digits, 10)}@"
                f"{self.fakers['en_US'].domain_name()}/api"
            )
        if entity == "PERSON":
            return f.name()
        if entity == "SECRET_AWS_KEY":
            return "AKIA" + _rand(rng, string.ascii_uppercase + string.digits, 16)
        if entity == "SECRET_GITHUB_TOKEN":
            return "ghp_" + _rand(rng, string.ascii_letters + string.digits, 36)
        if entity == "SECRET_SLACK_TOKEN":
            return (
                f"xoxb-{_rand(rng, string.digits, 11)}-{_rand(rng, string.digits, 12)}-"
                f"{_rand(rng, string.ascii_letters + string.digits, 24)}"
            )
        if entity == "SECRET_API_KEY":
            return "sk-proj-" + _rand(rng, string.ascii_letters + string.digits, 40)
        if entity == "SECRET_JWT":
            return jwt(rng)
        if entity == "SECRET_PRIVATE_KEY":
            return private_key(rng)
        if entity == "SECRET_PASSWORD":
            return _rand(rng, string.ascii_letters + string.digits + "!#%&*", 14)
        raise ValueError(entity)


EN_TEMPLATES = (
    "Hi, please reach me at {EMAIL_ADDRESS} or call {PHONE_NUMBER} after 5pm.",
    "My card number is {CREDIT_CARD}, expiry 09/28. The order total was $1,249.50.",
    "Please wire the refund to IBAN {IBAN_CODE} before Friday.",
    "For the background check my SSN is {US_SSN}.",
    "The login came from {IP_ADDRESS} at 2024-03-15T10:22:33Z.",
    "Device MAC {MAC_ADDRESS} keeps dropping off the network.",
    "My name is {PERSON} and I need help with ticket #48213.",
    "Dear {PERSON}, your request 7f3c9a2e-4b1d-4e8a-9c3f-2a1b0c9d8e7f was closed.",
    "Connect with {URL} (do not share).",
    "export AWS_ACCESS_KEY_ID={SECRET_AWS_KEY} in the CI job.",
    "Use token {SECRET_GITHUB_TOKEN} to push the release v2.14.3.",
    "Slack bot token: {SECRET_SLACK_TOKEN}",
    "OPENAI_API_KEY={SECRET_API_KEY} was committed by mistake.",
    "Authorization: Bearer {SECRET_JWT}",
    "Here is the key file:\n{SECRET_PRIVATE_KEY}\nplease rotate it.",
    "db password={SECRET_PASSWORD} for the staging cluster.",
    "{EMAIL_ADDRESS}",
    "Card {CREDIT_CARD} was declined; try again.",
)
ZH_TEMPLATES = (
    "我的手机号是{PHONE_NUMBER}，邮箱{EMAIL_ADDRESS}，谢谢。",
    "身份证号码：{CN_RESIDENT_ID}，请尽快核实。",
    "公司统一社会信用代码{CN_USCC}，发票抬头已更新。",
    "护照号码{CN_PASSPORT}，出发日期2024年5月1日。",
    "银行卡号{CREDIT_CARD}，金额¥12,800.00已退回。",
    "我叫{PERSON}，订单号2023112512345678还没发货。",
    "请联系{PERSON}先生，电话{PHONE_NUMBER}。",
    "服务器{IP_ADDRESS}无法访问，版本号v3.2.1。",
    "数据库密码：{SECRET_PASSWORD}，请勿外传。",
    "邮箱{EMAIL_ADDRESS}，手机{PHONE_NUMBER}",
)
NEGATIVES = (
    "Order #{ORDER} shipped via UPS 1Z999AA1{D8}, tracking SF{D13}.",
    "订单号：{ORDER}，快递单号SF{D13}，金额¥3,560.00。",
    "Request id {UUID}, sha256 {SHA256}, commit {SHA1}.",
    "Upgraded from version 1.2.3.4 to 2.10.4.1 at 2024-03-15 12:30:45 (epoch 1700000000).",
    "The card 4111 1111 1111 1112 failed the checksum; invoice total $1,234.56, tax €99.90.",
    "身份证号码{BADID}格式错误，请重新输入。",
    "IBAN {BADIBAN} was rejected by the bank.",
    "Build 20240315.1 took 12:30 minutes; ratio 3.14159 and 192.168 ms latency.",
    "ISBN 978-3-16-148410-0, part number 4412-887-120, room 12-34-5678.",
    "MD5 {MD5} matches the release artifact v10.0.19041.",
)


class CorpusBuilder(Generator):
    def sample(self, locale: str | None = None) -> Sample:
        rng = self.rng
        locale = locale or rng.choice(LOCALES)
        template = rng.choice(ZH_TEMPLATES if locale == "zh_CN" else EN_TEMPLATES)
        return self.fill(template, locale)

    def fill(self, template: str, locale: str) -> Sample:
        out, spans, pos = [], [], 0
        text_len = 0
        while True:
            i = template.find("{", pos)
            if i < 0:
                out.append(template[pos:])
                break
            j = template.index("}", i)
            out.append(template[pos:i])
            text_len += i - pos
            entity = template[i + 1 : j]
            value = self.value(entity, locale)
            spans.append(Planted(entity, text_len, text_len + len(value), value))
            out.append(value)
            text_len += len(value)
            pos = j + 1
        return Sample("".join(out), locale, spans)

    def negative(self) -> Sample:
        rng = self.rng
        from .pii.checksums import iban_ok

        bad_id = cn_resident_id(rng)
        bad_id = bad_id[:17] + ("0" if bad_id[17] != "0" else "1")
        iban = self.fakers["de_DE"].iban()
        bad_iban = iban[:2] + f"{(int(iban[2:4]) + 1) % 100:02d}" + iban[4:]
        assert not iban_ok(bad_iban)
        values = {
            "ORDER": _rand(rng, string.digits, rng.choice((16, 18))),
            "D8": _rand(rng, string.digits, 8),
            "D13": _rand(rng, string.digits, 13),
            "UUID": self.fakers["en_US"].uuid4(),
            "SHA256": self.fakers["en_US"].sha256(),
            "SHA1": self.fakers["en_US"].sha1(),
            "MD5": self.fakers["en_US"].md5(),
            "BADID": bad_id,
            "BADIBAN": bad_iban,
        }
        text = rng.choice(NEGATIVES).format(**values)
        return Sample(text, "mixed", [], negative=True)

    def corpus(self, n: int, negative_share: float = 0.3) -> list[Sample]:
        return [self.negative() if self.rng.random() < negative_share else self.sample() for _ in range(n)]
