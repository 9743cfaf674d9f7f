"""Every registered recognizer: positives (with context and in Chinese text without spaces), hard negatives,
and the contract that Hyperscan prefiltering never loses a match the exact patterns would find."""

from __future__ import annotations

import re

import pytest

from tuneguard.core import Severity
from tuneguard.data import PiiEngine, PiiSpan
from tuneguard.data.pii.recognizers import BUILTIN_RECOGNIZERS, Recognizer, default_registry
from tuneguard.data.synth import CorpusBuilder

# recognizer name -> [(text, expected value)]; every registered recognizer must appear here.
POSITIVES: dict[str, list[tuple[str, str]]] = {
    "email": [
        ("mail me at jane.doe+x@mail.example.co.uk today", "jane.doe+x@mail.example.co.uk"),
        ("邮箱zhang.wei@example.com，谢谢", "zhang.wei@example.com"),
    ],
    "phone": [
        ("call (415) 555-2671 now", "(415) 555-2671"),
        ("uk: +44 20 7946 0958.", "+44 20 7946 0958"),
        ("手机13812345678，", "13812345678"),
        ("Telefon: +49 30 901820", "+49 30 901820"),
        ("座机010-62345678", "010-62345678"),
    ],
    "credit_card": [
        ("card 4111 1111 1111 1111 ok", "4111 1111 1111 1111"),
        ("amex 3782-822463-10005", "3782-822463-10005"),
        ("银行卡号6212262201023557228，", "6212262201023557228"),
        ("mc 5555555555554444", "5555555555554444"),
    ],
    "iban": [
        ("IBAN DE89 3704 0044 0532 0130 00 please", "DE89 3704 0044 0532 0130 00"),
        ("to GB82WEST12345698765432.", "GB82WEST12345698765432"),
    ],
    "us_ssn": [("SSN 536-22-1384 on file", "536-22-1384"), ("my ssn is 536221384", "536221384")],
    "ip_address": [
        ("from 203.0.113.77 at noon", "203.0.113.77"),
        ("host 2001:db8:85a3::8a2e:370:7334 up", "2001:db8:85a3::8a2e:370:7334"),
    ],
    "url": [
        ("see https://bob:hunter2@git.example.com/repo", "https://bob:hunter2@git.example.com/repo"),
        ("profile https://www.linkedin.com/in/jane-doe-123 ", "https://www.linkedin.com/in/jane-doe-123"),
    ],
    "cn_resident_id": [("身份证号11010519491231002X，", "11010519491231002X")],
    "cn_uscc": [("统一社会信用代码91350100M000100Y43。", "91350100M000100Y43")],
    "cn_passport": [("护照号码E12345678，", "E12345678"), ("passport no. G28233515", "G28233515")],
    "mac_address": [
        ("mac 00:1A:2B:3C:4D:5E seen", "00:1A:2B:3C:4D:5E"),
        ("cisco 001a.2b3c.4d5e", "001a.2b3c.4d5e"),
    ],
    "aws_key": [
        ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
    ],
    "github_token": [
        ("push with ghp_16C7e42F292c6912E7710c838347Ae178B4a", "ghp_16C7e42F292c6912E7710c838347Ae178B4a")
    ],
    "slack_token": [
        (
            "bot xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
            "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
        )
    ],
    "api_key": [
        ("OPENAI_API_KEY=sk-proj-4fG7hJ2kL9mN3pQ8rS1tV6wX0yZ5aB", "sk-proj-4fG7hJ2kL9mN3pQ8rS1tV6wX0yZ5aB"),
        ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ],
    "jwt": [
        (
            "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",  # noqa: E501
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",  # noqa: E501
        )
    ],
    "private_key": [
        (
            "k:\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
        )
    ],
    "password_assignment": [
        ("db password=Xk9#pL2qR!v8 for prod", "Xk9#pL2qR!v8"),
        ("数据库密码：Tr0ub4dor&3x，", "Tr0ub4dor&3x"),
    ],
    "person_cue": [
        ("Hello, my name is Maria Gonzalez and", "Maria Gonzalez"),
        ("Dear Mr. Thompson,", "Thompson"),
        ("我叫李娜，", "李娜"),
        ("请联系王伟先生", "王伟"),
    ],
    "location_cue": [
        ("I live at 221 Baker Street, London.", "221 Baker Street, London"),
        ("地址：上海市浦东新区世纪大道100号", "上海市浦东新区世纪大道100号"),
    ],
}

