"""The `tuneguard` command: registers every command group and maps errors to exit codes 0/1/2."""
from __future__ import annotations

import sys

import typer

from tuneguard import __version__
from tuneguard.core import TuneguardError

from . import (
    catalog_cmd,
    data_cmd,
    doctor,
    ledger_cmd,
    model_cmd,
    probe_cmd,
    registry_cmd,
    report_cmd,
    run_cmd,
    serve_cmd,
    train_cmd,
)
from .common import err_console

app = typer.Typer(
    name="tuneguard",
    help="Safe, auditable LLM fine-tuning: every stage is a gate that leaves evidence in one hash-chained "
         "ledger.\n\nExample: tuneguard run examples/support-bot/tuneguard.toml",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"tuneguard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """tuneguard: fine-tuning security gates (WDTA AI-STR-01)."""


app.command()(doctor.doctor)
app.command()(catalog_cmd.init)
app.command()(catalog_cmd.clauses)
app.command(name="report")(report_cmd.report)
app.command(name="run")(run_cmd.run)
app.add_typer(data_cmd.app, name="data")
app.add_typer(model_cmd.app, name="model")
app.command(name="train")(train_cmd.train)
app.add_typer(probe_cmd.app, name="probe")
app.add_typer(registry_cmd.app, name="registry")
app.add_typer(serve_cmd.app, name="serve")
app.add_typer(ledger_cmd.app, name="ledger")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; user errors print one line, never a traceback.

    Typer's standalone mode already maps usage errors to exit 2 and prints them; only our own
    exceptions need mapping here.
    """
    try:
        app(args=argv, prog_name="tuneguard")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    except TuneguardError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    return 0


def run() -> None:
    sys.exit(main())
