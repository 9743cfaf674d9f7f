"""Periodic re-assessment (FT-7, BM-6): probe a registered version again with the current suites and judges
and report what changed against the last probe run of the same weights.

The previous run is found in the ledger by target id (a digest of the model files), so a version pulled
from the registry matches the run the pipeline made on the adapter before it was pushed. When that run's
full report is still on disk (and its SHA-256 matches the ledger), the two runs are paired per prompt and
tested with the same exact McNemar rule as base vs tuned; otherwise only the per-suite rates are compared.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

import tuneguard
from tuneguard.core import (
    Artifact,
    Finding,
    Ledger,
    Severity,
    StageResult,
    UserError,
    Verdict,
    atomic_write_bytes,
    sha256_file,
)

from .ledger import run_result, slim_summary

# Suites that need inputs from elsewhere (the trigger report, the inserted canaries, a datasets folder for
# ds-*): a rerun repeats them only when the caller names them explicitly.
NEEDS_INPUTS = frozenset({"backdoor", "canary"})


def _self_contained(suite: str) -> bool:
    return suite not in NEEDS_INPUTS and not suite.startswith("ds-")


@dataclass(slots=True)
class PreviousRun:
    seq: int
    summary: dict[str, Any]
    report: dict[str, Any] | None  # the full report, when its file is still there and unaltered
    tool_version: str | None


@dataclass(slots=True)
class RerunOutcome:
    ref: str
    seq: int
    report_path: Path
    previous: PreviousRun | None
    suites: list[str]
    changes: list[dict[str, Any]] = field(default_factory=list)
    comparison: dict[str, Any] | None = None

    @property
    def regressed(self) -> bool:
        return bool(self.comparison and self.comparison.get("verdict") == "regressed")

    def to_dict(self) -> dict[str, Any]:
        prev = self.previous
        return {
            "ref": self.ref,
            "seq": self.seq,
            "report": str(self.report_path),
            "suites": self.suites,
            "previous_seq": prev.seq if prev else None,
            "previous_tool_version": prev.tool_version if prev else None,
            "paired": bool(prev and prev.report),
            "verdict": (
                self.comparison["verdict"] if self.comparison else "rates-only" if prev else "baseline"
            ),
            "changes": self.changes,
            "overall": self.comparison["overall"] if self.comparison else None,
        }


def _load_report(result: StageResult) -> dict[str, Any] | None:
    for art in result.artifacts:
        if art.role != "probe_report":
            continue
        path = Path(art.path)
        if path.is_file() and sha256_file(path) == art.sha256:
            try:
                report = orjson.loads(path.read_bytes())
            except orjson.JSONDecodeError:
                return None
            return report if isinstance(report.get("items"), list) else None
    return None


def previous_run(ledger: Ledger, target_id: str, suites: list[str] | None = None) -> PreviousRun | None:
    """The latest probe run on these exact weights that covered one of `suites` (by default, one that a
    rerun can repeat on its own: a lone backdoor or canary run is not a reference for the others)."""
    def matches(result: StageResult) -> bool:
        summary = result.metrics.get("summary")
        if result.metrics.get("target_id") != target_id or not isinstance(summary, dict):
            return False
        if suites is not None:
            return bool(set(summary) & set(suites))
        return any(_self_contained(s) for s in summary)

    found = ledger.find_latest("probe", matches)
    if found is None:
        return None
    entry, result = found
    return PreviousRun(entry.seq, result.metrics["summary"], _load_report(result), result.tool_version)


def default_suites(previous: PreviousRun | None, policy_suites: list[str]) -> list[str]:
    names = list(previous.summary) if previous else list(policy_suites)
    return [s for s in names if _self_contained(s)] or [s for s in policy_suites if _self_contained(s)]


def generation_settings(previous: PreviousRun | None, probe_policy: Any) -> dict[str, Any]:
    """Decode as the previous run did (so a changed answer means changed behaviour), else per policy."""
    info = (previous.report or {}).get("target_info", {}) if previous else {}
    keys = ("max_new_tokens", "do_sample", "temperature", "seed", "batch_size")
    settings = {k: info[k] for k in keys if info.get(k) is not None}
    settings.setdefault("max_new_tokens", probe_policy.max_new_tokens)
    return settings


def rate_changes(before: dict[str, Any], now: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-suite R and D before and now (suites present in both runs)."""
    rows = []
    for suite in sorted(before.keys() & now.keys()):
        b, n = before[suite], now[suite]
        rb, rn = b.get("attack_success_rate"), n.get("attack_success_rate")
        rows.append({
            "suite": suite,
            "n_before": b.get("n"),
            "n_now": n.get("n"),
            "r_before": rb,
            "r_now": rn,
            "r_delta": None if rb is None or rn is None else round(rn - rb, 4),
            "d_before": b.get("decline_rate"),
            "d_now": n.get("decline_rate"),
        })
    return rows


