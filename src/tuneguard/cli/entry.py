"""The `tuneguard` console entry point: for `model scan|bom PATH` it starts hashing PATH's big files on
background threads before the CLI's imports (Typer, pydantic, Rich: ~0.4 s of CPU), so on a machine with a
second core both run at once; then it hands the arguments to the CLI unchanged, and at the end skips the
interpreter's last full garbage collection."""

from __future__ import annotations

import gc
import sys

# Options of `model scan` and `model bom` that take a value: that value is not a model path.
# tests/cli/test_entry.py checks this against the commands' real parameters.
VALUE_OPTIONS = frozenset({"--json", "--expect", "--config", "-o", "--output", "--name", "--version"})
HASHING_COMMANDS = ("scan", "bom")


def model_paths(argv: list[str]) -> list[str]:
    """The positional arguments of a `model scan|bom` command line, or [] for any other command."""
    if len(argv) < 3 or argv[0] != "model" or argv[1] not in HASHING_COMMANDS:
        return []
    paths: list[str] = []
    args = iter(argv[2:])
    for arg in args:
        if arg in ("-h", "--help"):
            return []
        if arg == "--":
            paths.extend(args)
        elif arg in VALUE_OPTIONS:
            next(args, None)
        elif not arg.startswith("-"):
            paths.append(arg)
    return paths


def run() -> None:
    paths = model_paths(sys.argv[1:])
    if paths:
        from tuneguard.core.early_hash import EARLY_HASHES

        EARLY_HASHES.start(paths)
    from .main import run as run_cli

    try:
        run_cli()
    finally:
        # At exit the interpreter runs a full collection over every object the imports created (~0.1 s of
        # CPU per command, bench/RESULTS.md "## model"); the OS frees that memory anyway. Frozen objects are
        # skipped; atexit handlers and stream flushing still run.
        gc.freeze()
