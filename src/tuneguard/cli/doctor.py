"""`tuneguard doctor`: what this installation has and lacks."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from dataclasses import dataclass

import typer

from tuneguard import __version__
from tuneguard.core import Ledger, UserError, embedded_model_path, ledger_path, registry_path, tuneguard_home

from .common import JSON_HELP, console, emit_json, table


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


def _package(dist: str, module: str, required: bool, why: str) -> Check:
    if importlib.util.find_spec(module) is None:
        return Check(dist, False, f"not installed ({why})", required)
    try:
        return Check(dist, True, importlib.metadata.version(dist), required)
    except importlib.metadata.PackageNotFoundError:
        return Check(dist, True, "installed", required)


def gather() -> list[Check]:
    checks = [Check("python", sys.version_info >= (3, 11), sys.version.split()[0])]
    checks.append(Check("tuneguard", True, __version__))
    for dist, module, required, why in (
        ("torch", "torch", True, "needed for training and local probes"),
        ("transformers", "transformers", True, "needed for training and local probes"),
        ("peft", "peft", True, "needed for LoRA training"),
        ("trl", "trl", True, "needed for SFT training"),
        ("gguf", "gguf", True, "needed to read GGUF models"),
        ("fastapi", "fastapi", False, "needed for `serve` and `registry serve`"),
        ("model-signing", "model_signing", False, "needed for registry signatures"),
        ("hyperscan", "hyperscan", False, "faster PII matching; falls back to Python re"),
    ):
        checks.append(_package(dist, module, required, why))
    try:
        path = embedded_model_path()
        checks.append(Check("embedded model", True, f"{path} ({path.stat().st_size / 1e6:.1f} MB)"))
    except UserError as exc:
        checks.append(Check("embedded model", False, str(exc)))
    checks.append(Check("TUNEGUARD_HOME", True, str(tuneguard_home().resolve()), required=False))
    checks.append(_ledger_check())
    reg = registry_path()
    checks.append(
        Check("registry", True, f"{reg} ({'exists' if reg.exists() else 'created on first push'})", False)
    )
    return checks


def _ledger_check() -> Check:
    # Opening read-only is the existence test for both stores (SQLite file, or TUNEGUARD_LEDGER_URL).
    try:
        ledger = Ledger(readonly=True)
    except UserError:
        return Check("ledger", True, f"{ledger_path()} (created on first write)", required=False)
    with ledger:
        report = ledger.verify()
    state = f"{report.count} entries, chain intact" if report.ok else f"TAMPERED: {report.reason}"
    return Check("ledger", report.ok, f"{ledger.path} ({state})")


def doctor(json_out: str | None = typer.Option(None, "--json", help=JSON_HELP)) -> None:
    """Check Python, torch, transformers, the embedded model, the ledger and the registry.

    Exit 1 if a required part is missing.

    Example: tuneguard doctor --json -
    """
    checks = gather()
    missing = [c for c in checks if c.required and not c.ok]
    if json_out:
        emit_json({"ok": not missing, "checks": [c.__dict__ for c in checks]}, json_out)
    if json_out != "-":
        rows = [
            [
                c.name,
                "[green]ok[/]" if c.ok else ("[red]missing[/]" if c.required else "[yellow]optional[/]"),
                c.detail,
            ]
            for c in checks
        ]
        console.print(table("tuneguard doctor", ["component", "status", "detail"], rows))
    if missing:
        if json_out != "-":
            console.print(
                f"[red]{len(missing)} required component(s) missing:[/] {', '.join(c.name for c in missing)}"
            )
        raise typer.Exit(1)
