"""`tuneguard model scan|bom` end to end: exit codes, --json, publisher hashes, policy, ledger, ML-BOM."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from tuneguard.core import Ledger

from .corpus import _hf_folder, pickle_tricks


def test_scan_json_shape_and_ledger(tmp_path, cli) -> None:
    folder = _hf_folder(tmp_path / "m")
    code, _, _ = cli("model", "scan", str(folder), "--json", "scan.json")
    assert code == 0
    report = json.loads(Path("scan.json").read_text())
    assert report["verdict"] == "pass" and report["kind"] == "folder"
    files = {f["path"]: f for f in report["files"]}
    st = folder / "model.safetensors"
    assert files["model.safetensors"]["sha256"] == hashlib.sha256(st.read_bytes()).hexdigest()
    assert files["model.safetensors"]["format"] == "safetensors" and files["config.json"]["format"] == "json"
    assert report["model_card"]["license"] == "apache-2.0"
    assert report["model_card"]["base_model"] == ["HuggingFaceTB/SmolLM2-135M"]
    with Ledger(readonly=True) as ledger:
        ((entry, result),) = list(ledger.stage_results("model"))
    assert entry.seq == report["ledger_seq"] and result.verdict.value == "pass"
    assert {a.sha256 for a in result.artifacts} >= {files["model.safetensors"]["sha256"]}
    assert set(result.requirements) == {"BM-1", "BM-2", "BM-4", "BM-5"}


def test_malicious_scan_records_fail_with_evidence(tmp_path, cli) -> None:
    p = tmp_path / "evil.pt"
    p.write_bytes(pickle_tricks(tmp_path / "S")["reduce_os_system"])
    code, out, _ = cli("model", "scan", str(p), "--json", "-")
    assert code == 1
    finding = json.loads(out)["findings"][0]
    assert finding == finding | {
        "file": "evil.pt",
        "format": "pickle",
        "check": "model.pickle.dangerous_global",
        "severity": "critical",
    }
    assert finding["evidence"]["global"] == "posix.system" and finding["evidence"]["called"] is True
    with Ledger(readonly=True) as ledger:
        ((_, result),) = list(ledger.stage_results("model"))
    assert result.verdict.value == "fail" and result.findings[0].evidence["global"] == "posix.system"


def test_publisher_hash_mismatch_fails(tmp_path, cli) -> None:
    folder = _hf_folder(tmp_path / "m")
    good = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    assert cli("model", "scan", str(folder), "--expect", f"model.safetensors={good}", "--no-ledger")[0] == 0
    code, out, _ = cli(
        "model",
        "scan",
        str(folder),
        "--expect",
        f"model.safetensors={'0' * 64}",
        "--json",
        "-",
        "--no-ledger",
    )
    assert code == 1
    assert "model.provenance.hash_mismatch" in {f["check"] for f in json.loads(out)["findings"]}
    code, out, _ = cli(
        "model", "scan", str(folder), "--expect", f"missing.bin={good}", "--json", "-", "--no-ledger"
    )
    assert code == 1 and "model.provenance.missing_file" in {f["check"] for f in json.loads(out)["findings"]}


def test_policy_hashes_and_require_model_card(tmp_path, cli) -> None:
    folder = _hf_folder(tmp_path / "m", readme="")
    assert cli("model", "scan", str(folder), "--no-ledger")[0] == 0  # missing card: medium only
    Path("tuneguard.toml").write_text("[model]\nrequire_model_card = true\n")
    assert cli("model", "scan", str(folder), "--no-ledger")[0] == 1
    Path("tuneguard.toml").write_text(f'[model]\npublisher_hashes = {{ "config.json" = "{"1" * 64}" }}\n')
    assert cli("model", "scan", str(folder), "--no-ledger")[0] == 1


def test_bad_usage_exits_2(tmp_path, cli) -> None:
    assert cli("model", "scan", str(tmp_path / "nope"))[0] == 2
    assert cli("model", "scan", str(tmp_path), "--expect", "x=1")[0] == 2
    assert cli("model", "scan")[0] == 2
    assert cli("model", "bom", str(tmp_path))[0] == 2  # -o is required


def test_bom_for_adapter_has_base_dependency(tmp_path, cli) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    folder = _hf_folder(tmp_path / "adapter")
    (folder / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": "HuggingFaceTB/SmolLM2", "peft_type": "LORA"})
    )
    (folder / "tuneguard-adapter.json").write_text(json.dumps({"base": "embedded", "base_sha256": "ab" * 32}))
    code, out, _ = cli("model", "bom", str(folder), "-o", "bom.cdx.json", "--version", "1.0")
    assert code == 0, out
    raw = Path("bom.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(raw) is None
    bom = json.loads(raw)
    assert bom["specVersion"] == "1.6"
    model = bom["metadata"]["component"]
    assert model["type"] == "machine-learning-model"
    assert model["licenses"][0]["license"]["id"] == "Apache-2.0"
    files = {c["name"]: c["hashes"][0]["content"] for c in model["components"]}
    assert (
        files["model.safetensors"] == hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    )
    assert model["modelCard"]["modelParameters"]["datasets"][0]["name"] == "tatsu-lab/alpaca"
    assert model["modelCard"]["considerations"]["useCases"] == ["Research on safe fine-tuning."]
    base = next(c for c in bom["components"] if c["bom-ref"] == "base-model")
    assert base["name"] == "embedded" and base["hashes"][0]["content"] == "ab" * 32
    assert {"ref": "model", "dependsOn": ["base-model"]} in bom["dependencies"]
    with Ledger(readonly=True) as ledger:
        ((_, result),) = list(ledger.stage_results("model"))
    bom_art = next(a for a in result.artifacts if a.role == "bom")
    assert bom_art.sha256 == hashlib.sha256(raw.encode()).hexdigest() == result.metrics["bom_sha256"]


def test_bom_for_single_gguf(tmp_path, cli) -> None:
    from .corpus import SMOL_TEMPLATE, _gguf

    _gguf(tmp_path / "m.gguf", SMOL_TEMPLATE)
    assert cli("model", "bom", str(tmp_path / "m.gguf"), "-o", "b.json")[0] == 0
    model = json.loads(Path("b.json").read_text())["metadata"]["component"]
    assert model["hashes"][0]["content"] == hashlib.sha256((tmp_path / "m.gguf").read_bytes()).hexdigest()


def test_clauses_show_model_checks(cli) -> None:
    from tuneguard.model import CHECKS

    assert {r for c in CHECKS for r in c.requirements} == {"BM-1", "BM-2", "BM-4", "BM-5", "BM-6"}
    code, out, _ = cli("clauses")
    assert code == 0 and "model.pickle" in out


def test_rescan_diffs_against_previous_scan(tmp_path, cli) -> None:
    folder = _hf_folder(tmp_path / "m")
    assert cli("model", "scan", str(folder))[0] == 0
    (folder / "training_args.bin").write_bytes(pickle_tricks(tmp_path / "S")["reduce_os_system"])
    code, out, _ = cli("model", "rescan", "--json", "-")
    assert code == 1
    (res,) = json.loads(out)["rescans"]
    assert res["verdict_before"] == "pass" and res["verdict_now"] == "fail"
    assert res["added_files"] == ["training_args.bin"]
    assert {f["check"] for f in res["new_findings"]} == {"model.pickle.dangerous_global"}
    with Ledger(readonly=True) as ledger:
        results = [r for _, r in ledger.stage_results("model")]
    assert "BM-6" in results[-1].requirements
    assert results[-1].metrics["rescan_of"] == 1 and results[-1].metrics["diff"] == {
        k: v for k, v in res.items() if k not in ("target", "previous_seq", "seq", "status")
    }


def test_rescan_registry_versions_pulled_and_diffed(tmp_path, cli, tg_home) -> None:
    from tuneguard.registry import Registry

    folder = _hf_folder(tmp_path / "m")
    with Registry.open() as reg:
        reg.push(folder, "tiny")
    code, out, err = cli("model", "rescan", "--registry", "--json", "-")
    assert code == 0, err
    (first,) = json.loads(out)["rescans"]
    assert first["target"] == "registry:tiny@v1" and first["previous_seq"] is None
    code, out, err = cli("model", "rescan", "--ref", "tiny", "--json", "-")
    assert code == 0, err
    (again,) = json.loads(out)["rescans"]
    assert again["previous_seq"] == first["seq"]
    # A fresh temp folder each time, yet file by file nothing changed.
    assert again["changed_files"] == again["added_files"] == again["removed_files"] == []
    assert again["verdict_before"] == again["verdict_now"] == "pass"
    assert not list(Path(tempfile.gettempdir()).glob("tuneguard-rescan-*"))


def test_rescan_without_history_is_usage_error(cli) -> None:
    assert cli("model", "rescan")[0] == 2
