"""`tuneguard serve`: the guarded gateway, its API keys and the deployment environment review."""

from __future__ import annotations

from pathlib import Path

import typer

from tuneguard.core import Ledger, UserError, load_policy

from .common import JSON_HELP, console, emit_json, err_console, severity_style, table

app = typer.Typer(
    help="Guarded OpenAI-compatible gateway: auth, guards, metrics, anomaly alerts, audit log.\n\n"
    "Example: tuneguard serve --upstream http://127.0.0.1:8000"
)
keys_app = typer.Typer(help="API keys of the gateway (stored hashed, shown once).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

CONFIG_HELP = "Policy file (default: $TUNEGUARD_CONFIG or ./tuneguard.toml)."


def _tls(
    policy_cert: str | None, policy_key: str | None, cert: Path | None, key: Path | None
) -> tuple[Path | None, Path | None]:
    cert = cert or (Path(policy_cert) if policy_cert else None)
    key = key or (Path(policy_key) if policy_key else None)
    if bool(cert) != bool(key):
        raise UserError("--tls-cert and --tls-key go together")
    for opt, path in (("--tls-cert", cert), ("--tls-key", key)):
        if path is not None and not path.is_file():
            raise UserError(f"{opt} {path}: not a readable file")
    return cert, key


@app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    upstream: str | None = typer.Option(
        None, "--upstream", help="OpenAI-compatible server to proxy (http[s]://...)."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Serve a registry version: NAME, NAME@vN or NAME:alias."
    ),
    host: str | None = typer.Option(None, "--host", help="Bind address (default from policy: 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default from policy: 8080)."),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="PEM certificate for HTTPS."),  # noqa: B008
    tls_key: Path | None = typer.Option(None, "--tls-key", help="PEM private key for HTTPS."),  # noqa: B008
    templates: list[Path] = typer.Option(  # noqa: B008
        [], "--jailbreak-templates", help="Extra jailbreak template files/folders for the similarity guard."
    ),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),  # noqa: B008
) -> None:
    """Run the gateway in front of an upstream model server, or serve a registry version.

    Example: tuneguard serve --upstream http://127.0.0.1:8000 --tls-cert cert.pem --tls-key key.pem
    """
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from tuneguard.serve.app import create_app

    policy = load_policy(config)
    sp = policy.serve
    if bool(upstream) == bool(model) and not (sp.upstream and not model):
        raise UserError("give exactly one of --upstream URL or --model REF")
    if upstream and not upstream.startswith(("http://", "https://")):
        raise UserError(f"--upstream {upstream}: must be an http:// or https:// URL")
    cert, key = _tls(sp.tls_cert, sp.tls_key, tls_cert, tls_key)
    bind, bind_port = host or sp.host, port or sp.port
    model_server = None
    if model:
        from tuneguard.serve.local_model import start_model_upstream

        err_console.print(f"pulling and loading {model} ...")
        upstream, model_server = start_model_upstream(model)
    target = upstream or sp.upstream
    gateway = create_app(sp, upstream=target, templates=tuple(templates), policy_digest=policy.digest())
    scheme = "https" if cert else "http"
    err_console.print(f"tuneguard gateway on {scheme}://{bind}:{bind_port} -> {model or target}")
    try:
        uvicorn.run(
            gateway,
            host=bind,
            port=bind_port,
            ssl_certfile=str(cert) if cert else None,
            ssl_keyfile=str(key) if key else None,
            ssl_ciphers="ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:!aNULL:!MD5:!DSS",
            log_level="warning",
            access_log=False,
            server_header=False,
            proxy_headers=False,
        )
    finally:
        if model_server is not None:
            model_server.should_exit = True


@keys_app.command("create")
def keys_create(
    name: str = typer.Option(..., "--name", help="Key name (shown in metrics and the audit log)."),
    role: str = typer.Option(
        "user", "--role", help="user (API calls), admin (everything), metrics (/metrics)."
    ),
) -> None:
    """Create an API key; the key itself is printed once, as the last line, and stored only as a hash.

    Example: tuneguard serve keys create --name support-bot --role user
    """
    from tuneguard.serve.keys import KeyStore

    store = KeyStore()
    record, secret = store.create(name, role)
    err_console.print(
        f"created key [bold]{record.name}[/] ({record.role}, id {record.id}) in {store.path}; "
        "store it now, it cannot be shown again:"
    )
    print(secret, flush=True)


