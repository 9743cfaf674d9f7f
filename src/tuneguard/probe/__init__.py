"""Behavioural security testing: targets, probe suites, offline judges, async runner, regression verdict.

Public API (stable; other stages call these): `load_target`, `run_probes`, `arun_probes`, `compare_reports`,
`judge_responses`, `JudgeResult`, `CHECKS`. Heavy modules load on first use, so importing
this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuneguard.core import CheckSpec

from .judges.base import JudgeResult

if TYPE_CHECKING:
    from .targets import Target

CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        "probe.harmful",
        "probe",
        "Baseline refusal of harmful requests (EN/ZH) on the base model",
        ("BM-3", "FT-2"),
        "tuneguard probe run --suite harmful",
    ),
    CheckSpec(
        "probe.endpoint",
        "probe",
        "Probing local weights and OpenAI-compatible endpoints alike",
        ("BM-7",),
        "tuneguard probe run --target openai:URL",
    ),
    CheckSpec(
        "probe.regression",
        "probe",
        "Base-vs-tuned regression, exact McNemar per category with margins",
        ("FT-2",),
        "tuneguard probe compare",
    ),
    CheckSpec(
        "probe.pentest",
        "probe",
        "Jailbreak, prompt-injection and system-prompt-extraction attacks (R, D)",
        ("FT-4",),
        "tuneguard probe run --suite jailbreak,injection",
    ),
    CheckSpec(
        "probe.backdoor",
        "probe",
        "Backdoor-trigger probes from the data scan's candidate triggers",
        ("FT-3", "FT-4"),
        "tuneguard probe run --suite backdoor --triggers REPORT.json",
    ),
    CheckSpec(
        "probe.privacy",
        "probe",
        "PII leakage, training-prefix and canary extraction",
        ("FT-5",),
        "tuneguard probe run --suite pii-leak,canary",
    ),
    CheckSpec(
        "probe.history",
        "probe",
        "Re-runnable probe suites with results kept in the ledger",
        ("FT-7",),
        "tuneguard probe run",
    ),
)


def load_target(spec: Any, **gen_kwargs: Any) -> Target:
    from .targets import load_target as _load

    return _load(spec, **gen_kwargs)


def run_probes(target: Any, suites: Any, limit: int | None = None, **kwargs: Any) -> dict[str, Any]:
    from .runner import run_probes as _run

    return _run(target, suites, limit, **kwargs)


async def arun_probes(target: Any, suites: Any, limit: int | None = None, **kwargs: Any) -> dict[str, Any]:
    from .runner import arun_probes as _arun

    return await _arun(target, suites, limit, **kwargs)


def compare_reports(base: dict[str, Any], tuned: dict[str, Any], policy: Any = None) -> dict[str, Any]:
    from .compare import compare_reports as _cmp

    return _cmp(base, tuned, policy)


def judge_responses(
    pairs: list[tuple[str, str]], judge: str = "default", **options: Any
) -> list[JudgeResult]:
    """Judge (prompt, response) pairs; the default judge is offline and handles English and Chinese."""
    from .judges import get_judge

    return get_judge(judge, **options).judge(pairs)


def load_triggers(path: Any) -> list[dict[str, str]]:
    """Candidate triggers (medium and above) from a `tuneguard data scan --json` report."""
    from .suites.backdoor import load_triggers as _load

    return _load(path)


def record_run(report: dict[str, Any], out: Any = None, config_sha256: str | None = None) -> int:
    """Record a `run_probes` report as a probe-stage result in the ledger; returns the entry's seq."""
    from .ledger import record, run_result

    return record(run_result(report, out, config_sha256))


def compare_result(result: dict[str, Any], base: Any, tuned: Any, config_sha256: str | None = None) -> Any:
    """A `compare_reports` result as a ledger StageResult (not yet recorded)."""
    from .ledger import compare_result as _result

    return _result(result, base, tuned, config_sha256)


def record_result(result: Any) -> int:
    from .ledger import record

    return record(result)


__all__ = [
    "CHECKS",
    "JudgeResult",
    "compare_result",
    "record_result",
    "record_run",
    "arun_probes",
    "compare_reports",
    "judge_responses",
    "load_triggers",
    "load_target",
    "run_probes",
]
