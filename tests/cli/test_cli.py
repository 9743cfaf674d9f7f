import json
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = [
    [],
    ["doctor"],
    ["init"],
    ["clauses"],
    ["ledger"],
    ["ledger", "attest"],
    ["ledger", "verify"],
    ["ledger", "show"],
    ["ledger", "export"],
]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_help_has_example(cli, cmd: list[str]) -> None:
    code, out, _ = cli(*cmd, "--help")
    assert code == 0
    assert "Usage" in out
    if cmd and cmd != ["ledger"]:
        assert "Example" in out


def test_attest_verify_show_export(cli, tmp_path: Path) -> None:
    doc = tmp_path / "dpa.txt"
    doc.write_text("provider agreement")
    code, out, _ = cli(
        "ledger", "attest", "--stage", "model", "--note", "DPA signed", "-r", "BM-2", "--file", str(doc)
    )
    assert code == 0 and out.strip() == "1"
    code, out, _ = cli("ledger", "attest", "--stage", "model", "--note", "second")
    assert out.strip() == "2"
    code, out, _ = cli("ledger", "show", "--json")
    entries = json.loads(out)
    assert [e["seq"] for e in entries] == [1, 2]
    import hashlib

    assert entries[0]["payload"]["files"][0]["sha256"] == hashlib.sha256(b"provider agreement").hexdigest()
    assert entries[0]["payload"]["requirements"] == ["BM-2"]
    head = entries[-1]["hash"]
    code, out, _ = cli("ledger", "verify", "--head", head)
    assert code == 0 and "2 entries" in out
    code, _, err = cli("ledger", "verify", "--head", "0" * 64)
    assert code == 1 and "expected head" in err
    export = tmp_path / "audit.jsonl"
    code, _, _ = cli("ledger", "export", "-o", str(export))
    assert code == 0
    code, out, _ = cli("ledger", "verify", "--file", str(export), "--head", head)
    assert code == 0


def test_attest_rejects_unknown_requirement_and_missing_file(cli, tmp_path: Path) -> None:
    code, _, err = cli("ledger", "attest", "--stage", "model", "--note", "x", "-r", "ZZ-9")
    assert code == 2 and "ZZ-9" in err
    code, _, err = cli(
        "ledger", "attest", "--stage", "model", "--note", "x", "--file", str(tmp_path / "no.pdf")
    )
    assert code == 2 and "no.pdf" in err


def test_verify_without_ledger_is_usage_error(cli) -> None:
    code, _, err = cli("ledger", "verify")
    assert code == 2 and "no ledger" in err


def test_init_writes_valid_policy_and_refuses_overwrite(cli, tmp_path: Path) -> None:
    target = tmp_path / "tuneguard.toml"
    code, _, _ = cli("init", str(target))
    assert code == 0 and "[data]" in target.read_text()
    code, _, err = cli("init", str(target))
    assert code == 2 and "--force" in err


def test_clauses_json_is_honest(cli) -> None:
    code, out, _ = cli("clauses", "--json", "-")
    assert code == 0
    data = json.loads(out)
    ids = [r["id"] for r in data["requirements"]]
    assert ids[0] == "DP-1" and ids[-1] == "DM-6" and len(ids) == 29
    by_id = {r["id"]: r for r in data["requirements"]}
    assert any(c["check"] == "core.attestation" for c in by_id["BM-2"]["covered_by"])


def test_bad_usage_exit_2(cli) -> None:
    code, _, _ = cli("ledger", "show", "--since", "notanumber")
    assert code == 2
    code, _, _ = cli("no-such-command")
    assert code == 2


def test_doctor_json(cli) -> None:
    code, out, _ = cli("doctor", "--json", "-")
    data = json.loads(out)
    names = {c["name"]: c for c in data["checks"]}
    assert names["embedded model"]["ok"] is True
    assert code == (0 if data["ok"] else 1)


def test_console_script_and_bad_policy_no_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("tuneguard")
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("tuneguard ")
    proc = subprocess.run([str(exe), "ledger", "verify"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
