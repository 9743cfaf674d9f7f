"""Real training runs on the embedded model (slow): adapter, run record, ledger, leakage and canaries.

Two short runs share one configuration: RAW trains ungated on chats that repeat contact e-mail
addresses; SANITIZED trains on the output of `tuneguard data sanitize` of the same file. Both
insert two canaries, one 20 times and one once.
"""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest

from tuneguard.core import Ledger, model_digest, sha256_file
from tuneguard.train.publish import PICKLE_SUFFIXES

from ..conftest import MODEL_CACHE
from .synth import CONTACTS, pii_chats, support_chats, write_jsonl

pytestmark = pytest.mark.slow

TRAIN_ARGS = [
    "--max-steps",
    "10",
    "--lr",
    "3e-3",
    "--canaries",
    "2",
    "--canary-repeats",
    "20,1",
    "--canary-candidates",
    "50",
    "--extraction-samples",
    "12",
    "--no-probe",
]
STEP_FIELDS = {"step", "loss", "learning_rate", "grad_norm", "seconds", "cpu_percent", "rss_mb", "gpu_mem_mb"}


def _main(*argv: str) -> int:
    from tuneguard.cli.main import main

    return main(list(argv))


def _raw_records() -> list[dict]:
    records = support_chats(6) + pii_chats(8)
    random.Random(0).shuffle(records)
    return records


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, embedded_folder: Path) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("train-runs")
    raw = write_jsonl(root / "raw.jsonl", _raw_records())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUNEGUARD_HOME", str(root / "home"))
        mp.setenv("TUNEGUARD_MODEL_CACHE", str(MODEL_CACHE))
        mp.chdir(root)
        raw_code = _main(
            "train",
            "--data",
            str(raw),
            "--output",
            str(root / "raw-adapter"),
            "--allow-ungated",
            "--json",
            str(root / "raw-run.json"),
            *TRAIN_ARGS,
        )
        sanitize_code = _main(
            "data", "sanitize", str(raw), "-o", str(root / "clean.jsonl"), "--checks", "pii,secrets"
        )
        clean_code = _main(
            "train",
            "--data",
            str(root / "clean.jsonl"),
            "--output",
            str(root / "clean-adapter"),
            "--json",
            str(root / "clean-run.json"),
            *TRAIN_ARGS,
        )
        with Ledger(root / "home" / "ledger.db") as ledger:
            entries = list(ledger.entries())
    return SimpleNamespace(
        root=root,
        raw=raw,
        raw_code=raw_code,
        sanitize_code=sanitize_code,
        clean_code=clean_code,
        raw_run=orjson.loads((root / "raw-run.json").read_bytes()),
        clean_run=orjson.loads((root / "clean-run.json").read_bytes()),
        entries=entries,
    )


def _high(run: dict) -> set[str]:
    return {f["check"] for f in run["findings"] if f["severity"] in {"high", "critical"}}


def test_exit_codes_and_verdicts(runs):
    assert runs.sanitize_code == 0
    # Ungated data is critical; the 20x canary is memorized past the 10-bit policy limit in both runs,
    # so both runs fail (exit 1) although both adapters are written.
    assert runs.raw_code == 1 and runs.clean_code == 1
    assert {"train.gate.ungated", "train.canary.exposure"} <= _high(runs.raw_run)
    assert _high(runs.clean_run) == {"train.canary.exposure"}, runs.clean_run["findings"]
    assert runs.clean_run["verdict"] == "fail"


def test_adapter_is_safetensors_only_and_loads(runs, embedded_folder: Path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    adapter = runs.root / "clean-adapter"
    names = {p.name for p in adapter.iterdir()}
    assert names == {
        "adapter_model.safetensors",
        "adapter_config.json",
        "README.md",
        "tuneguard-adapter.json",
    }
    assert not [n for n in names if Path(n).suffix in PICKLE_SUFFIXES]
    assert not [p for p in runs.root.iterdir() if "tuneguard-train" in p.name]  # work folders removed
    marker = orjson.loads((adapter / "tuneguard-adapter.json").read_bytes())
    assert marker["base"] == "embedded" and marker["base_sha256"] == model_digest("embedded")
    assert marker["dataset_sha256"] == sha256_file(runs.root / "clean.jsonl")
    card = (adapter / "README.md").read_text()
    assert marker["dataset_sha256"] in card and marker["base_sha256"] in card and "tuneguard 0." in card
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(embedded_folder), str(adapter))
    assert any("lora_A" in name for name, _ in model.named_parameters())


