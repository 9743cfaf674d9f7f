"""`tuneguard report`: the AI-STR conformance report (JSON, HTML, SARIF, Markdown), from the ledger alone."""

from __future__ import annotations

from pathlib import Path

import typer

from tuneguard.core import UserError

from .common import JSON_HELP, console, emit_json, err_console, table
from .stages import installed_checks


def report(
    output: Path = typer.Option(Path("report"), "-o", "--output", help="Folder to write report.* into."),
    ledger_from: int = typer.Option(0, "--ledger-from", help="Only use ledger entries with seq >= this."),
    formats: str = typer.Option(
        "json,html,sarif,md", "--format", help="Comma-separated: json, html, sarif, md."
    ),
    json_out: str | None = typer.Option(None, "--json", help=JSON_HELP),
) -> None:
    """Verify the ledger and write the conformance report.

    Exit 1 if a requirement failed or the ledger was altered.

    Example: tuneguard report -o report/ && xdg-open report/report.html
    """
    from tuneguard.report import FORMATS, generate

    wanted = tuple(f.strip() for f in formats.split(",") if f.strip())
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise UserError(
            f"--format {formats}: unknown format(s) {', '.join(unknown) or '(none)'}; "
            f"use {', '.join(FORMATS)}"
        )
    result, paths = generate(output, ledger_from=ledger_from, checks=installed_checks(), formats=wanted)
    if json_out:
        emit_json(
            {
                "verdict": result["verdict"],
                "counts": result["counts"],
                "ledger_head": result["ledger_head"],
                "files": {k: str(v) for k, v in paths.items()},
            },
            json_out,
        )
    if json_out != "-":
        rows = [
            [r["id"], r["title"], r["status"], ", ".join(str(e["seq"]) for e in r["evidence"][-4:])]
            for r in result["requirements"]
        ]
        console.print(table("Conformance", ["id", "requirement", "status", "evidence (seq)"], rows))
        console.print(
            f"verdict [bold]{result['verdict'].upper()}[/]: {result['counts']['pass']} pass, "
            f"{result['counts']['fail']} fail, {result['counts']['not-tested']} not tested; "
            f"ledger head {result['ledger_head']}"
        )
        for fmt, path in paths.items():
            console.print(f"  {fmt:5s} {path}")
    if result["verdict"] == "tampered":
        err_console.print(f"[bold red]ledger chain broken:[/] {result['ledger_problem']}")
        raise typer.Exit(1)
    if result["verdict"] == "fail":
        raise typer.Exit(1)
