"""Poisoning and backdoor-trigger detection for fine-tuning data (issue 8; requirements FT-3, BM-4).

Public API: `scan_poisoning(examples, checks=None) -> list[PoisonFinding]` over `TuningExample(line, prompt,
response)` records; `POISON_CHECKS` maps each short check name to its class.
Light at import time (numpy, scipy).
"""

from .corpus import ScanSettings
from .model import PoisonFinding, TuningExample
from .registry import DEFAULT_CHECKS, POISON_CHECK_SPECS, POISON_CHECKS, scan_poisoning

CHECKS = POISON_CHECK_SPECS

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
