"""`tuneguard run`: the whole pipeline from one configuration file, with progress and a conformance report."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.live import Live
from rich.spinner import Spinner

from .common import JSON_HELP, console, emit_json, table
from .stages import installed_checks


def run(
    config: Path = typer.Argument(..., help="tuneguard.toml naming the dataset, base model and settings."),
    report_dir: Path | None = typer.Option(
        None, "--report-dir", help="Where to write the report (default: [pipeline] report_dir)."
    ),
    until: str | None = typer.Option(None, "--until", help="Stop after this stage."),
    start: str | None = typer.Option(
        None, "--from", help="Re-run from this stage even if its inputs are unchanged."
    ),
    json_out: str | None = typer.Option(None, "--json", help=JSON_HELP),
) -> None:
    """Run every gate: data → model → baseline probes → training → tuned probes → registry → env review.

    Stages whose inputs are unchanged (by digest, from the ledger) are reused. A failing gate stops the
    pipeline with exit 1; the report is written either way.
    Stages: data, model, baseline, train, evaluate, registry, serve-check.
    Example: tuneguard run examples/support-bot/tuneguard.toml --report-dir out/report
    """
    import warnings

    from tuneguard.pipeline import run_pipeline

    # Library deprecation notices (transformers/TRL renames) are noise for a pipeline user.
    warnings.filterwarnings("ignore", category=FutureWarning)

    state = {"stage": "", "note": "", "t0": time.perf_counter()}
    spinner = Spinner("dots", text="starting")

    def on_stage(stage) -> None:
        state.update(stage=stage.title, note="", t0=time.perf_counter())
        console.print(f"[bold]▶ {stage.name}[/]: {stage.title}")

    def on_progress(message: str) -> None:
        state["note"] = message
        spinner.update(text=f"{state['stage']} — {message}")

    with Live(spinner, console=console, transient=True, refresh_per_second=4, redirect_stdout=False):
        result = run_pipeline(
            config,
            report_dir=report_dir,
            start=start,
            until=until,
            checks=installed_checks(),
            on_stage=on_stage,
            on_progress=on_progress,
        )
    rows = [
        [t.name, t.verdict + (" (reused)" if t.reused else ""), f"{t.seconds:.1f}s", t.summary]
        for t in result.timings
    ]
    if json_out:
        emit_json(
            {
                "stages": [t.__dict__ for t in result.timings],
                "verdict": result.report["verdict"],
                "counts": result.report["counts"],
                "ledger_head": result.report["ledger_head"],
                "report": {k: str(v) for k, v in result.report_files.items()},
            },
            json_out,
        )
    if json_out != "-":
        console.print(table("Pipeline", ["stage", "verdict", "time", "summary"], rows))
        c = result.report["counts"]
        console.print(
            f"conformance [bold]{result.report['verdict'].upper()}[/]: {c['pass']} pass, {c['fail']} fail,"
            f" {c['not-tested']} not tested · ledger head {result.report['ledger_head']}"
        )
        console.print(f"report: {result.report_files.get('html')}")
    if result.failed or result.report["verdict"] in ("fail", "tampered"):
        raise typer.Exit(1)
