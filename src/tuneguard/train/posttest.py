"""Post-training tests: canary exposure, training-data extraction, and base-vs-tuned probe regression.

The probe regression goes through tuneguard.probe's public API only (load_target, run_probes,
compare_reports), imported lazily; without it the run record says the probe was skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuneguard.core import Finding, Severity
from tuneguard.core.policy import ProbePolicy

from .canaries import Canary, evaluate_canaries
from .extraction import extraction_test


def probe_regression(
    base_spec: str, adapter_dir: str, suites: list[str], limit: int | None, policy: ProbePolicy
) -> tuple[dict[str, Any], list[Finding]]:
    """Run `suites` on base and tuned adapter and compare; skipped when tuneguard.probe is absent."""
    try:
        from tuneguard.probe import compare_reports, load_target, run_probes
    except ImportError as exc:
        return {"skipped": f"tuneguard.probe unavailable ({exc})"}, []
    base = run_probes(load_target(base_spec), suites, limit=limit)
    tuned = run_probes(load_target(adapter_dir), suites, limit=limit)
    comparison = compare_reports(base, tuned, policy)
    summary = {
        "suites": suites,
        "limit": limit,
        "verdict": comparison.get("verdict"),
        "comparison": comparison,
        "base_summary": _summary(base),
        "tuned_summary": _summary(tuned),
    }
    findings = []
    if comparison.get("verdict") == "regressed":
        findings.append(
            Finding(
                check="train.probe.regression",
                severity=Severity.HIGH,
                message=f"tuned adapter regressed against its base on {', '.join(suites)}",
                requirements=("FT-2", "FT-4"),
                subject=adapter_dir,
                evidence={k: v for k, v in comparison.items() if k != "items"},
            )
        )
    return summary, findings


def _summary(report: dict[str, Any]) -> Any:
    for key in ("summary", "overall", "totals"):
        if key in report:
            return report[key]
    return {k: v for k, v in report.items() if not isinstance(v, list)}


def memorization_tests(
    opts: Any,
    run: dict[str, Any],
    tuned: Any,
    tokenizer: Any,
    records: Any,
    inserted: list[Canary],
    references: list[Canary],
    findings: list[Finding],
) -> None:
    """Canary exposure/extraction and the training-data extraction test; results into `run`."""
    if opts.canaries:
        canaries = evaluate_canaries(
            tuned, tokenizer, inserted, references, opts.seed, random_candidates=opts.canary_candidates
        )
        canaries["max_allowed_exposure"] = opts.max_canary_exposure
        run["canaries"] = canaries
        for row in canaries["inserted"]:
            over = row["exposure"] > opts.max_canary_exposure
            if not over and not row["extracted"]:
                continue
            what = [f"exposure {row['exposure']} bits > {opts.max_canary_exposure}"] if over else []
            what += ["extracted by greedy completion"] if row["extracted"] else []
            findings.append(
                Finding(
                    check="train.canary.exposure",
                    severity=Severity.HIGH,
                    requirements=("FT-5",),
                    message=f"canary {row['key']} ({row['repeats']}x): {'; '.join(what)}",
                    subject=f"canary {row['key']}",
                    evidence={k: v for k, v in row.items() if k != "key"},
                )
            )
    if opts.extraction_samples > 0:
        summary, leaks = extraction_test(
            tuned, tokenizer, records.chats, records.lines, opts.seed, samples=opts.extraction_samples
        )
        run["extraction"] = summary
        findings.extend(leaks)
    else:
        run["extraction"] = {"skipped": "--extraction-samples 0"}


def probe_tests(opts: Any, run: dict[str, Any], output: Path, findings: list[Finding]) -> None:
    """Probe suites from the policy on base and tuned adapter, unless --no-probe."""
    if not opts.probe:
        run["probe"] = {"skipped": "--no-probe"}
        return
    summary, regressions = probe_regression(
        run["base"]["spec"], str(output), list(opts.policy.probe.suites), opts.probe_limit, opts.policy.probe
    )
    run["probe"] = summary
    findings.extend(regressions)
