"""`tuneguard registry`: push, pull, verify, list, history, promote, rollback, users and serve."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from tuneguard.core import GateFailed, UserError

from .common import console, emit_json, err_console, table

app = typer.Typer(
    help="Encrypted, signed, versioned artifact registry (local, or a server with --remote).",
    no_args_is_help=True,
)
users_app = typer.Typer(help="Registry users and their API tokens (admin only).", no_args_is_help=True)
app.add_typer(users_app, name="users")

REMOTE_HELP = "Registry server URL (token from TUNEGUARD_TOKEN); default: the local TUNEGUARD_HOME registry."
RemoteOpt = typer.Option(None, "--remote", envvar="TUNEGUARD_REMOTE", help=REMOTE_HELP)


@contextlib.contextmanager
def _registry(remote: str | None) -> Iterator[Any]:
    from tuneguard.registry.access import AccessDenied

    if remote:
        from tuneguard.registry.client import RemoteRegistry

        reg: Any = RemoteRegistry(remote)
    else:
        from tuneguard.registry import Registry

        reg = Registry.open()
    try:
        yield reg
    except AccessDenied as exc:
        raise GateFailed(f"access denied: {exc}") from None
    finally:
        reg.close()


def _lineage(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--lineage {pair!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


@app.command()
def push(
    folder: Path = typer.Argument(..., help="Artifact folder to store."),  # noqa: B008
    name: str = typer.Option(..., "--name", help="Artifact name; versions are numbered per name."),
    kind: str = typer.Option("model", "--kind", help="model, adapter, dataset or report."),
    lineage: list[str] = typer.Option(  # noqa: B008
        [],
        "--lineage",
        help="KEY=VALUE (base_sha256, dataset_sha256, run_id,"
        " probe_report, gates=LEDGER_SEQ[,SEQ]); repeatable.",
    ),
    remote: str | None = RemoteOpt,
) -> None:
    """Encrypt, sign and store FOLDER as the next immutable version; prints NAME@vN.

    Example: tuneguard registry push out/adapter --name support-bot --kind adapter --lineage gates=12,15
    """
    with _registry(remote) as reg, err_console.status(f"encrypting and signing {folder} ..."):
        ref = reg.push(folder, name, kind, _lineage(lineage))
    console.print(ref)


@app.command()
def pull(
    ref: str = typer.Argument(..., help="NAME, NAME@vN or NAME:alias."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder to create (absent or empty)."),  # noqa: B008
    remote: str | None = RemoteOpt,
) -> None:
    """Decrypt and verify a version into a new folder (written to a temp folder, renamed when verified).

    Example: tuneguard registry pull support-bot:production -o deploy/model
    """
    with _registry(remote) as reg, err_console.status(f"decrypting and verifying {ref} ..."):
        out = reg.pull(ref, output)
    console.print(f"{ref} -> {out}")


@app.command()
def verify(
    ref: str = typer.Argument(..., help="NAME or NAME@vN."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    remote: str | None = RemoteOpt,
) -> None:
    """Check the signature and every file of a version; exit 1 naming each file that does not match.

    Example: tuneguard registry verify support-bot@v3
    """
    with _registry(remote) as reg, err_console.status(f"verifying {ref} ..."):
        result = reg.verify(ref)
    if as_json:
        emit_json(result.to_dict(), "-")
    elif result.ok:
        console.print(f"[green]OK[/] {result.ref}: signature valid, {result.files} file(s) match")
    else:
        for problem in result.problems:
            err_console.print(f"[bold red]MISMATCH[/] {result.ref}: {problem['message']}")
    if not result.ok:
        raise typer.Exit(1)


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."), remote: str | None = RemoteOpt
) -> None:
    """List every stored version with its aliases.

    Example: tuneguard registry list --json
    """
    with _registry(remote) as reg:
        rows = reg.list()
    if as_json:
        emit_json(rows, "-")
        return
    console.print(
        table(
            f"Registry ({len(rows)} versions)",
            ["ref", "kind", "created (UTC)", "files", "bytes", "aliases", "digest"],
            [
                [
                    r["ref"],
                    r["kind"],
                    (r["created"] or "")[:19],
                    r["files"],
                    r["size"],
                    ",".join(r["aliases"]),
                    r["digest"][:12],
                ]
                for r in rows
            ],
        )
    )


@app.command()
def history(
    name: str = typer.Argument(..., help="Artifact name."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    remote: str | None = RemoteOpt,
) -> None:
    """Show every version of NAME with lineage, and the alias history (promotions and rollbacks).

    Example: tuneguard registry history support-bot
    """
    with _registry(remote) as reg:
        data = reg.history(name)
    if as_json:
        emit_json(data, "-")
        return
    console.print(
        table(
            f"{name}: versions",
            ["version", "created (UTC)", "actor", "aliases", "lineage"],
            [
                [
                    f"v{v['version']}",
                    (v["created"] or "")[:19],
                    v["actor"],
                    ",".join(v["aliases"]),
                    ", ".join(f"{k}={val}" for k, val in v["lineage"].items()),
                ]
                for v in data["versions"]
            ],
        )
    )
    console.print(
        table(
            f"{name}: alias history",
            ["time (UTC)", "alias", "action", "from", "to", "actor"],
            [
                [
                    e["time"][:19],
                    e["alias"],
                    e["action"],
                    "" if e["from_version"] is None else f"v{e['from_version']}",
                    f"v{e['to_version']}",
                    e["actor"],
                ]
                for e in data["alias_events"]
            ],
        )
    )


@app.command()
def promote(
    ref: str = typer.Argument(..., help="NAME@vN (or NAME / NAME:alias)."),
    alias: str = typer.Option(..., "--alias", help="Alias to move, e.g. staging or production."),
    remote: str | None = RemoteOpt,
) -> None:
    """Point an alias at a version (only if its recorded gates passed, when policy requires it).

    Example: tuneguard registry promote support-bot@v3 --alias production
    """
    with _registry(remote) as reg:
        moved = reg.promote(ref, alias)
    _moved(moved)


@app.command()
def rollback(
    name: str = typer.Argument(..., help="Artifact name."),
    alias: str = typer.Option(..., "--alias", help="Alias to move back."),
    remote: str | None = RemoteOpt,
) -> None:
    """Move an alias back to the version it pointed at before its latest promotion.

    Example: tuneguard registry rollback support-bot --alias production
    """
    with _registry(remote) as reg:
        moved = reg.rollback(name, alias)
    _moved(moved)


def _moved(moved: dict[str, Any]) -> None:
    before = "nothing" if moved["from"] is None else f"v{moved['from']}"
    console.print(f"{moved['name']}:{moved['alias']} {before} -> v{moved['to']}")


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="User name."),
    role: str = typer.Option(..., "--role", help="admin, trainer, deployer or auditor."),
    remote: str | None = RemoteOpt,
) -> None:
    """Create a user and print its API token once (only an argon2 hash is kept).

    Example: tuneguard registry users add alice --role trainer
    """
    with _registry(remote) as reg:
        token = reg.add_user(name, role)
    err_console.print(f"user {name} ({role}) created; the token is shown once, store it now:")
    console.print(token)


@users_app.command("remove")
def users_remove(name: str = typer.Argument(..., help="User name."), remote: str | None = RemoteOpt) -> None:
    """Delete a user; its token stops working.

    Example: tuneguard registry users remove alice
    """
    with _registry(remote) as reg:
        reg.remove_user(name)
    console.print(f"removed {name}")


@app.command()
def audit(
    output: Path | None = typer.Option(None, "-o", "--output", help="Write JSON to this file."),  # noqa: B008
    remote: str | None = RemoteOpt,
) -> None:
    """Export every registry ledger entry (accesses allowed and denied, pushes, verifications) as JSON.

    Example: tuneguard registry audit --remote https://registry.internal:8765 -o registry-audit.json
    """
    with _registry(remote) as reg:
        entries = reg.audit()
    emit_json(entries, output or "-")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8765, help="Port."),
    ssl_certfile: Path | None = typer.Option(None, help="TLS certificate (PEM)."),  # noqa: B008
    ssl_keyfile: Path | None = typer.Option(None, help="TLS private key (PEM)."),  # noqa: B008
) -> None:
    """Serve this TUNEGUARD_HOME's registry over HTTP with token auth and roles (add users first).

    Example: tuneguard registry serve --host 0.0.0.0 --port 8765 --ssl-certfile cert.pem --ssl-keyfile key.pem
    """
    from tuneguard.registry import Registry
    from tuneguard.registry.server import serve as run_server

    if host not in ("127.0.0.1", "localhost", "::1") and not ssl_certfile:
        err_console.print(
            "[yellow]warning:[/] serving beyond loopback without TLS; tokens travel in clear text"
        )
    with Registry.open() as reg:
        err_console.print(f"registry at {reg.home} listening on {host}:{port}")
        run_server(
            reg,
            host,
            port,
            str(ssl_certfile) if ssl_certfile else None,
            str(ssl_keyfile) if ssl_keyfile else None,
        )


@app.command()
def gc(
    older_than: float = typer.Option(
        3600.0, help="Seconds a push may stay pending before it counts as dead."
    ),
) -> None:
    """Remove the blobs of pushes that were killed before they committed (admin).

    Example: tuneguard registry gc --older-than 600
    """
    from tuneguard.registry import Registry

    with Registry.open() as reg:
        result = reg.gc(older_than)
    console.print(
        f"aborted {result['aborted']} pending push(es), removed {result['removed_prefixes']} blob set(s)"
    )
