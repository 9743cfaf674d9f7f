"""AuditCallback on a fake trainer state: anomalies, network attempts, checkpoints, ledger result."""

from __future__ import annotations

import hashlib
import math
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from tuneguard.core import Ledger
from tuneguard.train import AuditCallback, NetworkAudit, RobustBaseline


def _state(step: int) -> SimpleNamespace:
    return SimpleNamespace(global_step=step, max_steps=100)


def _feed(cb: AuditCallback, losses: list[float], grads: list[float] | None = None) -> None:
    args = SimpleNamespace(output_dir="unused")
    grads = grads or [1.0] * len(losses)
    for step, (loss, grad) in enumerate(zip(losses, grads, strict=True), 1):
        cb.on_step_begin(args, _state(step), None)
        cb.on_step_end(args, _state(step), None)
        cb.on_log(args, _state(step), None, logs={"loss": loss, "grad_norm": grad, "learning_rate": 1e-4})


def _checks(cb: AuditCallback) -> list[str]:
    return [f.check for f in cb.findings]


def _callback(**kwargs) -> AuditCallback:
    return AuditCallback(record_result=False, audit_network=False, **kwargs)


def test_records_every_step_with_resources():
    cb = _callback()
    _feed(cb, [2.0, 1.9, 1.8])
    assert [s["step"] for s in cb.steps] == [1, 2, 3]
    for record in cb.steps:
        assert set(record) == {
            "step",
            "loss",
            "learning_rate",
            "grad_norm",
            "seconds",
            "cpu_percent",
            "rss_mb",
            "gpu_mem_mb",
        }
        assert record["rss_mb"] > 0 and record["seconds"] >= 0 and record["learning_rate"] == 1e-4
    assert cb.findings == []


def test_nan_and_inf_loss_are_findings():
    cb = _callback()
    _feed(cb, [2.0, math.nan, 1.9, math.inf])
    assert _checks(cb) == ["train.monitor.nonfinite_loss", "train.monitor.nonfinite_loss"]
    assert cb.findings[0].location == {"step": 2} and cb.findings[0].severity.value == "high"
    assert cb.steps[1]["loss"] == "nan"


def test_loss_spike_against_robust_baseline():
    noisy = [2.0, 2.1, 1.95, 2.05, 1.9, 2.0, 1.98, 2.02]
    cb = _callback()
    _feed(cb, [*noisy, 2.2, 1.97])  # ordinary wiggles: no finding
    assert cb.findings == []
    _feed(cb, [9.0])
    assert _checks(cb) == ["train.monitor.loss_spike"]
    assert cb.findings[0].evidence["limit"] < 9.0


def test_spike_needs_history():
    cb = _callback()
    _feed(cb, [2.0, 50.0])  # too little history to call anything a spike
    assert cb.findings == []


def test_gradient_explosion_relative_and_absolute():
    cb = _callback()
    _feed(cb, [2.0] * 8, [1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.0, 30.0])
    assert _checks(cb) == ["train.monitor.grad_explosion"]
    cb = _callback(max_grad_norm=100.0)
    _feed(cb, [2.0, 2.0], [1.0, 500.0])
    assert _checks(cb) == ["train.monitor.grad_explosion"]
    cb = _callback()
    _feed(cb, [2.0, 2.0], [1.0, math.inf])
    assert _checks(cb) == ["train.monitor.grad_explosion"]


def test_memory_growth(monkeypatch: pytest.MonkeyPatch):
    cb = _callback(memory_growth_min_mb=100, memory_growth_ratio=0.5)
    rss = iter([1000, 1000, 1000, 1100, 1700, 1800])
    monkeypatch.setattr(cb._process, "memory_info", lambda: SimpleNamespace(rss=next(rss) * 2**20))
    _feed(cb, [2.0] * 6)
    assert _checks(cb) == ["train.monitor.memory_growth"]
    assert cb.findings[0].location == {"step": 5}


def test_robust_baseline_threshold():
    base = RobustBaseline(window=10, min_history=3, k=6.0)
    assert base.threshold() is None
    for v in (1.0, 1.0, 1.0):
        base.add(v)
    assert 1.0 < base.threshold() < 1.5  # flat history still tolerates a relative wiggle


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_network_attempt_during_training_is_recorded():
    cb = AuditCallback(record_result=False)
    args = SimpleNamespace(output_dir="unused")
    cb.on_train_begin(args, _state(0), None)
    port = _closed_port()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    cb.on_step_begin(args, _state(1), None)
    cb.on_step_end(args, _state(1), None)
    cb.on_train_end(args, _state(1), None)
    network = [f for f in cb.findings if f.check == "train.monitor.network_attempt"]
    assert any(f.evidence["host"] == "127.0.0.1" and f.evidence["port"] == port for f in network)
    assert all(f.evidence["loopback"] for f in network)
    assert any(f.subject == f"127.0.0.1:{port}" for f in network)


def test_hook_is_inert_outside_a_run():
    cb = AuditCallback(record_result=False)
    cb.on_train_begin(SimpleNamespace(output_dir="x"), _state(0), None)
    cb.on_train_end(SimpleNamespace(output_dir="x"), _state(0), None)
    before = len(cb.network.attempts)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", _closed_port()), timeout=2):
        pass
    assert len(cb.network.attempts) == before
    with NetworkAudit() as audit:
        socket.getaddrinfo("localhost", 80)
    assert any(a.event == "socket.getaddrinfo" and a.host == "localhost" for a in audit.attempts)


def test_sets_hub_offline(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    _callback(set_offline=True)
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_checkpoints_hashed_and_result_recorded(tmp_path: Path):
    out = tmp_path / "run"
    ckpt = out / "checkpoint-2"
    ckpt.mkdir(parents=True)
    (ckpt / "adapter_model.safetensors").write_bytes(b"weights")
    cb = AuditCallback(audit_network=False, run_id="unit-run")
    args = SimpleNamespace(output_dir=str(out))
    _feed(cb, [2.0, math.nan])
    cb.on_save(args, _state(2), None)
    cb.on_train_end(args, _state(2), None)
    with Ledger() as ledger:
        checkpoints = list(ledger.entries(stage="train", kind="checkpoint"))
        results = list(ledger.entries(stage="train", kind="stage_result"))
    assert (
        checkpoints[0].payload["files"]["adapter_model.safetensors"] == hashlib.sha256(b"weights").hexdigest()
    )
    assert checkpoints[0].payload["run_id"] == "unit-run"
    payload = results[0].payload
    assert payload["verdict"] == "fail" and payload["requirements"] == ["FT-6"]
    assert [f["check"] for f in payload["findings"]] == ["train.monitor.nonfinite_loss"]
    assert len(payload["metrics"]["steps"]) == 2
