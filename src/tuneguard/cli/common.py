"""Console helpers shared by every command group: Rich output, JSON output, exit codes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from tuneguard.core import atomic_write_bytes

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

JSON_HELP = "Write machine-readable JSON to this file ('-' for standard output)."


def to_json_bytes(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def emit_json(value: Any, target: str | Path) -> None:
    """Write JSON to a file atomically, or to stdout when target is '-'."""
    data = to_json_bytes(value)
    if str(target) == "-":
        sys.stdout.write(data.decode("utf-8") + "\n")
        sys.stdout.flush()
    else:
        atomic_write_bytes(target, data + b"\n")


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    t = Table(title=title, title_justify="left", show_lines=False)
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*("" if c is None else str(c) for c in row))
    return t


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def severity_style(sev: str) -> str:
    return {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}.get(
        sev, ""
    )