@keys_app.command("list")
def keys_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List API keys (names, roles, dates; never the keys).

    Example: tuneguard serve keys list --json
    """
    from tuneguard.serve.keys import KeyStore

    keys = KeyStore().list()
    if as_json:
        emit_json([k.public() for k in keys], "-")
        return
    console.print(
        table(
            "API keys",
            ["name", "id", "role", "created", "revoked"],
            [[k.name, k.id, k.role, k.created, k.revoked or ""] for k in keys],
        )
    )


@keys_app.command("revoke")
def keys_revoke(name: str = typer.Argument(..., help="Key name or id.")) -> None:
    """Revoke a key; a running gateway refuses it within a second.

    Example: tuneguard serve keys revoke support-bot
    """
    from tuneguard.serve.keys import KeyStore

    record = KeyStore().revoke(name)
    console.print(f"revoked {record.name} ({record.id}) at {record.revoked}")


@app.command("check")
def check(
    url: str | None = typer.Option(None, "--url", help="Also probe the running gateway at this URL."),
    host: str | None = typer.Option(None, "--host", help="Bind address to review (default from policy)."),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="Certificate to review."),  # noqa: B008
    tls_key: Path | None = typer.Option(None, "--tls-key", help="Private key to review."),  # noqa: B008
    pip_audit: bool = typer.Option(False, "--pip-audit", help="Run pip-audit (needs its online service)."),
    audit_json: Path | None = typer.Option(  # noqa: B008
        None, "--audit-json", help="Use a pip-audit JSON report (offline)."
    ),
    history: bool = typer.Option(False, "--history", help="Show earlier reviews instead of running one."),
    json_out: str | None = typer.Option(None, "--json", help=JSON_HELP),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),  # noqa: B008
) -> None:
    """Review the deployment: TLS, auth, bind, limits, debug, permissions, dependencies, admin routes.

    Exit 1 when a high or critical finding remains. Each run goes to the ledger; --history lists them.

    Example: tuneguard serve check --url https://127.0.0.1:8080 --tls-cert cert.pem --tls-key key.pem
    """
    from tuneguard.serve.envcheck import EnvTarget, previous_runs, run_envcheck

    if history:
        with Ledger() as ledger:
            runs = previous_runs(ledger)
        rows = [
            [
                e.seq,
                e.time,
                r.verdict.value,
                len(r.metrics.get("finding_ids", [])),
                ", ".join(r.metrics.get("new", [])),
                ", ".join(r.metrics.get("resolved", [])),
            ]
            for e, r in runs
        ]
        if json_out:
            emit_json(
                [{"seq": e.seq, "time": e.time, "verdict": r.verdict.value, **r.metrics} for e, r in runs],
                json_out,
            )
        else:
            console.print(
                table("environment reviews", ["seq", "time", "verdict", "issues", "new", "resolved"], rows)
            )
        return
    policy = load_policy(config)
    sp = policy.serve
    cert, key = _tls(sp.tls_cert, sp.tls_key, tls_cert, tls_key)
    target = EnvTarget(
        policy=sp,
        host=host or sp.host,
        tls_cert=cert,
        tls_key=key,
        url=url,
        pip_audit=pip_audit,
        audit_json=audit_json,
    )
    result = run_envcheck(target, config_sha256=policy.digest())
    if json_out:
        emit_json(result.model_dump(mode="json"), json_out)
    if json_out != "-":
        rows = [
            [f"[{severity_style(f.severity.value)}]{f.severity.value}[/]", f.check, f.message]
            for f in sorted(result.findings, key=lambda f: -f.severity.rank)
        ]
        console.print(table("deployment environment review", ["severity", "check", "finding"], rows))
        m = result.metrics
        console.print(
            f"verdict: [bold]{result.verdict.value}[/] (run {m['run_number']}; new: "
            f"{', '.join(m['new']) or '-'}; resolved: {', '.join(m['resolved']) or '-'})"
        )
    if result.verdict.value == "fail":
        raise typer.Exit(1)
