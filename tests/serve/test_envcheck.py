"""`serve check` on a deliberately weak configuration versus a good one, including a live HTTPS gateway."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tuneguard.core import Ledger
from tuneguard.core.policy import ServePolicy
from tuneguard.serve.keys import KeyStore

from .conftest import ServerThread


def make_cert(folder: Path, weak: bool) -> tuple[Path, Path]:
    key = rsa.generate_private_key(65537, 1024) if weak else ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    not_after = now - dt.timedelta(days=1) if weak else now + dt.timedelta(days=365)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = (
        folder / f"{'weak' if weak else 'good'}.crt",
        folder / f"{'weak' if weak else 'good'}.key",
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    os.chmod(key_path, 0o644 if weak else 0o600)
    return cert_path, key_path


def findings(out: str) -> dict[str, str]:
    data = json.loads(out)
    return {f["check"]: f["severity"] for f in data["findings"]}


def test_weak_config_fails(cli, tmp_path: Path, tg_home: Path) -> None:
    cert, key = make_cert(tmp_path, weak=True)
    (tmp_path / "tuneguard.toml").write_text(
        "[serve]\ndebug = true\nrate_limit_per_minute = 100000\n"
        'output_pii = "log"\nupstream = "http://10.1.2.3:8000"\n'
    )
    KeyStore().create("u", "user")
    os.chmod(tg_home / "serve-keys.json", 0o644)
    audit = tmp_path / "audit.json"
    audit.write_text(
        json.dumps(
            {
                "dependencies": [
                    {
                        "name": "jinja2",
                        "version": "2.0",
                        "vulns": [
                            {"id": "PYSEC-0000-1", "fix_versions": ["3.1.4"], "aliases": ["CVE-0000-1"]}
                        ],
                    }
                ]
            }
        )
    )
    code, out, _ = cli(
        "serve",
        "check",
        "--host",
        "0.0.0.0",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        "--audit-json",
        str(audit),
        "--json",
        "-",
    )
    assert code == 1
    got = findings(out)
    for check in (
        "serve.env.tls.weak_key",
        "serve.env.tls.expired",
        "serve.env.tls.key_permissions",
        "serve.env.debug",
        "serve.env.permissions.keys",
        "serve.env.deps.vulnerable",
        "serve.env.bind.all_interfaces",
        "serve.env.rate_limit.high",
        "serve.env.guards.log_only",
        "serve.env.upstream.plaintext",
        "serve.env.auth.no_admin",
    ):
        assert check in got, (check, got)
    assert got["serve.env.tls.weak_key"] == "high"
    # no TLS on a public bind is high
    code, out, _ = cli("serve", "check", "--host", "0.0.0.0", "--json", "-")
    assert findings(out)["serve.env.tls.missing"] == "high"


def test_good_config_passes_with_live_https_gateway_and_history(
    cli, tmp_path: Path, tg_home: Path, upstream
) -> None:
    from tuneguard.serve.app import create_app

    cert, key = make_cert(tmp_path, weak=False)
    store = KeyStore()
    store.create("admin", "admin")
    store.create("app", "user")
    app = create_app(ServePolicy(output_judge="off"), upstream=upstream.url, keys=store)
    server = ServerThread(app, ssl_certfile=str(cert), ssl_keyfile=str(key)).start()
    try:
        url = f"https://127.0.0.1:{server.port}"
        code, out, _ = cli(
            "serve", "check", "--url", url, "--tls-cert", str(cert), "--tls-key", str(key), "--json", "-"
        )
    finally:
        server.stop()
    data = json.loads(out)
    got = findings(out)
    assert code == 0 and data["verdict"] in ("pass", "warn"), got
    assert not [c for c, sev in got.items() if sev in ("high", "critical")], got
    assert "serve.env.admin.exposed" not in got and "serve.env.auth.unauthenticated" not in got
    assert got.get("serve.env.deps.not_run") == "info"  # honest: pip-audit has no offline database
    assert set(got) <= {"serve.env.tls.self_signed", "serve.env.deps.not_run"}, got

    # re-run after weakening: history shows what is new and what was resolved
    os.chmod(key, 0o640)
    code, out, _ = cli("serve", "check", "--tls-cert", str(cert), "--tls-key", str(key), "--json", "-")
    second = json.loads(out)
    assert code == 1 and second["metrics"]["run_number"] == 2
    assert second["metrics"]["new"] == ["serve.env.tls.key_permissions"]
    code, out, _ = cli("serve", "check", "--history", "--json", "-")
    runs = orjson.loads(out)
    assert [r["verdict"] for r in runs] == [data["verdict"], "fail"]
    with Ledger() as ledger:
        assert ledger.verify().ok
        assert len([r for _, r in ledger.stage_results("serve")]) == 2


def test_live_probe_flags_open_admin_routes(cli, tmp_path: Path, upstream) -> None:
    from fastapi import FastAPI

    weak = FastAPI()

    @weak.get("/v1/models")
    async def models() -> dict:
        return {"data": []}

    @weak.get("/metrics")
    async def metrics() -> str:
        return "x 1"

    server = ServerThread(weak).start()
    try:
        code, out, _ = cli("serve", "check", "--url", server.url, "--json", "-")
    finally:
        server.stop()
    got = findings(out)
    assert code == 1
    assert got["serve.env.auth.unauthenticated"] == "critical" and got["serve.env.admin.exposed"] == "high"
    assert "/docs" in out  # FastAPI's default docs are exposed too