HARD_NEGATIVES = [
    "Order #4532015112830366 shipped",
    "订单号：2023112512345678",
    "tracking 1Z999AA10123456784",
    "card 4111 1111 1111 1112 is invalid",
    "身份证号11010519491231002Y",
    "身份证号110105194912310021",
    "IBAN DE88 3704 0044 0532 0130 00",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "git 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "version 1.2.3.4 and v10.0.19041.1",
    "at 2024-03-15T10:22:33Z and 12:30:45",
    "epoch 1700000000",
    "total $1,234.56 or ¥12,800.00 or € 99.90",
    "SSN 000-12-3456 and 666-12-3456 and 900-12-3456",
    "password=changeme",
    "password: <PASSWORD_1>",
    "ISBN 978-3-16-148410-0",
    "date 2023-11-25, 25.11.2023, 11/25/2023",
    "https://example.com/docs/install",
    "ratio 0.9876543210",
]


def _values(engine: PiiEngine, text: str) -> list[str]:
    return [text[s.start : s.end] for s in engine.find(text)]


@pytest.fixture(scope="module")
def engine() -> PiiEngine:
    return PiiEngine()


def test_every_registered_recognizer_has_examples() -> None:
    assert set(default_registry().names()) == set(POSITIVES)


@pytest.mark.parametrize("name", sorted(POSITIVES))
def test_recognizer_positives(engine: PiiEngine, name: str) -> None:
    cls = default_registry().get(name)
    for text, value in POSITIVES[name]:
        spans = [s for s in engine.find(text) if s.recognizer == name]
        assert [text[s.start : s.end] for s in spans] == [value], (name, text)
        assert all(s.entity in cls.entities for s in spans)


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_do_not_fire(engine: PiiEngine, text: str) -> None:
    assert _values(engine, text) == []


@pytest.mark.parametrize("cls", BUILTIN_RECOGNIZERS, ids=lambda c: c.name)
def test_recognizer_contract(cls: type[Recognizer]) -> None:
    rec = cls()
    assert re.fullmatch(r"[a-z0-9_]+", rec.name) and rec.entities and rec.patterns
    for entity in rec.entities:
        assert entity.isupper()
    for text, _ in POSITIVES[rec.name]:
        for i in range(len(rec.patterns)):
            for c in rec.candidates(text, i):
                assert 0 <= c.start < c.end <= len(text) and 0 < c.score <= 1.0 and c.entity in rec.entities


def test_hyperscan_prefilter_never_loses_a_match(engine: PiiEngine) -> None:
    plain = PiiEngine(use_hyperscan=False)
    assert engine.backend == "hyperscan" and plain.backend == "re"
    texts = [t for cases in POSITIVES.values() for t, _ in cases] + HARD_NEGATIVES
    texts += [s.text for s in CorpusBuilder(7).corpus(600)]
    for text in texts:
        assert engine.find(text) == plain.find(text), text


def test_span_shape_and_severity(engine: PiiEngine) -> None:
    [span] = engine.find("key AKIAIOSFODNN7EXAMPLE")
    assert (
        isinstance(span, PiiSpan)
        and span.severity is Severity.CRITICAL
        and span.check == "data.secret.AWS_KEY"
    )
    with pytest.raises(AttributeError):
        span.start = 3  # type: ignore[misc]


def test_entity_filter_and_unknown_entity() -> None:
    only = PiiEngine(entities=["EMAIL_ADDRESS"])
    assert [s.entity for s in only.find("a@b.com 4111 1111 1111 1111")] == ["EMAIL_ADDRESS"]
    with pytest.raises(ValueError, match="NOPE"):
        PiiEngine(entities=["NOPE"])


def test_capabilities_are_honest(engine: PiiEngine) -> None:
    caps = engine.capabilities()
    assert "CN_RESIDENT_ID" in caps["can"] and "ORGANIZATION" in caps["cannot"]
    assert "PERSON (free text)" in caps["cannot"]  # no NER backend configured


def test_context_raises_and_negative_context_suppresses(engine: PiiEngine) -> None:
    [plain] = engine.find("ref 4111 1111 1111 1111 x".replace("ref ", ""))
    [ctx] = engine.find("card number 4111 1111 1111 1111")
    assert ctx.score > plain.score
    assert engine.find("order number 4111 1111 1111 1111") == []
    assert engine.find("no cue E12345678 here") == []  # passports need a cue


def test_synthetic_corpus_recall_and_precision(engine: PiiEngine) -> None:
    tp = fn = fp = 0
    for sample in CorpusBuilder(11).corpus(800):
        found = engine.find(sample.text)
        for p in sample.spans:
            hit = any(f.entity == p.entity and f.start < p.end and p.start < f.end for f in found)
            tp, fn = tp + hit, fn + (not hit)
        fp += sum(
            1
            for f in found
            if not any(f.entity == p.entity and f.start < p.end and p.start < f.end for p in sample.spans)
        )
    assert tp / (tp + fn) >= 0.98 and tp / (tp + fp) >= 0.97
