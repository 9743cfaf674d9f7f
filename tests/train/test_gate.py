"""The training gate and bad input: refusals exit 1 or 2 and write no adapter."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tuneguard.core import Artifact, Ledger, StageResult, Verdict, sha256_file
from tuneguard.train import find_data_gate

from .synth import support_chats, write_jsonl


def _record_data_gate(path: Path, verdict: Verdict, sha: str | None = None) -> None:
    with Ledger() as ledger:
        ledger.record(
            StageResult(
                stage="data",
                verdict=verdict,
                artifacts=[
                    Artifact(role="sanitized_dataset", path=str(path), sha256=sha or sha256_file(path)),
                    Artifact(role="manifest", path=str(path) + ".manifest.json", sha256="0" * 64),
                ],
            )
        )


def _train_results() -> list[dict]:
    with Ledger() as ledger:
        return [e.payload for e in ledger.entries(stage="train", kind="stage_result")]


def _nothing_written(folder: Path, output: Path) -> bool:
    return not output.exists() and not [p for p in folder.iterdir() if "tuneguard-train" in p.name]


def test_refuses_ungated_data_and_writes_nothing(tmp_path: Path, cli):
    data = write_jsonl(tmp_path / "d.jsonl", support_chats(8))
    out = tmp_path / "adapter"
    code, _, err = cli("train", "--data", str(data), "--output", str(out), "--no-probe")
    assert code == 1
    assert "refused" in err and "tuneguard data sanitize" in err
    assert _nothing_written(tmp_path, out)
    [result] = _train_results()
    assert result["verdict"] == "fail" and result["requirements"] == ["FT-1"]
    assert result["findings"][0]["check"] == "train.gate.refused"


def test_failed_or_other_data_gate_does_not_open_it(tmp_path: Path, cli):
    data = write_jsonl(tmp_path / "d.jsonl", support_chats(8))
    _record_data_gate(data, Verdict.FAIL)
    _record_data_gate(data, Verdict.PASS, sha="f" * 64)
    assert find_data_gate(sha256_file(data)) is None
    code, _, _ = cli("train", "--data", str(data), "--output", str(tmp_path / "a"))
    assert code == 1 and _nothing_written(tmp_path, tmp_path / "a")


def test_passed_data_gate_is_found_by_sha256(tmp_path: Path):
    data = write_jsonl(tmp_path / "d.jsonl", support_chats(8))
    _record_data_gate(data, Verdict.PASS)
    evidence = find_data_gate(sha256_file(data))
    assert evidence is not None and evidence.verdict == "pass" and evidence.path == str(data)
    data.write_bytes(data.read_bytes() + b"\n")  # one changed byte: no longer the gated file
    assert find_data_gate(sha256_file(data)) is None


def test_bad_data_format_exits_2(tmp_path: Path, cli):
    csv = tmp_path / "d.csv"
    csv.write_text("prompt,completion\nhi,there\n")
    code, _, err = cli("train", "--data", str(csv), "--output", str(tmp_path / "a"), "--allow-ungated")
    assert code == 2 and "unsupported data format" in err
    empty = tmp_path / "e.jsonl"
    empty.write_bytes(orjson.dumps({"text": "plain"}) + b"\n")
    code, _, err = cli("train", "--data", str(empty), "--output", str(tmp_path / "a"), "--allow-ungated")
    assert code == 2 and "no chat records" in err and "line 1" in err
    assert _nothing_written(tmp_path, tmp_path / "a")


def test_missing_base_exits_2(tmp_path: Path, cli):
    data = write_jsonl(tmp_path / "d.jsonl", support_chats(8))
    _record_data_gate(data, Verdict.PASS)
    code, _, err = cli(
        "train",
        "--data",
        str(data),
        "--output",
        str(tmp_path / "a"),
        "--base",
        str(tmp_path / "no-such-model"),
    )
    assert code == 2 and "no-such-model" in err
    assert _nothing_written(tmp_path, tmp_path / "a")


def test_existing_output_is_never_merged_into(tmp_path: Path, cli):
    data = write_jsonl(tmp_path / "d.jsonl", support_chats(8))
    _record_data_gate(data, Verdict.PASS)
    out = tmp_path / "a"
    out.mkdir()
    (out / "keep.txt").write_text("user file")
    code, _, err = cli("train", "--data", str(data), "--output", str(out))
    assert code == 2 and "already exists" in err
    assert (out / "keep.txt").read_text() == "user file"


def _crashing(exc: BaseException):
    def fake(opts, run, records, findings, work, output, progress):
        (work / "half-written.safetensors").write_bytes(b"partial")
        raise exc

    return fake


def test_crash_mid_run_leaves_no_adapter_and_an_error_entry(tmp_path: Path, cli, monkeypatch):
    import tuneguard.train.sft as sft

    data = write_jsonl(tmp_path / "d.jsonl", support_chats(8))
    _record_data_gate(data, Verdict.PASS)
    monkeypatch.setattr(sft, "_train_and_publish", _crashing(RuntimeError("simulated crash")))
    out = tmp_path / "a"
    with pytest.raises(RuntimeError, match="simulated crash"):  # a real crash still surfaces
        cli("train", "--data", str(data), "--output", str(out), "--no-probe")
    assert _nothing_written(tmp_path, out)
    [result] = _train_results()
    assert result["verdict"] == "error" and "RuntimeError" in result["summary"]


def test_out_of_memory_is_a_clear_exit_2(tmp_path: Path, cli, monkeypatch):
    import tuneguard.train.sft as sft

    data = write_jsonl(tmp_path / "d.jsonl", support_chats(8))
    _record_data_gate(data, Verdict.PASS)
    monkeypatch.setattr(sft, "_train_and_publish", _crashing(MemoryError()))
    code, _, err = cli("train", "--data", str(data), "--output", str(tmp_path / "a"), "--no-probe")
    assert code == 2 and "out of memory" in err and "--batch-size" in err
    assert _nothing_written(tmp_path, tmp_path / "a")
    assert _train_results()[0]["verdict"] == "error"


def test_cpu_threads_follow_idle_cores(monkeypatch):
    import tuneguard.train.environment as env

    monkeypatch.delenv("TUNEGUARD_THREADS", raising=False)
    monkeypatch.setattr(env.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    for busy, threads in ((0.1, 2), (0.9, 2), (1.5, 1), (8.0, 1)):
        monkeypatch.setattr(env, "_other_processes_busy_cores", lambda busy=busy: busy)
        assert env.cpu_threads() == threads
    monkeypatch.setenv("TUNEGUARD_THREADS", "3")
    assert env.cpu_threads() == 3


def test_busy_cores_sees_another_process():
    import subprocess
    import sys

    import tuneguard.train.environment as env

    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        assert env._other_processes_busy_cores(0.5) > 0.5
    finally:
        spinner.kill()
        spinner.wait()
