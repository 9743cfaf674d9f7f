"""`tuneguard clauses` and `tuneguard init`: the requirement catalog and the default policy file."""

from __future__ import annotations

from pathlib import Path

import typer

from tuneguard.core import UserError, atomic_write_text, load_catalog, parse_policy
from tuneguard.core.policy import default_policy_text

from .common import JSON_HELP, console, emit_json, table
from .stages import installed_checks


def clauses(
    json_out: str | None = typer.Option(None, "--json", help=JSON_HELP),
    area: str | None = typer.Option(None, "--area", help="Only one area: DP, BM, FT, SV or DM."),
) -> None:
    """Show every requirement (DP-1 … DM-6), what it maps to, and which check covers it.

    A requirement that no installed check covers is shown as "not covered".
    Example: tuneguard clauses --area DP
    """
    catalog = load_catalog()
    coverage = catalog.coverage(installed_checks())
    reqs = [r for r in catalog.requirements if area is None or r.area == area.upper()]
    if area and not reqs:
        raise UserError(f"--area {area}: unknown area (use one of {', '.join(catalog.areas)})")
    if json_out:
        emit_json(
            {
                "note": catalog.clause_note,
                "requirements": [
                    {
                        "id": r.id,
                        "area": r.area,
                        "title": r.title,
                        "description": r.description,
                        "evidence": r.evidence,
                        "mapped_to": r.mapped_to,
                        "covered_by": [
                            {"check": c.id, "stage": c.stage, "command": c.command, "manual": c.manual}
                            for c in coverage[r.id]
                        ],
                    }
                    for r in reqs
                ],
            },
            json_out,
        )
        if json_out == "-":
            return
    rows = []
    for r in reqs:
        checks = coverage[r.id]
        cover = (
            ", ".join(f"{c.id}{' (manual)' if c.manual else ''}" for c in checks) or "[yellow]not covered[/]"
        )
        rows.append([r.id, r.title, ", ".join(r.mapped_to), cover])
    console.print(
        table("AI-STR-01 fine-tuning requirements", ["id", "requirement", "mapped to", "covered by"], rows)
    )
    covered = sum(1 for r in reqs if any(not c.manual for c in coverage[r.id]))
    console.print(f"{covered}/{len(reqs)} requirements have an automated check. {catalog.clause_note}")


def init(
    path: Path = typer.Argument(Path("tuneguard.toml"), help="Where to write the policy file."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented default policy file (tuneguard.toml).

    Example: tuneguard init && $EDITOR tuneguard.toml
    """
    if path.exists() and not force:
        raise UserError(f"{path} exists; use --force to overwrite it")
    text = default_policy_text()
    parse_policy(text, path)  # the shipped template must always be valid
    atomic_write_text(path, text)
    console.print(f"wrote {path}")
