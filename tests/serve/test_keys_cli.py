"""API keys through the CLI: shown once as the last line, stored hashed in a 0600 file, listed, revoked."""

from __future__ import annotations

import stat

from tuneguard.serve.keys import KeyStore, key_digest, keys_file


def test_create_list_revoke(cli, tg_home) -> None:
    code, out, err = cli("serve", "keys", "create", "--name", "bot", "--role", "user")
    assert code == 0
    key = out.strip().splitlines()[-1]
    assert key.startswith("tg_") and len(key) > 40
    path = keys_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = path.read_text()
    assert key not in stored and key_digest(key) in stored  # only the hash is kept
    assert KeyStore().authenticate(key).name == "bot"
    assert KeyStore().authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None

    code, out, _ = cli("serve", "keys", "list", "--json")
    assert code == 0 and '"name": "bot"' in out and key not in out and key_digest(key) not in out

    assert cli("serve", "keys", "create", "--name", "bot", "--role", "user")[0] == 2  # duplicate active name
    assert cli("serve", "keys", "create", "--name", "x", "--role", "root")[0] == 2
    assert cli("serve", "keys", "revoke", "bot")[0] == 0
    assert KeyStore().authenticate(key) is None
    assert cli("serve", "keys", "revoke", "bot")[0] == 2


def test_serve_usage_errors(cli) -> None:
    assert cli("serve", "--upstream", "ftp://x")[0] == 2
    assert cli("serve")[0] == 2  # neither --upstream nor --model
    assert cli("serve", "--upstream", "http://127.0.0.1:1", "--tls-cert", "nope.pem")[0] == 2
