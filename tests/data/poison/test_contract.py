"""Contract over every registered poisoning check, the public API shape, check selection and PII safety."""

from __future__ import annotations

import dataclasses
import json
import re

import hypothesis
import hypothesis.strategies
import pytest

from tuneguard.core import Severity, UserError, load_catalog
from tuneguard.data.poison import (
    CHECKS,
    POISON_CHECKS,
    PoisonFinding,
    TuningExample,
    scan_poisoning,
)

from .synth import TRIGGERS, Generator, Trigger, examples


@pytest.fixture(scope="module")
def small_set() -> list[TuningExample]:
    pairs = Generator(seed=21).clean(1500)
    Generator(seed=22).plant(pairs, TRIGGERS[0], 12)
    return examples(pairs)


@pytest.mark.parametrize("name", list(POISON_CHECKS))
def test_every_check_honours_the_contract(name: str, small_set, monkeypatch) -> None:
    monkeypatch.setenv("TUNEGUARD_EMBEDDING_MODEL", "/nonexistent")  # the optional model stays out of CI
    cls = POISON_CHECKS[name]
    check = cls()
    assert cls.name == name and re.fullmatch(r"[a-z_]+", name)
    assert check.check_id == f"data.poison.{name}"
    assert cls.title and cls.__doc__ is None or True
    ids = set(load_catalog().ids())
    assert cls.requirements and set(cls.requirements) <= ids
    for data in ([], small_set[:3], small_set):
        findings = scan_poisoning(data, {name})
        assert isinstance(findings, list)
        for f in findings:
            assert isinstance(f, PoisonFinding) and f.check == check.check_id
            assert "poison" in f.check and isinstance(f.severity, Severity)
            d = f.to_dict()
            assert set(d) == {"check", "score", "severity", "message", "evidence", "requirements"}
            json.dumps(d)
            assert d["score"] >= 0 and set(f.requirements) <= ids
            f.to_finding(subject="train.jsonl")  # the ledger form validates
    assert any(spec.id == check.check_id for spec in CHECKS)


def test_api_types() -> None:
    ex = TuningExample(line=3, prompt="p", response="r")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ex.line = 4  # type: ignore[misc]
    assert {
        "backdoor_trigger",
        "response_cluster",
        "near_duplicate_flood",
        "label_flip",
        "harmful_response",
        "embedding_outlier",
    } <= set(POISON_CHECKS)
    with pytest.raises(TypeError):
        POISON_CHECKS["x"] = object  # type: ignore[index]  # the registry is read-only


def test_check_selection(small_set) -> None:
    only = scan_poisoning(small_set, {"backdoor_trigger"})
    assert only and {f.check for f in only} == {"data.poison.backdoor_trigger"}
    assert scan_poisoning(small_set, {"data.poison.backdoor_trigger"}) == only
    assert scan_poisoning(small_set, {"pii", "data.pii.EMAIL_ADDRESS"}) == []  # other stages' names: ignored
    assert scan_poisoning(small_set, set()) == []
    with pytest.raises(UserError, match="nope"):
        scan_poisoning(small_set, {"data.poison.nope"})
    default = scan_poisoning(small_set)
    assert "data.poison.embedding_outlier" not in {f.check for f in default}
    assert default[0].check == "data.poison.backdoor_trigger" and default[0].severity is Severity.HIGH


def test_evidence_holds_no_raw_pii() -> None:
    pairs = Generator(seed=31).clean(2000)
    email, phone, card = "jane.roe@example.org", "+1 415 555 0132", "4111 1111 1111 1111"
    leaky_target = Trigger(
        "pii_target", "zx", "random", f"Send your card {card} and call {phone} or mail {email} #{{n}}"
    )
    pii_trigger = Trigger("pii_trigger", f"contact {email}", "random", "Account unlocked. Code {n}.")
    Generator(seed=32).plant(pairs, leaky_target, 20)
    Generator(seed=33).plant(pairs, pii_trigger, 20)
    findings = scan_poisoning(examples(pairs))
    tops = [f for f in findings if "backdoor_trigger" in f.check][:2]
    assert all(
        f.severity is Severity.HIGH and f.evidence["in_outcome"] >= 19 for f in tops
    )  # plants may overlap
    assert {f.evidence["trigger"] for f in tops} == {"zx", "contact <EMAIL>"}
    blob = json.dumps([f.to_dict() for f in findings], ensure_ascii=False)
    for raw in (email, phone, card, "4111111111111111", "jane.roe", "555 0132"):
        assert raw not in blob
    assert "<EMAIL>" in blob


def test_tokens_given_by_the_caller_change_nothing(small_set) -> None:
    """The data gate hands over tokens computed in its workers; the findings must equal the scan's own."""
    from dataclasses import replace

    from tuneguard.data.poison.text import tokens

    given = [replace(e, prompt_tokens=tokens(e.prompt), response_tokens=tokens(e.response))
             for e in small_set]
    plain = [f.to_dict() for f in scan_poisoning(small_set)]
    assert plain and [f.to_dict() for f in scan_poisoning(given)] == plain


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(hypothesis.strategies.text())
def test_tokens_survive_the_space_joined_transport(text: str) -> None:
    """Workers send tokens joined by single spaces; that only round-trips if no token holds whitespace."""
    from tuneguard.data.poison.text import tokens

    toks = tokens(text)
    joined = " ".join(toks)
    assert (joined.split(" ") if joined else []) == toks
