"""Audited fine-tuning: gated LoRA/SFT (TRL + PEFT), a training monitor, canaries and post-training tests.

Public API (heavy modules load lazily, so importing this package does not import torch):
`AuditCallback` (a transformers TrainerCallback usable in any HF/TRL script), `TrainOptions`,
`run_training`, `find_data_gate`, `load_chat_records`, `make_canaries`, `exposure_from_scores`.
"""

from __future__ import annotations

from typing import Any

from tuneguard.core import CheckSpec

CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        "train.gate",
        "train",
        "Training refuses data without a passed data-gate manifest (by sha256)",
        ("FT-1",),
        "tuneguard train",
    ),
    CheckSpec(
        "train.monitor",
        "train",
        "Training monitor: loss/grad anomalies, CPU/RSS/GPU per step, "
        "checkpoint hashes, outbound network attempts",
        ("FT-6",),
        "tuneguard train",
    ),
    CheckSpec(
        "train.canary",
        "train",
        "Canary exposure (rank and skew-normal) and canary extraction",
        ("FT-5",),
        "tuneguard train --canaries N --canary-repeats K",
    ),
    CheckSpec(
        "train.extraction",
        "train",
        "Training-data extraction: PII in completions of training prefixes",
        ("FT-5",),
        "tuneguard train",
    ),
    CheckSpec(
        "train.probe",
        "train",
        "Post-training probe suites, base vs tuned regression verdict",
        ("FT-2", "FT-4"),
        "tuneguard train",
    ),
)

_LAZY = {
    "AuditCallback": ".monitor",
    "RobustBaseline": ".monitor",
    "NetworkAudit": ".netaudit",
    "TrainOptions": ".sft",
    "run_training": ".sft",
    "find_data_gate": ".gate",
    "load_chat_records": ".records",
    "make_canaries": ".canaries",
    "insert_canaries": ".canaries",
    "exposure_from_scores": ".canaries",
    "evaluate_canaries": ".canaries",
    "CanaryFormat": ".canaries",
}

__all__ = ["CHECKS", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tuneguard.train' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module, __name__), name)
