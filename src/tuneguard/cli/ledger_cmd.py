"""`tuneguard ledger`: attest, verify, show and export the evidence ledger."""

from __future__ import annotations

from pathlib import Path

import typer

from tuneguard.core import Ledger, UserError, load_catalog, sha256_file, verify_export
from tuneguard.core.canonical import canonical_json

from .common import JSON_HELP, console, emit_json, err_console, table

app = typer.Typer(help="The hash-chained evidence ledger every stage writes to.", no_args_is_help=True)


@app.command()
def attest(
    stage: str = typer.Option(
        ..., help="Stage the evidence belongs to (data, model, train, probe, registry, serve)."
    ),
    note: str = typer.Option(..., help="What is attested, in words."),
    requirement: list[str] = typer.Option([], "--requirement", "-r", help="Requirement id(s) this supports."),
    file: list[Path] = typer.Option([], "--file", "-f", help="File(s) to record by SHA-256 (not copied)."),
) -> None:
    """Record a manual evidence entry, such as a provider's security agreement or a human sign-off.

    Example: tuneguard ledger attest --stage model --note "Provider DPA signed" -r BM-2 --file dpa.pdf
    """
    catalog = load_catalog()
    for req in requirement:
        if catalog.get(req) is None:
            raise UserError(f"--requirement {req}: unknown requirement id (see `tuneguard clauses`)")
    files = []
    for path in file:
        if not path.is_file():
            raise UserError(f"--file {path}: not a readable file")
        files.append({"path": str(path), "sha256": sha256_file(path), "size": path.stat().st_size})
    with Ledger() as ledger:
        entry = ledger.append(
            stage, {"note": note, "requirements": requirement, "files": files}, kind="attestation"
        )
    console.print(entry.seq)


@app.command()
def verify(
    head: str | None = typer.Option(None, "--head", help="Also require the chain to end at this hash."),
    file: Path | None = typer.Option(
        None, "--file", help="Verify an exported JSONL file instead of the database."
    ),
) -> None:
    """Recompute the hash chain; exit 1 naming the first edited, deleted or reordered entry.

    Example: tuneguard ledger verify --head 3f2a…
    """
    if file is not None:
        report = verify_export(file, head)
        where = str(file)
    else:
        with Ledger(readonly=True) as ledger:
            report = ledger.verify(head)
            where = str(ledger.path)
    if not report.ok:
        err_console.print(f"[bold red]TAMPERED[/] {where}: {report.reason}")
        raise typer.Exit(1)
    console.print(f"[green]OK[/] {where}: {report.count} entries, head {report.head}")


@app.command()
def show(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array of entries."),
    stage: str | None = typer.Option(None, "--stage", help="Only entries of this stage."),
    since: int = typer.Option(0, "--since", help="Only entries with seq >= this."),
    limit: int | None = typer.Option(None, "--limit", help="At most this many (the newest)."),
) -> None:
    """List ledger entries.

    Example: tuneguard ledger show --stage data --json
    """
    with Ledger(readonly=True) as ledger:
        entries = list(ledger.entries(stage=stage, since=since))
    if limit is not None:
        entries = entries[-limit:]
    if as_json:
        emit_json([e.to_dict() for e in entries], "-")
        return
    rows = [[e.seq, e.time[:19], e.actor, e.stage, e.kind, _summary(e.payload), e.hash[:12]] for e in entries]
    console.print(
        table(
            f"Ledger ({len(entries)} entries)",
            ["seq", "time (UTC)", "actor", "stage", "kind", "summary", "hash"],
            rows,
        )
    )


def _summary(payload: dict) -> str:
    if "verdict" in payload:
        return f"{payload['verdict']}: {payload.get('summary', '')}"[:80]
    if "note" in payload:
        return str(payload["note"])[:80]
    return canonical_json(payload)[:80]


@app.command()
def export(
    output: Path = typer.Option(..., "-o", "--output", help="JSONL file to write."),
    json_out: str | None = typer.Option(None, "--json", help=JSON_HELP),
) -> None:
    """Write a self-contained JSONL export that `tuneguard ledger verify --file` checks offline.

    Example: tuneguard ledger export -o audit.jsonl
    """
    with Ledger(readonly=True) as ledger:
        report = ledger.export(output)
    if json_out:
        emit_json(
            {"path": str(output), "count": report.count, "head": report.head, "ok": report.ok}, json_out
        )
    if not report.ok:
        err_console.print(f"[bold red]TAMPERED[/] exported anyway for inspection: {report.reason}")
        raise typer.Exit(1)
    console.print(f"exported {report.count} entries to {output}, head {report.head}")
