"""Poisoning and backdoor-trigger detection for fine-tuning data (issue 8; requirements FT-3, BM-4).

Public API: `scan_poisoning(examples, checks=None) -> list[PoisonFinding]` over `TuningExample(line, prompt,
response)` records; `POISON_CHECKS` maps each short check name to its class.
Names load on first use (PEP 562): the data gate's record workers import `poison.text` for tokens and must
not pay for numpy and scipy, which only the corpus-level checks need.
"""

from __future__ import annotations

import importlib

# public name -> (submodule, its name there)
_WHERE = {
    "ScanSettings": ("corpus", "ScanSettings"),
    "PoisonFinding": ("model", "PoisonFinding"),
    "TuningExample": ("model", "TuningExample"),
    "CHECKS": ("registry", "POISON_CHECK_SPECS"),
    "DEFAULT_CHECKS": ("registry", "DEFAULT_CHECKS"),
    "POISON_CHECK_SPECS": ("registry", "POISON_CHECK_SPECS"),
    "POISON_CHECKS": ("registry", "POISON_CHECKS"),
    "scan_poisoning": ("registry", "scan_poisoning"),
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
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{where[0]}", __name__), where[1])
    globals()[name] = value
    return value
