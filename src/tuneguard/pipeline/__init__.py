"""The end-to-end pipeline (`tuneguard run`): every gate in order, resumable by digest, ending in a report."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuneguard.core import Ledger, UserError, load_policy

from .runner import Context, PipelineStage, StageOutcome, StageTiming, run_stages

STAGE_NAMES = ("data", "model", "baseline", "train", "evaluate", "registry", "serve-check")


@dataclass
class PipelineResult:
    timings: list[StageTiming]
    report: dict[str, Any]
    report_files: dict[str, Path]

    @property
    def failed(self) -> bool:
        return any(t.verdict == "fail" for t in self.timings)


def run_pipeline(config: str | Path, *, report_dir: str | Path | None = None, start: str | None = None,
                 until: str | None = None, checks: list | None = None,
                 on_stage: Callable[[PipelineStage], None] = lambda _s: None,
                 on_progress: Callable[[str], None] = lambda _m: None) -> PipelineResult:
    """Run the configured pipeline; a failed gate stops it, and the report is written either way."""
    from tuneguard.report import generate

    from .stages import STAGES

    config = Path(config)
    if not config.is_file():
        raise UserError(f"{config}: configuration file not found")
    policy = load_policy(config)
    base = config.resolve().parent
    resolve = lambda p: (Path(p) if Path(p).is_absolute() else base / p)  # noqa: E731
    out_dir = resolve(policy.pipeline.output_dir)
    reports = Path(report_dir) if report_dir else resolve(policy.pipeline.report_dir)
    with Ledger() as ledger:
        ctx = Context(policy, base, out_dir, reports, ledger, on_progress=on_progress)
        timings = run_stages(STAGES, ctx, start=start, until=until, on_stage=on_stage)
        firsts = [o.values.get("first_seq") for o in ctx.outcomes.values() if o.values.get("first_seq")]
        report, files = generate(reports, ledger_from=min(firsts, default=0), checks=checks, ledger=ledger)
    return PipelineResult(timings, report, files)


__all__ = ["STAGE_NAMES", "Context", "PipelineResult", "PipelineStage", "StageOutcome", "run_pipeline"]
