"""Anonymization operators: placeholders, mask, redact, keyed pseudonyms that keep formats valid, reversible
tokens with an owner-only key, and mask previews that never reveal the value."""

from __future__ import annotations

import os
import re
import stat

import phonenumbers
import pytest

from tuneguard.core import UserError
from tuneguard.data import Anonymizer, PiiEngine, detokenize_text, mask_preview, redact_text
from tuneguard.data.anonymize import RecordState
from tuneguard.data.pii.checksums import cn_resident_id_ok, iban_ok, luhn_ok, uscc_ok

TEXT = (
    "Mail a.b@example.com or a.b@example.com, call +44 20 7946 0958, card 4111-1111-1111-1111, "
    "IBAN DE89 3704 0044 0532 0130 00, 身份证11010519491231002X，信用代码91350100M000100Y43。"
)


@pytest.fixture(scope="module")
def engine() -> PiiEngine:
    return PiiEngine()


def test_placeholders_numbered_per_record(engine: PiiEngine) -> None:
    out = redact_text(TEXT, engine.find(TEXT))
    assert out.count("<EMAIL_ADDRESS_1>") == 2 and "<PHONE_NUMBER_1>" in out and "<CREDIT_CARD_1>" in out
    # text between the spans is untouched
    assert out.startswith("Mail <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_1>, call ")
    state = RecordState()
    anon = Anonymizer()
    first = anon.apply(
        "x@example.org and y@example.org", engine.find("x@example.org and y@example.org"), state
    )
    second = anon.apply("y@example.org", engine.find("y@example.org"), state)
    assert first == "<EMAIL_ADDRESS_1> and <EMAIL_ADDRESS_2>" and second == "<EMAIL_ADDRESS_2>"


def test_mask_and_redact(engine: PiiEngine) -> None:
    text = "card 4111-1111-1111-1111 ok"
    spans = engine.find(text)
    assert redact_text(text, spans, "mask") == "card ****-****-****-1111 ok"
    assert redact_text(text, spans, "redact") == "card [REDACTED] ok"
    with pytest.raises(ValueError):
        redact_text(text, spans, "drop-record")


def test_pseudonyms_are_consistent_and_keep_formats(engine: PiiEngine) -> None:
    anon = Anonymizer(default="pseudonym")
    a = anon.apply(TEXT, engine.find(TEXT))
    b = Anonymizer(default="pseudonym").apply(TEXT, engine.find(TEXT))
    assert a == b  # same key under TUNEGUARD_HOME -> same fakes across the dataset
    for value in ("a.b@example.com", "+44 20 7946 0958", "4111-1111-1111-1111", "11010519491231002X"):
        assert value not in a
    spans = {s.entity: a[s.start : s.end] for s in engine.find(a)}
    assert re.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.(com|org|net)", spans["EMAIL_ADDRESS"])
    assert phonenumbers.is_valid_number(phonenumbers.parse(spans["PHONE_NUMBER"], None))
    card = spans["CREDIT_CARD"]
    assert re.fullmatch(r"\d{4}-\d{4}-\d{4}-\d{4}", card) and luhn_ok(card.replace("-", ""))
    assert iban_ok(spans["IBAN_CODE"]) and spans["IBAN_CODE"].startswith("DE")
    assert cn_resident_id_ok(spans["CN_RESIDENT_ID"]) and uscc_ok(spans["CN_USCC"])
    key = os.environ["TUNEGUARD_HOME"] + "/keys/data-pseudonym.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_pseudonym_key_must_be_private(engine: PiiEngine) -> None:
    Anonymizer(default="pseudonym")
    key = os.environ["TUNEGUARD_HOME"] + "/keys/data-pseudonym.key"
    os.chmod(key, 0o644)
    with pytest.raises(UserError, match="owner only"):
        Anonymizer(default="pseudonym")


def test_tokenize_is_reversible_with_the_key(engine: PiiEngine) -> None:
    text = "email a.b@example.com, card 4111 1111 1111 1111"
    tokens = Anonymizer(default="tokenize").apply(text, engine.find(text))
    assert "a.b@example.com" not in tokens and tokens.count("<tok:") == 2
    assert engine.find(tokens) == []
    assert detokenize_text(tokens) == text
    key = os.environ["TUNEGUARD_HOME"] + "/keys/data-token.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_operator_per_entity_and_drop_record(engine: PiiEngine) -> None:
    anon = Anonymizer(
        default="placeholder", operators={"EMAIL_ADDRESS": "keep", "CREDIT_CARD": "drop-record"}
    )
    state = RecordState()
    out = anon.apply(
        "a@example.com 4111 1111 1111 1111", engine.find("a@example.com 4111 1111 1111 1111"), state
    )
    assert out.startswith("a@example.com") and state.drop == "CREDIT_CARD"
    with pytest.raises(UserError, match="unknown anonymization operator"):
        Anonymizer(default="shred")


@pytest.mark.parametrize(
    ("value", "entity", "preview"),
    [
        ("jane.doe@example.com", "EMAIL_ADDRESS", "j***@e***.com"),
        ("AKIAIOSFODNN7EXAMPLE", "SECRET_AWS_KEY", "AKIA***"),
        ("4111111111111111", "CREDIT_CARD", "4***11"),
        ("张伟", "PERSON", "张***"),
    ],
)
def test_mask_preview(value: str, entity: str, preview: str) -> None:
    assert mask_preview(value, entity) == preview
