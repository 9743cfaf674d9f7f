"""Data privacy gate (AI-STR-01 FT-1): PII/secret detection, anonymization, cleaning and the dataset manifest.

Public API: PiiEngine, PiiSpan, redact_text, mask_preview, prompt_response, CHECKS (and scan/sanitize for
the CLI).
"""

from __future__ import annotations

from tuneguard.core import CheckSpec

from .anonymize import Anonymizer, detokenize_text, mask_preview, redact_text
from .fields import prompt_response
from .pii.engine import PiiEngine
from .pii.spans import PiiSpan

GATE_CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        "data.pii",
        "data",
        "PII detection (EN/ZH, validated identifiers) before and after sanitizing",
        ("DP-1", "FT-1"),
        "tuneguard data scan",
    ),
    CheckSpec(
        "data.secret",
        "data",
        "Credentials and private keys in training data",
        ("DP-1",),
        "tuneguard data scan",
    ),
    CheckSpec(
        "data.anonymize",
        "data",
        "Anonymization with zero residual findings; manifest in the ledger",
        ("DP-1", "FT-1"),
        "tuneguard data sanitize",
    ),
    CheckSpec(
        "data.clean",
        "data",
        "Cleaning: duplicates, near-duplicates, empty/overlong, broken chats, malformed",
        ("DP-2", "FT-1"),
        "tuneguard data scan",
    ),
)



def __getattr__(name: str):
    """`CHECKS` = the gate's checks plus the poisoning checks (issue 8), imported only when asked for."""
    if name == "CHECKS":
        try:
            from .poison import CHECKS as poison_checks
        except ImportError:
            poison_checks = ()
        return GATE_CHECKS + tuple(poison_checks)
    if name in ("scan_dataset", "sanitize_dataset", "CheckSelection"):
        from . import checks, pipeline, sanitize

        return {"scan_dataset": pipeline.scan_dataset, "sanitize_dataset": sanitize.sanitize_dataset,
                "CheckSelection": checks.CheckSelection}[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Anonymizer", "CHECKS", "CheckSelection", "GATE_CHECKS", "PiiEngine", "PiiSpan", "detokenize_text",
           "mask_preview", "prompt_response", "redact_text", "sanitize_dataset", "scan_dataset"]
