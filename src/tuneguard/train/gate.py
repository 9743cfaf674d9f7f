"""The training gate: train only on bytes that a passed data-gate run produced (matched by sha256)."""

from __future__ import annotations

from dataclasses import dataclass

from tuneguard.core import Finding, Ledger, Severity, UserError


@dataclass(frozen=True, slots=True)
class GateEvidence:
    seq: int
    hash: str
    path: str
    verdict: str


def find_data_gate(dataset_sha256: str) -> GateEvidence | None:
    """The newest ledger StageResult(stage="data", verdict="pass") whose sanitized_dataset has this sha256."""
    try:  # a missing ledger (SQLite file or PostgreSQL database) raises UserError
        ledger = Ledger(readonly=True)
    except UserError:
        return None
    with ledger:
        found = None
        for entry in ledger.entries(stage="data", kind="stage_result"):
            payload = entry.payload
            if payload.get("verdict") != "pass":
                continue
            for artifact in payload.get("artifacts", []):
                if artifact.get("role") == "sanitized_dataset" and artifact.get("sha256") == dataset_sha256:
                    found = GateEvidence(
                        entry.seq, entry.hash, str(artifact.get("path", "")), payload["verdict"]
                    )
        return found


def ungated_finding(data: str, sha256: str) -> Finding:
    return Finding(
        check="train.gate.ungated",
        severity=Severity.CRITICAL,
        message=f"{data}: trained with --allow-ungated; no passed data-gate run produced this file",
        requirements=("FT-1",),
        subject=data,
        evidence={"dataset_sha256": sha256},
    )


def refusal_message(data: str, sha256: str) -> str:
    return (
        f"{data}: refused: sha256 {sha256[:16]}… matches no passed data-gate run in the ledger. "
        f"Run `tuneguard data sanitize` on the raw data and train on its output "
        f"(or pass --allow-ungated, which records a critical finding)"
    )
