"""Poisoning and backdoor-trigger detection for fine-tuning data (issue 8; requirements FT-3, BM-4).

Public API: `scan_poisoning(examples, checks=None) -> list[PoisonFinding]` over `TuningExample(line, prompt,
response)` records; `POISON_CHECKS` maps each short check name to its class.
Names load on first use (PEP 562): the data gate's record workers import `poison.text` for tokens and must
not pay for numpy and scipy, which only the corpus-level checks need.
"""

from __future__ import annotations

from tuneguard.core.lazy_names import lazy_getattr

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

__getattr__ = lazy_getattr(__name__, _WHERE)
