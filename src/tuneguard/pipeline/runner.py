"""Run gates in order, reuse stages whose inputs are unchanged (digest in the ledger), stop at a failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneguard.core import Ledger, Policy, UserError, sha256_bytes, sha256_file
from tuneguard.core.canonical import canonical_json

PIPELINE_KIND = "pipeline_stage"


@dataclass
class StageOutcome:
    """What one pipeline stage produced: a verdict, named output files, numbers to show."""

    verdict: str  # pass | fail | skipped
    summary: str = ""
    outputs: dict[str, str] = field(default_factory=dict)  # name -> path
    values: dict[str, Any] = field(default_factory=dict)  # small facts later stages need (refs, seqs)


@dataclass
class Context:
    """Everything a stage needs: the policy, resolved paths, and the outcomes of earlier stages."""

    policy: Policy
    config_dir: Path
    out_dir: Path
    report_dir: Path
    ledger: Ledger
    outcomes: dict[str, StageOutcome] = field(default_factory=dict)
    on_progress: Callable[[str], None] = lambda _msg: None

    def path(self, value: str | None, what: str) -> Path:
        if not value:
            raise UserError(f"{self.policy.source}: key '{what}' is required by `tuneguard run`")
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.config_dir / p)

    def output(self, stage: str, name: str) -> Path:
        outcome = self.outcomes.get(stage)
        if outcome is None or name not in outcome.outputs:
            raise UserError(f"stage '{stage}' has not produced '{name}'; run it first (drop --from)")
        return Path(outcome.outputs[name])


@dataclass(frozen=True)
class PipelineStage:
    name: str
    title: str
    inputs: Callable[[Context], dict[str, Any]]
    run: Callable[[Context], StageOutcome]
    enabled: Callable[[Context], bool] = lambda _ctx: True


def input_digest(stage: str, inputs: dict[str, Any]) -> str:
    return sha256_bytes(canonical_json({"stage": stage, "inputs": inputs}).encode())


def _outputs_with_digests(outcome: StageOutcome) -> dict[str, dict[str, str]]:
    out = {}
    for name, path in outcome.outputs.items():
        p = Path(path)
        out[name] = {"path": str(p), "sha256": sha256_file(p) if p.is_file() else _dir_digest(p)}
    return out


def _dir_digest(path: Path) -> str:
    if not path.is_dir():
        return ""
    parts = [f"{f.relative_to(path)}:{sha256_file(f)}" for f in sorted(path.rglob("*")) if f.is_file()]
    return sha256_bytes("\n".join(parts).encode())


def find_reusable(ledger: Ledger, stage: str, digest: str) -> StageOutcome | None:
    """A passed earlier run of `stage` with the same inputs whose outputs are still there, unchanged."""
    found = None
    for entry in ledger.entries(stage="pipeline", kind=PIPELINE_KIND):
        p = entry.payload
        if p.get("stage") == stage and p.get("input_digest") == digest:
            found = p
    if not found or found.get("verdict") != "pass":
        return None
    for out in found.get("outputs", {}).values():
        path = Path(out["path"])
        current = sha256_file(path) if path.is_file() else _dir_digest(path)
        if current != out["sha256"]:
            return None
    return StageOutcome(
        "pass",
        found.get("summary", ""),
        {k: v["path"] for k, v in found["outputs"].items()},
        found.get("values", {}),
    )


def record_stage(
    ledger: Ledger, stage: str, digest: str, outcome: StageOutcome, seconds: float, reused: bool
) -> None:
    ledger.append(
        "pipeline",
        {
            "stage": stage,
            "input_digest": digest,
            "verdict": outcome.verdict,
            "summary": outcome.summary,
            "outputs": _outputs_with_digests(outcome),
            "values": outcome.values,
            "seconds": round(seconds, 3),
            "reused": reused,
        },
        kind=PIPELINE_KIND,
    )


@dataclass
class StageTiming:
    name: str
    verdict: str
    seconds: float
    reused: bool
    summary: str


def run_stages(
    stages: list[PipelineStage],
    ctx: Context,
    *,
    start: str | None = None,
    until: str | None = None,
    on_stage: Callable[[PipelineStage], None] = lambda _s: None,
) -> list[StageTiming]:
    """Run `stages` in order; stop after a failed gate. `start` forces re-running from that stage on."""
    names = [s.name for s in stages]
    for label, value in (("--from", start), ("--until", until)):
        if value is not None and value not in names:
            raise UserError(f"{label} {value}: unknown stage (stages: {', '.join(names)})")
    forced = False
    timings: list[StageTiming] = []
    for stage in stages:
        forced = forced or stage.name == start
        if not stage.enabled(ctx):
            timings.append(StageTiming(stage.name, "skipped", 0.0, False, "disabled in the configuration"))
        else:
            on_stage(stage)
            t0 = time.perf_counter()
            digest = input_digest(stage.name, stage.inputs(ctx))
            reused = None if forced else find_reusable(ctx.ledger, stage.name, digest)
            outcome = reused or stage.run(ctx)
            seconds = time.perf_counter() - t0
            record_stage(ctx.ledger, stage.name, digest, outcome, seconds, reused is not None)
            ctx.outcomes[stage.name] = outcome
            timings.append(
                StageTiming(stage.name, outcome.verdict, seconds, reused is not None, outcome.summary)
            )
            if outcome.verdict == "fail":
                break
        if stage.name == until:
            break
    return timings
