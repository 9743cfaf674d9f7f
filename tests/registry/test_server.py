"""The HTTP server on loopback (real uvicorn): every role x every operation, tokens, remote use, CLI."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.registry.conftest import files_of
from tuneguard.core import GateFailed, Ledger

EXPECTED = {
    "admin": {"push", "pull", "list", "history", "verify", "promote", "rollback", "users", "audit"},
    "trainer": {"push", "pull", "list", "history", "verify"},
    "deployer": {"pull", "list", "history", "verify", "promote", "rollback"},
    "auditor": {"list", "history", "verify", "audit"},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(registry):
    import uvicorn

    from tuneguard.registry.server import create_app

    port = _free_port()
    config = uvicorn.Config(create_app(registry), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started:
        assert time.time() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def _operations(artifact: Path, out: Path):
    """Each operation as a call on a RemoteRegistry; every one is valid for an admin."""
    return {
        "push": lambda r: r.push(artifact, "bot"),
        "pull": lambda r: r.pull("bot@v1", out / f"pull-{time.monotonic_ns()}"),
        "list": lambda r: r.list(),
        "history": lambda r: r.history("bot"),
        "verify": lambda r: r.verify("bot@v1"),
        "promote": lambda r: r.promote("bot@v2", "production"),
        "rollback": lambda r: r.rollback("bot", "production"),
        "users": lambda r: r.add_user(f"tmp{time.monotonic_ns()}", "auditor"),
        "audit": lambda r: r.audit(),
    }


@pytest.mark.slow
def test_role_matrix_every_role_every_operation(
    registry, server: str, artifact: Path, tmp_path: Path
) -> None:
    from tuneguard.registry.access import AccessDenied
    from tuneguard.registry.client import RemoteRegistry

    registry.push(artifact, "bot")
    registry.push(artifact, "bot")
    registry.promote("bot@v1", "production")
    tokens = {role: registry.add_user(f"u-{role}", role) for role in EXPECTED}
    ops = _operations(artifact, tmp_path)
    seen: dict[tuple[str, str], bool] = {}
    for role, token in tokens.items():
        with RemoteRegistry(server, token) as remote:
            for op, call in ops.items():
                try:
                    call(remote)
                    seen[(role, op)] = True
                except AccessDenied:
                    seen[(role, op)] = False
                if op == "promote" and seen[(role, op)]:
                    remote.promote("bot@v2", "production")  # so the following rollback has a target
    assert seen == {(role, op): op in EXPECTED[role] for role in EXPECTED for op in ops}
    with Ledger(registry.home / "ledger.db", readonly=True) as ledger:
        access_entries = [e for e in ledger.entries(stage="registry", kind="access")]
    denied = {(e.actor, e.payload["operation"]) for e in access_entries if not e.payload["allowed"]}
    assert denied == {(f"u-{role}", op) for role in EXPECTED for op in ops if op not in EXPECTED[role]}
    allowed = {(e.actor, e.payload["operation"]) for e in access_entries if e.payload["allowed"]}
    assert ("u-auditor", "verify") in allowed and ("u-trainer", "push") in allowed


@pytest.mark.slow
def test_tokens_are_checked_hashed_and_revocable(registry, server: str, tg_home: Path) -> None:
    import sqlite3

    token = registry.add_user("alice", "trainer")
    assert token.startswith("tgr_")
    db = sqlite3.connect(tg_home / "registry.db")
    stored = db.execute("SELECT token_hash FROM registry_users WHERE name='alice'").fetchone()[0]
    db.close()
    assert stored.startswith("$argon2id$") and token.split("_", 2)[2] not in stored
    for bad in (None, "tgr_0000_x", token[:-1] + ("A" if token[-1] != "A" else "B"), "Bearer-less"):
        headers = {"Authorization": f"Bearer {bad}"} if bad else {}
        assert httpx.get(f"{server}/v1/artifacts", headers=headers).status_code == 401
    ok = httpx.get(f"{server}/v1/artifacts", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.json() == []
    admin = registry.add_user("root-admin", "admin")
    bob = registry.add_user("bob", "trainer")
    bob_headers = {"Authorization": f"Bearer {bob}"}
    assert httpx.get(f"{server}/v1/artifacts", headers=bob_headers).status_code == 200  # now cached
    from tuneguard.registry.client import RemoteRegistry

    with RemoteRegistry(server, admin) as remote:
        remote.remove_user("bob")
    assert httpx.get(f"{server}/v1/artifacts", headers=bob_headers).status_code == 401  # revoked at once
    with Ledger(tg_home / "ledger.db", readonly=True) as ledger:
        anonymous = [e for e in ledger.entries(stage="registry") if e.actor == "anonymous"]
    assert len(anonymous) == 5 and all(not e.payload["allowed"] for e in anonymous)


@pytest.mark.slow
def test_remote_round_trip_and_cli(
    registry, server: str, artifact: Path, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = registry.add_user("carol", "admin")
    monkeypatch.setenv("TUNEGUARD_TOKEN", token)
    code, out, err = cli(
        "registry", "push", str(artifact), "--name", "bot", "--remote", server, "--lineage", "run_id=7"
    )
    assert (code, out.strip()) == (0, "bot@v1"), err
    code, out, err = cli("registry", "pull", "bot@v1", "-o", str(tmp_path / "out"), "--remote", server)
    assert code == 0, err
    assert files_of(tmp_path / "out") == files_of(artifact)
    code, out, _ = cli("registry", "verify", "bot", "--remote", server)
    assert code == 0 and "OK" in out
    code, _, err = cli("registry", "verify", "bot@v7", "--remote", server)
    assert code == 2 and "no such version" in err
    trainer = registry.add_user("dave", "trainer")
    monkeypatch.setenv("TUNEGUARD_TOKEN", trainer)
    code, _, err = cli("registry", "promote", "bot@v1", "--alias", "prod", "--remote", server)
    assert code == 1 and "access denied" in err
    with pytest.raises(GateFailed):  # client maps 409 (integrity/gate) to GateFailed
        from tuneguard.registry.client import RemoteRegistry

        registry.policy.registry.require_gates_for_promotion = True
        with RemoteRegistry(server, token) as remote:
            remote.promote("bot@v1", "prod")


@pytest.mark.slow
def test_server_over_tls(
    registry, artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli
) -> None:
    """DP-4 in transit: the server runs with --ssl-certfile/--ssl-keyfile and the client verifies the cert."""
    import datetime

    import uvicorn
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from tuneguard.registry.server import create_app

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    port = _free_port()
    srv = uvicorn.Server(
        uvicorn.Config(
            create_app(registry),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ssl_certfile=str(tmp_path / "cert.pem"),
            ssl_keyfile=str(tmp_path / "key.pem"),
        )
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started:
        assert time.time() < deadline
        time.sleep(0.05)
    try:
        url = f"https://127.0.0.1:{port}"
        monkeypatch.setenv("TUNEGUARD_TOKEN", registry.add_user("tls", "admin"))
        with pytest.raises(httpx.ConnectError):  # an unknown certificate is refused
            httpx.get(f"{url}/v1/health")
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
        code, out, err = cli("registry", "push", str(artifact), "--name", "bot", "--remote", url)
        assert (code, out.strip()) == (0, "bot@v1"), err
        code, out, err = cli("registry", "audit", "--remote", url)
        assert code == 0 and any(
            e["payload"].get("operation") == "push" for e in __import__("json").loads(out)
        )
    finally:
        srv.should_exit = True
        thread.join(10)