def test_run_record(runs):
    run = runs.clean_run
    assert run["dataset"]["sha256"] == sha256_file(runs.root / "clean.jsonl")
    assert run["dataset"]["gate"]["seq"] > 0 and run["dataset"]["canary_records"] == 21
    assert run["base"]["sha256"] == model_digest("embedded")
    assert {"torch", "transformers", "trl", "peft"} <= set(run["libraries"])
    assert run["config"]["max_steps"] == 10 and run["config"]["lr"] == 3e-3
    assert [s["step"] for s in run["steps"]] == list(range(1, 11))
    for step in run["steps"]:
        assert set(step) == STEP_FIELDS
        assert isinstance(step["loss"], float) and step["seconds"] > 0 and step["rss_mb"] > 100
    assert run["steps"][-1]["loss"] < run["steps"][0]["loss"]
    assert run["training"]["steps"] == 10 and run["monitor"]["network_attempts"] == 0
    files = run["adapter"]["files"]
    assert files["adapter_model.safetensors"] == sha256_file(
        runs.root / "clean-adapter" / "adapter_model.safetensors"
    )


def test_ledger_records_both_runs(runs):
    results = [e.payload for e in runs.entries if e.stage == "train" and e.kind == "stage_result"]
    raw, clean = results
    assert raw["verdict"] == "fail"
    assert any(f["check"] == "train.gate.ungated" and f["severity"] == "critical" for f in raw["findings"])
    assert clean["verdict"] == "fail"
    assert not any(f["check"].startswith("train.gate") for f in clean["findings"])
    assert {"FT-1", "FT-5", "FT-6"} <= set(clean["requirements"])
    roles = {a["role"] for a in clean["artifacts"]}
    assert {"input", "base_model", "adapter"} <= roles


def test_raw_pii_leaks_in_extraction_sanitized_does_not(runs):
    raw, clean = runs.raw_run, runs.clean_run
    assert raw["extraction"]["pii_memorized"] >= 1, raw["extraction"]
    leaks = [f for f in raw["findings"] if f["check"] == "train.extraction.pii_memorized"]
    assert leaks and all(f["severity"] == "high" for f in leaks)
    assert any(f["evidence"]["entity"] == "EMAIL_ADDRESS" for f in leaks)
    # Sanitized: no PII at all in the completions (names stay in prompts, e-mails became placeholders).
    assert clean["extraction"]["pii_memorized"] == 0, clean["findings"]
    assert not [f for f in clean["findings"] if f["evidence"].get("entity") == "EMAIL_ADDRESS"]
    emails = [email for _, email, _ in CONTACTS]
    assert not any(email in (runs.root / "clean.jsonl").read_text() for email in emails)


def test_no_raw_pii_reaches_the_ledger_or_run_json(runs):
    blob = orjson.dumps([e.payload for e in runs.entries]).decode() + orjson.dumps(runs.raw_run).decode()
    for _, email, _ in CONTACTS:
        assert email not in blob


def test_canary_exposure_grows_with_repetitions(runs):
    for run in (runs.raw_run, runs.clean_run):
        canaries = run["canaries"]
        by_repeats = {row["repeats"]: row for row in canaries["inserted"]}
        assert by_repeats[20]["exposure"] > by_repeats[1]["exposure"], canaries
        assert by_repeats[20]["exposure"] > canaries["reference_mean_exposure"], canaries
        assert by_repeats[20]["exposure_rank"] >= by_repeats[1]["exposure_rank"], canaries


def test_post_training_probe_through_probe_api(runs):
    from tuneguard.core.policy import ProbePolicy
    from tuneguard.train.posttest import probe_regression

    summary, findings = probe_regression(
        "embedded", str(runs.root / "clean-adapter"), ["harmful"], 2, ProbePolicy()
    )
    assert "skipped" not in summary, summary
    assert summary["verdict"] in {"ok", "regressed"}
    assert all(f.check == "train.probe.regression" for f in findings)
