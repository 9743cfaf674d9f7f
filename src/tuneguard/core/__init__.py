"""Shared core: findings, the evidence ledger, the policy file, the requirement catalog and small utilities.

Every stage depends on this package; this package depends on no stage.

Names load from their submodule on first access (PEP 562): `from tuneguard.core import UserError` must not
pay for pydantic, SQLite and the catalog, which every CLI start-up did before (bench/RESULTS.md, "## model:").
"""
from __future__ import annotations

from .lazy_names import lazy_getattr

# Not `from typing import TYPE_CHECKING`: typing costs ~15 ms, and the console entry point imports this
# package before anything else (core.early_hash). Type checkers treat this name as true.
TYPE_CHECKING = False

# public name -> submodule that defines it
_EXPORTS = {
    "canonical": ("canonical_bytes", "canonical_json"),
    "catalog": ("CORE_CHECKS", "Catalog", "CheckSpec", "Requirement", "load_catalog"),
    "embedded": ("EMBEDDED_FILE", "EMBEDDED_NAME", "embedded_model_path"),
    "hfmodels": (
        "ADAPTER_MARKER", "adapter_base", "materialize_model", "model_digest", "resolve_model_source",
    ),
    "errors": ("GateFailed", "TuneguardError", "UserError"),
    "digests": ("sha256_bytes", "sha256_file"),
    "files": ("atomic_write_bytes", "atomic_write_text", "atomic_writer", "create_private_file"),
    "findings": ("Artifact", "Finding", "Severity", "StageResult", "Verdict"),
    "home": ("keys_path", "ledger_path", "private_file_ok", "registry_path", "tuneguard_home"),
    "ledger": ("Ledger", "LedgerEntry", "VerifyReport", "verify_entries", "verify_export"),
    "policy": ("Policy", "load_policy", "parse_policy"),
}
__getattr__ = lazy_getattr(__name__, {n: (module, n) for module, names in _EXPORTS.items() for n in names})

__all__ = [
    "ADAPTER_MARKER", "Artifact", "CORE_CHECKS", "Catalog", "CheckSpec", "EMBEDDED_FILE", "EMBEDDED_NAME",
    "Finding", "GateFailed", "Ledger", "LedgerEntry", "Policy", "Requirement", "Severity", "StageResult",
    "TuneguardError", "UserError", "Verdict", "VerifyReport", "atomic_write_bytes", "atomic_write_text",
    "adapter_base", "atomic_writer", "canonical_bytes", "canonical_json", "create_private_file",
    "embedded_model_path", "keys_path", "ledger_path",
    "load_catalog", "load_policy", "materialize_model", "model_digest", "parse_policy", "private_file_ok",
    "registry_path", "resolve_model_source", "sha256_bytes", "sha256_file", "tuneguard_home",
    "verify_entries", "verify_export",
]


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # type checkers and IDEs see the eager imports
    from .canonical import canonical_bytes, canonical_json
    from .catalog import CORE_CHECKS, Catalog, CheckSpec, Requirement, load_catalog
    from .digests import sha256_bytes, sha256_file
    from .embedded import EMBEDDED_FILE, EMBEDDED_NAME, embedded_model_path
    from .errors import GateFailed, TuneguardError, UserError
    from .files import atomic_write_bytes, atomic_write_text, atomic_writer, create_private_file
    from .findings import Artifact, Finding, Severity, StageResult, Verdict
    from .hfmodels import ADAPTER_MARKER, adapter_base, materialize_model, model_digest, resolve_model_source
    from .home import keys_path, ledger_path, private_file_ok, registry_path, tuneguard_home
    from .ledger import Ledger, LedgerEntry, VerifyReport, verify_entries, verify_export
    from .policy import Policy, load_policy, parse_policy
