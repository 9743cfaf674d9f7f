"""`tuneguard registry ...` in-process: output and exit codes (0 ok, 1 mismatch or denied, 2 bad input)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.registry.conftest import files_of, flip_bit, stored_objects


def test_cli_push_pull_verify_list_history_promote_rollback(
    cli, artifact: Path, tmp_path: Path, tg_home: Path
) -> None:
    (tmp_path / "tuneguard.toml").write_text("[registry]\nrequire_gates_for_promotion = false\n")
    code, out, err = cli(
        "registry",
        "push",
        str(artifact),
        "--name",
        "bot",
        "--kind",
        "adapter",
        "--lineage",
        "run_id=r1",
        "--lineage",
        "dataset_sha256=abc",
    )
    assert (code, out.strip()) == (0, "bot@v1"), err
    assert cli("registry", "push", str(artifact), "--name", "bot")[1].strip() == "bot@v2"
    code, out, _ = cli("registry", "list", "--json")
    rows = json.loads(out)
    assert [r["ref"] for r in rows] == ["bot@v1", "bot@v2"] and rows[0]["kind"] == "adapter"
    assert rows[0]["lineage"] == {"run_id": "r1", "dataset_sha256": "abc"}
    assert cli("registry", "pull", "bot@v1", "-o", str(tmp_path / "o"))[0] == 0
    assert files_of(tmp_path / "o") == files_of(artifact)
    code, out, _ = cli("registry", "verify", "bot@v2")
    assert code == 0 and "OK bot@v2" in out
    assert (
        cli("registry", "promote", "bot@v1", "--alias", "production")[1].strip()
        == "bot:production nothing -> v1"
    )
    assert cli("registry", "promote", "bot@v2", "--alias", "production")[0] == 0
    assert cli("registry", "rollback", "bot", "--alias", "production")[1].strip() == "bot:production v2 -> v1"
    code, out, _ = cli("registry", "history", "bot", "--json")
    assert [e["action"] for e in json.loads(out)["alias_events"]] == ["promote", "promote", "rollback"]
    code, out, _ = cli("registry", "history", "bot")
    assert code == 0 and "rollback" in out


def test_cli_verify_exit_codes_name_the_file(cli, artifact: Path, tg_home: Path) -> None:
    assert cli("registry", "push", str(artifact), "--name", "bot")[0] == 0
    code, _, err = cli("registry", "verify", "bot@v2")
    assert code == 2 and "bot@v2: no such version" in err
    code, _, err = cli("registry", "verify", "ghost")
    assert code == 2 and "ghost: no such artifact" in err
    biggest = max(stored_objects(tg_home), key=lambda p: p.stat().st_size)
    flip_bit(biggest, 100_000)
    code, out, err = cli("registry", "verify", "bot")
    assert code == 1 and "model.safetensors" in err and "segment 0 failed authentication" in err
    code, out, _ = cli("registry", "verify", "bot", "--json")
    assert code == 1 and json.loads(out)["problems"][0]["file"] == "model.safetensors"
    code, _, err = cli("registry", "pull", "bot", "-o", "x")
    assert code == 1 and "model.safetensors" in err and not Path("x").exists()


def test_cli_users_and_bad_usage(cli, artifact: Path) -> None:
    code, out, err = cli("registry", "users", "add", "alice", "--role", "trainer")
    assert code == 0 and out.strip().startswith("tgr_") and "shown once" in err
    assert cli("registry", "users", "add", "alice", "--role", "trainer")[0] == 2
    assert cli("registry", "users", "add", "bob", "--role", "god")[0] == 2
    assert cli("registry", "users", "remove", "alice")[0] == 0
    assert cli("registry", "users", "remove", "alice")[0] == 2
    assert cli("registry", "push", str(artifact), "--name", "b", "--lineage", "novalue")[0] == 2
    assert cli("registry", "push", "/nonexistent", "--name", "b")[0] == 2
    assert cli("registry", "pull", "bad ref!", "-o", "x")[0] == 2
    code, out, _ = cli("registry", "--help")
    assert code == 0 and "push" in out and "serve" in out
