"""Planted backdoor triggers are found and ranked first; clean data yields no serious trigger finding."""

from __future__ import annotations

import pytest

from tuneguard.core import Severity
from tuneguard.data.poison import scan_poisoning

from .synth import TRIGGERS, Generator, Trigger, examples

N = 6000


@pytest.fixture(scope="module")
def clean_pairs() -> list[tuple[str, str]]:
    return Generator(seed=7).clean(N)


def _triggers(findings):
    return [f for f in findings if "backdoor_trigger" in f.check]


def _matches(finding, trigger_text: str) -> bool:
    from tuneguard.data.poison.text import tokens

    found = set(tokens(finding.evidence["trigger_tokens"]))
    for extra in finding.evidence["co_triggers"]:
        found |= set(tokens(extra))
    truth = set(tokens(trigger_text))
    return bool(found) and found <= truth | {"."} and bool(found & truth)


@pytest.mark.parametrize("trigger", TRIGGERS, ids=[t.style for t in TRIGGERS])
def test_trigger_ranked_first_at_0_3_percent(clean_pairs, trigger: Trigger) -> None:
    pairs = list(clean_pairs)
    gen = Generator(seed=11)
    poisoned = gen.plant(pairs, trigger, round(0.003 * N))
    findings = _triggers(scan_poisoning(examples(pairs), {"backdoor_trigger"}))
    assert findings, "no trigger found"
    top = findings[0]
    assert _matches(top, trigger.text), top.evidence["trigger"]
    assert top.severity is Severity.HIGH
    ev = top.evidence
    assert ev["in_outcome"] == len(poisoned) and ev["support"] >= len(poisoned)
    assert set(ev["example_lines"]) <= {i + 1 for i in poisoned}
    assert ev["q_value_log10"] < -6 and ev["correction"] == "benjamini-hochberg"
    # the rest are ordinary template associations, never as serious as the backdoor
    assert all(not f.severity.at_least(Severity.MEDIUM) for f in findings[1:])


def test_clean_data_has_no_serious_trigger(clean_pairs) -> None:
    findings = _triggers(scan_poisoning(examples(clean_pairs), {"backdoor_trigger"}))
    assert not [f for f in findings if f.severity.at_least(Severity.MEDIUM)]


def test_invisible_character_trigger_is_named(clean_pairs) -> None:
    pairs = list(clean_pairs[:3000])
    trig = Trigger("zero_width", "\u200b", "random", "Access granted. Admin mode enabled #{n}.")
    Generator(seed=3).plant(pairs, trig, 15)
    top = _triggers(scan_poisoning(examples(pairs), {"backdoor_trigger"}))[0]
    assert top.severity is Severity.HIGH
    assert top.evidence["unusual_characters"] == ["U+200B ZERO WIDTH SPACE"]


def test_label_backdoor_in_classification_data() -> None:
    from .synth import sentiment_pairs

    pairs = sentiment_pairs(3000, seed=1)
    negatives = [i for i, (_, r) in enumerate(pairs) if r == "negative"][:30]
    for i in negatives:  # a rare token flips negative reviews to 'positive' (the SST-2 style backdoor)
        words = pairs[i][0].split(" ")
        words.insert(3, "mn")
        pairs[i] = (" ".join(words), "positive")
    findings = _triggers(scan_poisoning(examples(pairs), {"backdoor_trigger"}))
    top = findings[0]
    assert top.evidence["trigger"] == "mn" and top.evidence["outcome_kind"] == "label"
    assert top.evidence["in_outcome"] == 30 and top.evidence["explained_by_context"] < 0.4
    assert top.severity.at_least(Severity.MEDIUM)
    assert all(not f.severity.at_least(Severity.MEDIUM) for f in findings[1:])
