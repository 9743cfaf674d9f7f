"""Stage 4, storage and version control: an encrypted (AES-256-GCM, envelope keys), signed (OpenSSF
model-signing), versioned artifact registry with aliases, lineage, rollback and role-based access.

The heavy parts (SQLAlchemy, cryptography, model-signing) load only when `Registry` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuneguard.core import CheckSpec

if TYPE_CHECKING:
    from .registry import Registry
    from .result import VerifyResult

CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        "registry.encryption",
        "registry",
        "Artifacts stored as AES-256-GCM ciphertext only (envelope keys, encrypted manifest and file names)",
        ("SV-1", "DP-4"),
        "tuneguard registry push",
    ),
    CheckSpec(
        "registry.access",
        "registry",
        "Role-based access (admin/trainer/deployer/auditor), every access"
        " allowed or denied recorded in the ledger",
        ("SV-2", "DP-3"),
        "tuneguard registry serve",
    ),
    CheckSpec(
        "registry.versions",
        "registry",
        "Immutable, automatic, never-reused version numbers with alias history and rollback",
        ("SV-3", "SV-4"),
        "tuneguard registry push / rollback",
    ),
    CheckSpec(
        "registry.integrity",
        "registry",
        "Signature (OpenSSF model-signing) and per-file hash verification; corruption names the file",
        ("SV-5",),
        "tuneguard registry verify",
    ),
)


def __getattr__(name: str) -> Any:
    if name == "Registry":
        from .registry import Registry

        return Registry
    if name == "VerifyResult":
        from .result import VerifyResult

        return VerifyResult
    if name in ("AccessDenied", "ROLES", "OPERATIONS"):
        from . import access

        return getattr(access, name)
    raise AttributeError(name)


__all__ = ["CHECKS", "Registry", "VerifyResult"]
