"""Command groups load on first use: a command imports only what it needs; help still lists every group."""
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ORDER = ["doctor", "init", "clauses", "report", "run", "train", "data", "model", "probe", "registry", "serve",
         "ledger"]


def _modules_after(args: list[str], tmp_path: Path) -> set[str]:
    """The modules a fresh interpreter has loaded after running `tuneguard ARGS` in-process."""
    code = textwrap.dedent(f"""
        import json, sys
        from tuneguard.cli.main import main
        main({args!r})
        sys.__stdout__.write("\\nMODULES " + json.dumps(sorted(sys.modules)))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "TUNEGUARD_HOME": str(tmp_path / "home")})
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


def test_version_imports_no_command_group(tmp_path: Path) -> None:
    mods = _modules_after(["--version"], tmp_path)
    assert not {m for m in mods if m.startswith("tuneguard.cli.") and m.endswith(("_cmd", "doctor"))}
    assert "tuneguard.core.ledger" not in mods and "tuneguard.core.policy" not in mods


def test_model_scan_imports_only_its_group(tmp_path: Path) -> None:
    target = tmp_path / "w.safetensors"
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    target.write_bytes(len(header).to_bytes(8, "little") + header + bytes(16))
    mods = _modules_after(["model", "scan", str(target), "--no-ledger", "--json", str(tmp_path / "o.json")],
                          tmp_path)
    assert "tuneguard.cli.model_cmd" in mods
    others = {"data_cmd", "probe_cmd", "registry_cmd", "serve_cmd", "train_cmd", "run_cmd", "ledger_cmd"}
    assert not {f"tuneguard.cli.{o}" for o in others} & mods
    heavy = {"torch", "transformers", "numpy", "cyclonedx", "jinja2", "tuneguard.core.hfmodels"}
    assert not heavy & mods


def test_help_lists_every_group_in_order(cli) -> None:
    code, out, _ = cli("--help")
    assert code == 0
    # a row starts "│ name  help…"; wrapped help continues on lines that start "│" and more spaces
    assert re.findall(r"^│ ([a-z]+) ", out[out.index("Commands"):], flags=re.MULTILINE) == ORDER


def test_group_help_and_typo_suggestion(cli) -> None:
    code, out, _ = cli("model", "--help")
    assert code == 0 and "scan" in out and "bom" in out and "rescan" in out
    code, _, err = cli("modle")
    assert code == 2 and "model" in err