def rerun_result(outcome: RerunOutcome, report: dict[str, Any], config_sha256: str | None) -> StageResult:
    """The ledger entry of one re-assessment: the run's own findings plus the drift verdict."""
    base = run_result(report, outcome.report_path, config_sha256)
    regressed = outcome.regressed
    findings = list(base.findings)
    drift = outcome.to_dict()
    if outcome.comparison is not None:
        o = outcome.comparison["overall"]
        findings.append(Finding(
            check="probe.rerun",
            severity=Severity.HIGH if regressed else Severity.INFO,
            message=(
                f"{outcome.ref}: R {o['base_rate']} -> {o['tuned_rate']} "
                f"since ledger #{drift['previous_seq']}"
                f" (exact McNemar p={o['p_value']}); regressed categories: "
                f"{outcome.comparison['regressed_categories'] or 'none'}"
            ),
            requirements=("FT-7", "BM-6"),
            subject=outcome.ref,
            evidence={"overall": o, "previous_seq": drift["previous_seq"]},
        ))
    return StageResult(
        stage="probe",
        verdict=Verdict.FAIL if regressed else base.verdict,
        summary=f"re-assessment of {outcome.ref}: {drift['verdict']}",
        findings=findings,
        metrics={**base.metrics, "rerun_of": drift["previous_seq"], "registry_ref": outcome.ref,
                 "drift": {k: drift[k] for k in ("verdict", "changes", "overall", "paired")}},
        artifacts=[
            *base.artifacts,
            Artifact(role="rerun_model", path=outcome.ref, sha256=_target_digest(report)),
        ],
        requirements=tuple(sorted(set(base.requirements) | {"FT-7", "BM-6"})),
        config_sha256=config_sha256,
        tool_version=tuneguard.__version__,
    )


def _target_digest(report: dict[str, Any]) -> str:
    # "local:<sha256>[+<sha256>]": the adapter's digest is the last one.
    ident = str(report.get("target_info", {}).get("id", ""))
    tail = ident.rsplit("+", 1)[-1].rsplit(":", 1)[-1]
    return tail if len(tail) == 64 else "0" * 64


def rerun_folder(
    ref: str,
    folder: Path,
    *,
    suites: list[str] | None,
    limit: int | None,
    policy: Any,
    out_dir: Path,
    cache: bool = False,
    progress: bool = False,
) -> RerunOutcome:
    """Probe the model in `folder` (pulled from the registry as `ref`), compare with its last run, record."""
    from .compare import compare_reports
    from .runner import run_probes
    from .targets import load_target

    pp = policy.probe
    probe_id = load_target(str(folder)).id  # loads nothing yet: the id is a digest of the files
    with Ledger(readonly=True) as ledger:
        previous = previous_run(ledger, probe_id, suites)
    target = load_target(str(folder), **generation_settings(previous, pp))
    chosen = suites or default_suites(previous, list(pp.suites))
    report = run_probes(target, chosen, limit if limit is not None else pp.limit, judge=pp.judge,
                        cache=cache, progress=progress)
    report["target"] = ref
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = out_dir / f"{ref.replace('@', '-').replace(':', '-')}-{stamp}.json"
    atomic_write_bytes(path, orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    outcome = RerunOutcome(ref=ref, seq=0, report_path=path, previous=previous, suites=chosen)
    if previous is not None:
        outcome.changes = rate_changes(previous.summary, slim_summary(report["summary"]))
        if previous.report is not None:
            try:
                outcome.comparison = compare_reports(previous.report, report, pp)
            except UserError:  # no prompts in common (suites changed since): rates only
                outcome.comparison = None
    result = rerun_result(outcome, report, policy.digest())
    with Ledger() as ledger:
        outcome.seq = ledger.record(result).seq
    return outcome
