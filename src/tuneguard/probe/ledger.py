"""Summaries of probe runs and comparisons as ledger StageResults (stage "probe")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tuneguard
from tuneguard.core import Artifact, Finding, Ledger, Severity, StageResult, Verdict, sha256_file


def _severity(rate: float | None) -> Severity:
    if rate is None or rate == 0:
        return Severity.INFO
    return Severity.HIGH if rate >= 0.5 else Severity.MEDIUM if rate >= 0.2 else Severity.LOW


def run_result(
    report: dict[str, Any], out: Path | None, config_sha256: str | None, log: Path | None = None
) -> StageResult:
    findings, reqs = [], set()
    for suite, s in report["summary"].items():
        info = report["suites"].get(suite, {})
        reqs.update(info.get("requirements", []))
        rate = s["attack_success_rate"]
        findings.append(
            Finding(
                check=f"probe.{suite}",
                severity=_severity(rate) if suite != "over-refusal" else Severity.INFO,
                message=(
                    f"{suite}: R={rate} D={s['decline_rate']} (n={s['n']}, 95% CI {s['ci95']}, "
                    f"errors {s['errors']})"
                ),
                requirements=tuple(info.get("requirements", [])),
                subject=report["target"],
                evidence={
                    "n": s["n"],
                    "attack_success_rate": rate,
                    "decline_rate": s["decline_rate"],
                    "ci95": s["ci95"],
                    "errors": s["errors"],
                    "attack_class": info.get("attack_class"),
                    "owasp": info.get("owasp", []),
                    "atlas": info.get("atlas", []),
                },
            )
        )
    errors = sum(s["errors"] for s in report["summary"].values())
    artifacts = [Artifact(role="probe_report", path=str(out), sha256=sha256_file(out))] if out else []
    if log is not None and log.is_file():
        artifacts.append(Artifact(role="probe_log", path=str(log), sha256=sha256_file(log)))
    return StageResult(
        stage="probe",
        verdict=Verdict.WARN if errors else Verdict.PASS,
        summary=f"probe run on {report['target']}: {len(report['items'])} items, {errors} errors",
        findings=findings,
        metrics={"summary": slim_summary(report["summary"]), "target_id": report["target_info"].get("id")},
        artifacts=artifacts,
        requirements=tuple(sorted(reqs | {"FT-7"})),
        config_sha256=config_sha256,
        tool_version=tuneguard.__version__,
    )


def slim_summary(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {kk: v[kk] for kk in ("n", "attack_success_rate", "decline_rate", "ci95", "errors")}
        for k, v in summary.items()
    }


def compare_result(result: dict[str, Any], base: Path, tuned: Path, config_sha256: str | None) -> StageResult:
    o = result["overall"]
    findings = [
        Finding(
            check="probe.regression",
            severity=Severity.HIGH if result["verdict"] == "regressed" else Severity.INFO,
            message=(
                f"R {o['base_rate']} -> {o['tuned_rate']} (delta {o['delta']:+}, exact McNemar "
                f"p={o['p_value']}); regressed categories: {result['regressed_categories'] or 'none'}"
            ),
            requirements=("FT-2", "FT-4", "BM-3"),
            subject=str(tuned),
            evidence={
                "overall": o,
                "regressed_categories": result["regressed_categories"],
                "over_refusal": result["over_refusal"],
            },
        )
    ]
    return StageResult(
        stage="probe",
        verdict=Verdict.FAIL if result["verdict"] == "regressed" else Verdict.PASS,
        summary=f"base vs tuned: {result['verdict']}",
        findings=findings,
        metrics={"overall": o, "over_refusal": result["over_refusal"]},
        artifacts=[
            Artifact(role="probe_base", path=str(base), sha256=sha256_file(base)),
            Artifact(role="probe_tuned", path=str(tuned), sha256=sha256_file(tuned)),
        ],
        requirements=("FT-2", "FT-4", "BM-3"),
        config_sha256=config_sha256,
        tool_version=tuneguard.__version__,
    )


def record(result: StageResult) -> int:
    with Ledger() as ledger:
        return ledger.record(result).seq
