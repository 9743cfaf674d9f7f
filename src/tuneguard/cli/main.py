"""The `tuneguard` command: every command group in lifecycle order (each imported on first use) and the
mapping of errors to exit codes 0/1/2."""
from __future__ import annotations

import sys

import typer

from tuneguard import __version__
from tuneguard.core.errors import TuneguardError

from .lazy import Lazy, lazy_group

# The order `tuneguard --help` lists them in: set-up commands, then the stages in lifecycle order (`train` is
# a single command, and Typer lists single commands before groups, so it has always come before `data`).
# Each is imported only when it runs or help lists it, so one command does not pay for every stage's imports.
COMMANDS = (
    Lazy("doctor", "tuneguard.cli.doctor", "doctor"),
    Lazy("init", "tuneguard.cli.catalog_cmd", "init"),
    Lazy("clauses", "tuneguard.cli.catalog_cmd", "clauses"),
    Lazy("report", "tuneguard.cli.report_cmd", "report"),
    Lazy("run", "tuneguard.cli.run_cmd", "run"),
    Lazy("train", "tuneguard.cli.train_cmd", "train"),
    Lazy("data", "tuneguard.cli.data_cmd", "app", group=True),
    Lazy("model", "tuneguard.cli.model_cmd", "app", group=True),
    Lazy("probe", "tuneguard.cli.probe_cmd", "app", group=True),
    Lazy("registry", "tuneguard.cli.registry_cmd", "app", group=True),
    Lazy("serve", "tuneguard.cli.serve_cmd", "app", group=True),
    Lazy("ledger", "tuneguard.cli.ledger_cmd", "app", group=True),
)

app = typer.Typer(
    name="tuneguard",
    help="Safe, auditable LLM fine-tuning: every stage is a gate that leaves evidence in one hash-chained "
         "ledger.\n\nExample: tuneguard run examples/support-bot/tuneguard.toml",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=lazy_group(COMMANDS),
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
        from .common import err_console

        err_console.print(f"[bold red]error:[/] {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        from .common import err_console

        err_console.print("interrupted")
        return 130
    return 0


def run() -> None:
    sys.exit(main())
