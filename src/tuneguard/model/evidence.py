"""The model gate's evidence: a ScanReport as a ledger StageResult (stage "model")."""
from __future__ import annotations

from pathlib import Path

import tuneguard
from tuneguard.core import Artifact, Ledger, Policy, StageResult, Verdict

from .engine import ScanReport

REQUIREMENTS = ("BM-1", "BM-2", "BM-4", "BM-5")


def record_scan(policy: Policy, report: ScanReport, extra: list[Artifact] | None = None,
                metrics: dict | None = None) -> int:
    """Record the scan in the ledger; returns the entry's seq."""
    result = scan_result(policy, report, extra, metrics)
    with Ledger() as ledger:
        return ledger.record(result).seq


def scan_result(policy: Policy, report: ScanReport, extra: list[Artifact] | None = None,
                metrics: dict | None = None) -> StageResult:
    counts = report.counts()
    result = StageResult(
        stage="model",
        verdict=Verdict.FAIL if report.failed else Verdict.PASS,
        summary=f"{len(report.files)} files scanned, {counts['high'] + counts['critical']} high/critical",
        findings=report.findings,
        metrics={
            "files": len(report.files),
            "bytes": sum(f.size for f in report.files),
            "seconds": round(report.seconds, 3),
            "counts": counts,
            "target": str(Path(report.target).resolve()),
            **(metrics or {}),
        },
        artifacts=[
            Artifact(
                role="model_file",
                path=str(Path(report.target) / f.path) if report.kind == "folder" else report.target,
                sha256=f.sha256,
                size=f.size,
            )
            for f in report.files
        ]
        + (extra or []),
        requirements=REQUIREMENTS,
        config_sha256=policy.digest(),
        tool_version=tuneguard.__version__,
    )
    return result
