"""Periodic re-assessment (BM-6): re-scan every model target the ledger has seen and diff the findings and
file hashes against its previous scan."""

from __future__ import annotations

from typing import Any

from tuneguard.core import Finding, Ledger, LedgerEntry, StageResult


def previous_scans(ledger: Ledger) -> dict[str, tuple[LedgerEntry, StageResult]]:
    """The latest model-stage result per scanned target (BOM runs included: they scan too)."""
    latest: dict[str, tuple[LedgerEntry, StageResult]] = {}
    for entry, result in ledger.stage_results("model"):
        target = result.metrics.get("target")
        if isinstance(target, str):
            latest[target] = (entry, result)
    return latest


def _key(f: Finding) -> tuple[str, str, str]:
    return f.check, str(f.location.get("file", f.subject)), str(f.evidence.get("global", f.message))


def _file_hashes(result: StageResult) -> dict[str, str]:
    # Keyed by path inside the scanned root, so a registry version pulled into a fresh temp folder each
    # time compares file by file with its previous scan.
    root = str(result.metrics.get("scan_root") or result.metrics.get("target") or "")
    return {
        a.path.removeprefix(root).lstrip("/") or a.path: a.sha256
        for a in result.artifacts
        if a.role == "model_file"
    }


def diff_results(old: StageResult, new: StageResult) -> dict[str, Any]:
    old_keys, new_keys = {_key(f) for f in old.findings}, {_key(f) for f in new.findings}
    old_hash, new_hash = _file_hashes(old), _file_hashes(new)
    return {
        "new_findings": [
            dict(zip(("check", "file", "detail"), k, strict=True)) for k in sorted(new_keys - old_keys)
        ],
        "resolved_findings": [
            dict(zip(("check", "file", "detail"), k, strict=True)) for k in sorted(old_keys - new_keys)
        ],
        "changed_files": sorted(p for p in old_hash.keys() & new_hash.keys() if old_hash[p] != new_hash[p]),
        "added_files": sorted(new_hash.keys() - old_hash.keys()),
        "removed_files": sorted(old_hash.keys() - new_hash.keys()),
        "verdict_before": old.verdict.value,
        "verdict_now": new.verdict.value,
    }
