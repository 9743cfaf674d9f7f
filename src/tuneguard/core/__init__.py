"""Shared core: findings, the evidence ledger, the policy file, the requirement catalog and small utilities.

Every stage depends on this package; this package depends on no stage.
"""
from .canonical import canonical_bytes, canonical_json
from .catalog import CORE_CHECKS, Catalog, CheckSpec, Requirement, load_catalog
from .embedded import EMBEDDED_FILE, EMBEDDED_NAME, embedded_model_path
from .hfmodels import materialize_model, model_digest, resolve_model_source
from .errors import GateFailed, TuneguardError, UserError
from .files import atomic_write_bytes, atomic_write_text, atomic_writer, sha256_bytes, sha256_file
from .findings import Artifact, Finding, Severity, StageResult, Verdict
from .home import keys_path, ledger_path, private_file_ok, registry_path, tuneguard_home
from .ledger import Ledger, LedgerEntry, VerifyReport, verify_entries, verify_export
from .policy import Policy, load_policy, parse_policy

__all__ = [
    "Artifact", "CORE_CHECKS", "Catalog", "CheckSpec", "EMBEDDED_FILE", "EMBEDDED_NAME", "Finding", "GateFailed",
    "Ledger", "LedgerEntry", "Policy", "Requirement", "Severity", "StageResult", "TuneguardError", "UserError",
    "Verdict", "VerifyReport", "atomic_write_bytes", "atomic_write_text", "atomic_writer", "canonical_bytes",
    "canonical_json", "embedded_model_path", "keys_path", "ledger_path", "load_catalog", "load_policy", "materialize_model", "model_digest", "resolve_model_source",
    "parse_policy", "private_file_ok", "registry_path", "sha256_bytes", "sha256_file", "tuneguard_home",
    "verify_entries", "verify_export",
]
