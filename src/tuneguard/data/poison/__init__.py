"""Poisoning and backdoor-trigger detection for fine-tuning data (issue 8; requirements FT-3, BM-4).

Public API: `scan_poisoning(examples, checks=None) -> list[PoisonFinding]` over `TuningExample(line, prompt,
response)` records; `POISON_CHECKS` maps each short check name to its class.
Names load on first use (PEP 562): the data gate's record workers import `poison.text` for tokens and must
not pay for numpy and scipy, which only the corpus-level checks need.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "ScanSettings": "corpus",
    "PoisonFinding": "model",
    "TuningExample": "model",
    "DEFAULT_CHECKS": "registry",
    "POISON_CHECK_SPECS": "registry",
    "POISON_CHECKS": "registry",
    "scan_poisoning": "registry",
}

__all__ = [
    "CHECKS",
    "DEFAULT_CHECKS",
    "POISON_CHECKS",
    "POISON_CHECK_SPECS",
    "PoisonFinding",
    "ScanSettings",
    "TuningExample",
    "scan_poisoning",
]


def __getattr__(name: str) -> object:
    module = _WHERE.get("POISON_CHECK_SPECS" if name == "CHECKS" else name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__),
                    "POISON_CHECK_SPECS" if name == "CHECKS" else name)
    globals()[name] = value
    return value
