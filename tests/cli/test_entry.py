"""The console entry point: which arguments of `model scan|bom` it hashes early, that its option list matches
the real commands, and that a scan through the installed `tuneguard` script reports the file's true digest."""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from tuneguard.cli.entry import HASHING_COMMANDS, VALUE_OPTIONS, model_paths
from tuneguard.core.early_hash import MIN_EARLY_BYTES


@pytest.mark.parametrize(("argv", "paths"), [
    (["model", "scan", "m.safetensors"], ["m.safetensors"]),
    (["model", "scan", "--json", "out.json", "folder", "--no-ledger"], ["folder"]),
    (["model", "scan", "--expect", "a=1", "--config", "t.toml", "x"], ["x"]),
    (["model", "bom", "dir", "-o", "bom.json", "--name", "n", "--version", "1"], ["dir"]),
    (["model", "scan", "--", "-odd-name"], ["-odd-name"]),
    (["model", "scan", "x", "--help"], []),
    (["model", "rescan", "x"], []),
    (["data", "scan", "x"], []),
    (["model"], []),
])
def test_model_paths(argv: list[str], paths: list[str]) -> None:
    assert model_paths(argv) == paths


def test_value_options_match_the_commands() -> None:
    from tuneguard.cli.model_cmd import app

    group = typer.main.get_command(app)
    taking_values = set()
    for name in HASHING_COMMANDS:
        for param in group.commands[name].params:
            if param.param_type_name == "option" and not param.is_flag:
                taking_values.update(param.opts)
    assert taking_values == VALUE_OPTIONS


@pytest.mark.slow
def test_scan_through_the_console_script_reports_the_true_digest(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("tuneguard")
    n = MIN_EARLY_BYTES // 4 + 64
    header = json.dumps({"w": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}).encode()
    header += b" " * (-len(header) % 8)
    data = len(header).to_bytes(8, "little") + header + hashlib.shake_256(b"w").digest(4 * n)
    target = tmp_path / "model.safetensors"
    target.write_bytes(data)
    out = tmp_path / "scan.json"
    proc = subprocess.run([str(script), "model", "scan", str(target), "--no-ledger", "--json", str(out)],
                          capture_output=True, text=True, env={"TUNEGUARD_HOME": str(tmp_path / "h"),
                                                               "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    files = json.loads(out.read_text())["files"]
    assert [f["sha256"] for f in files] == [hashlib.sha256(data).hexdigest()]
