"""AuditCallback: a plain transformers TrainerCallback that records and audits any HF/TRL training run.

Per step it records loss, learning rate, gradient norm, wall seconds, CPU, RSS and GPU memory; it
flags NaN/inf loss, loss spikes and gradient-norm explosions against a running robust baseline
(median and MAD of a window), and memory growth; it hashes every checkpoint into the ledger and
records every outbound network attempt made while training. Work per step is a few psutil reads
and a median over a short window, so its overhead stays far below the 2% budget (bench/train_monitor.py).
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import psutil
from transformers import TrainerCallback

from tuneguard.core import Artifact, Finding, Ledger, Severity, StageResult, Verdict, sha256_file

from .netaudit import NetworkAudit

MAX_FINDINGS_PER_CHECK = 20
MAD_TO_SIGMA = 1.4826


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number


class RobustBaseline:
    """Running median/MAD over the last `window` values; `is_outlier` tests before the value is added."""

    def __init__(self, window: int = 50, min_history: int = 5, k: float = 6.0, min_rel: float = 0.25) -> None:
        self.values: deque[float] = deque(maxlen=window)
        self.min_history, self.k, self.min_rel = min_history, k, min_rel

    def threshold(self) -> float | None:
        if len(self.values) < self.min_history:
            return None
        median = statistics.median(self.values)
        mad = statistics.median(abs(v - median) for v in self.values)
        # A MAD of ~0 (flat loss) would flag any wiggle: never demand less than min_rel of the median.
        scale = max(MAD_TO_SIGMA * mad, self.min_rel * abs(median) / self.k, 1e-8)
        return median + self.k * scale

    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    def add(self, value: float) -> None:
        self.values.append(value)


class AuditCallback(TrainerCallback):
    """Record and audit a training run; usable on its own: `Trainer(..., callbacks=[AuditCallback()])`.

    ledger: a Ledger, a ledger path, or None for the default ledger (TUNEGUARD_HOME); `record_result`
    makes `on_train_end` write one StageResult(stage="train") with the monitor's findings (set it to
    False when a runner records its own result, as `tuneguard train` does).
    """

    def __init__(
        self,
        ledger: Ledger | str | os.PathLike[str] | None = None,
        *,
        run_id: str | None = None,
        record_result: bool = True,
        spike_k: float = 6.0,
        window: int = 50,
        min_history: int = 5,
        grad_factor: float = 10.0,
        max_grad_norm: float = 1e4,
        memory_growth_ratio: float = 0.5,
        memory_growth_min_mb: float = 512.0,
        audit_network: bool = True,
        set_offline: bool = True,
    ) -> None:
        self.run_id = run_id or f"train-{int(time.time())}-{os.getpid()}"
        self.record_result = record_result
        self._ledger_arg = ledger
        self._ledger: Ledger | None = ledger if isinstance(ledger, Ledger) else None
        self.loss_baseline = RobustBaseline(window, min_history, spike_k)
        self.grad_baseline = RobustBaseline(window, min_history, spike_k)
        self.grad_factor, self.max_grad_norm = grad_factor, max_grad_norm
        self.memory_growth_ratio, self.memory_growth_min_mb = memory_growth_ratio, memory_growth_min_mb
        self.steps: list[dict[str, Any]] = []
        self.findings: list[Finding] = []
        self.checkpoints: list[dict[str, Any]] = []
        self.network = NetworkAudit() if audit_network else None
        self._network_manual = False
        self._network_seen = 0
        self._per_check: dict[str, int] = {}
        self._process = psutil.Process()
        self._step_start: float | None = None
        self._memory_base: float | None = None
        self._memory_flagged = False
        if set_offline:
            _force_hub_offline()

    # -- network audit -----------------------------------------------------------------------
    def start_network_audit(self) -> None:
        """Start auditing now (e.g. before model loading); stays on until `stop_network_audit`."""
        if self.network is not None:
            self._network_manual = True
            self.network.start()

    def stop_network_audit(self) -> None:
        if self.network is not None:
            self.network.stop()
            self._collect_network()

    def _collect_network(self) -> None:
        if self.network is None:
            return
        for attempt in self.network.attempts[self._network_seen :]:
            local = attempt.is_loopback()
            self._add(
                Finding(
                    check="train.monitor.network_attempt",
                    severity=Severity.MEDIUM if local else Severity.HIGH,
                    message=f"network attempt while training: {attempt.event} to {attempt.destination()}",
                    requirements=("FT-6",),
                    subject=attempt.destination(),
                    evidence={
                        "event": attempt.event,
                        "host": attempt.host,
                        "port": attempt.port,
                        "family": attempt.family,
                        "loopback": local,
                        "step": self._current_step(),
                    },
                )
            )
        self._network_seen = len(self.network.attempts)

    # -- callback events -----------------------------------------------------------------------
    def on_init_end(self, args, state, control, **kwargs):
        if self.network is not None and not self.network.active:
            self.network.start()

    def on_train_begin(self, args, state, control, **kwargs):
        if self.network is not None and not self.network.active:
            self.network.start()
        self._process.cpu_percent(None)  # prime: the next call reports usage since now

    def on_step_begin(self, args, state, control, **kwargs):
        self._step_start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        seconds = time.perf_counter() - self._step_start if self._step_start is not None else None
        rss_mb = self._process.memory_info().rss / 2**20
        record = {
            "step": int(state.global_step),
            "loss": None,
            "learning_rate": None,
            "grad_norm": None,
            "seconds": round(seconds, 4) if seconds is not None else None,
            "cpu_percent": self._process.cpu_percent(None),
            "rss_mb": round(rss_mb, 1),
            "gpu_mem_mb": _gpu_mem_mb(),
        }
        self.steps.append(record)
        self._check_memory(rss_mb, record["step"])
        if self.network is not None and len(self.network.attempts) > self._network_seen:
            self._collect_network()

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" not in logs and "grad_norm" not in logs:
            return  # the end-of-training summary or an eval log
        step = int(state.global_step)
        record = self.steps[-1] if self.steps and self.steps[-1]["step"] == step else None
        if record is None:
            record = {
                "step": step,
                "loss": None,
                "learning_rate": None,
                "grad_norm": None,
                "seconds": None,
                "cpu_percent": None,
                "rss_mb": None,
                "gpu_mem_mb": None,
            }
            self.steps.append(record)
        loss, grad = _number(logs.get("loss")), _number(logs.get("grad_norm"))
        record["loss"] = loss if loss is None or math.isfinite(loss) else str(loss)
        record["grad_norm"] = grad if grad is None or math.isfinite(grad) else str(grad)
        record["learning_rate"] = _number(logs.get("learning_rate"))
        if loss is not None:
            self._check_loss(loss, step)
        if grad is not None:
            self._check_grad(grad, step)

    def on_save(self, args, state, control, **kwargs):
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            self.hash_checkpoint(folder, int(state.global_step))

    def on_train_end(self, args, state, control, **kwargs):
        if self.network is not None and not self._network_manual:
            self.network.stop()
        self._collect_network()
        if self.record_result:
            self.ledger().record(self.result())

    # -- checks ----------------------------------------------------------------------------
    def _check_loss(self, loss: float, step: int) -> None:
        if not math.isfinite(loss):
            self._add(
                Finding(
                    check="train.monitor.nonfinite_loss",
                    severity=Severity.HIGH,
                    message=f"step {step}: loss is {loss}",
                    requirements=("FT-6",),
                    location={"step": step},
                    evidence={"loss": str(loss)},
                )
            )
            return
        limit = self.loss_baseline.threshold()
        if limit is not None and loss > limit:
            self._add(
                Finding(
                    check="train.monitor.loss_spike",
                    severity=Severity.MEDIUM,
                    message=f"step {step}: loss {loss:.4g} above robust baseline limit {limit:.4g}",
                    requirements=("FT-6",),
                    location={"step": step},
                    evidence={"loss": loss, "limit": limit, "median": self.loss_baseline.median()},
                )
            )
        self.loss_baseline.add(loss)

    def _check_grad(self, grad: float, step: int) -> None:
        if not math.isfinite(grad):
            self._add(
                Finding(
                    check="train.monitor.grad_explosion",
                    severity=Severity.HIGH,
                    message=f"step {step}: gradient norm is {grad}",
                    requirements=("FT-6",),
                    location={"step": step},
                    evidence={"grad_norm": str(grad)},
                )
            )
            return
        limit, median = self.grad_baseline.threshold(), self.grad_baseline.median()
        relative = (
            limit is not None and median is not None and grad > limit and grad > self.grad_factor * median
        )
        if relative or grad > self.max_grad_norm:
            self._add(
                Finding(
                    check="train.monitor.grad_explosion",
                    severity=Severity.HIGH,
                    message=f"step {step}: gradient norm {grad:.4g} exploded"
                    f" (median {median if median is None else round(median, 4)})",
                    requirements=("FT-6",),
                    location={"step": step},
                    evidence={
                        "grad_norm": grad,
                        "median": median,
                        "limit": limit,
                        "absolute_limit": self.max_grad_norm,
                    },
                )
            )
        self.grad_baseline.add(grad)

    def _check_memory(self, rss_mb: float, step: int) -> None:
        # The first steps allocate optimizer state and caches: take the baseline after step 3.
        if len(self.steps) <= 3:
            self._memory_base = max(self._memory_base or 0.0, rss_mb)
            return
        base = self._memory_base or rss_mb
        growth = rss_mb - base
        if (
            not self._memory_flagged
            and growth > self.memory_growth_min_mb
            and growth > self.memory_growth_ratio * base
        ):
            self._memory_flagged = True
            self._add(
                Finding(
                    check="train.monitor.memory_growth",
                    severity=Severity.MEDIUM,
                    message=f"step {step}: resident memory grew from {base:.0f} MB to {rss_mb:.0f} MB",
                    requirements=("FT-6",),
                    location={"step": step},
                    evidence={"base_mb": round(base, 1), "rss_mb": round(rss_mb, 1)},
                )
            )

    def _add(self, finding: Finding) -> None:
        count = self._per_check.get(finding.check, 0)
        self._per_check[finding.check] = count + 1
        if count < MAX_FINDINGS_PER_CHECK:
            self.findings.append(finding)

    def _current_step(self) -> int | None:
        return self.steps[-1]["step"] if self.steps else None

    # -- evidence -----------------------------------------------------------------------------
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self._ledger_arg) if self._ledger_arg is not None else Ledger()
        return self._ledger

    def hash_checkpoint(self, folder: Path, step: int) -> dict[str, Any]:
        files = {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}
        entry = {"run_id": self.run_id, "step": step, "path": str(folder), "files": files}
        self.checkpoints.append(entry)
        self.ledger().append("train", entry, kind="checkpoint")
        return entry

    def suppressed(self) -> dict[str, int]:
        return {
            k: v - MAX_FINDINGS_PER_CHECK for k, v in self._per_check.items() if v > MAX_FINDINGS_PER_CHECK
        }

    def metrics(self) -> dict[str, Any]:
        seconds = [s["seconds"] for s in self.steps if isinstance(s.get("seconds"), float)]
        rss = [s["rss_mb"] for s in self.steps if s.get("rss_mb") is not None]
        return {
            "steps_recorded": len(self.steps),
            "mean_step_seconds": round(statistics.fmean(seconds), 4) if seconds else None,
            "peak_rss_mb": max(rss) if rss else None,
            "network_attempts": len(self.network.attempts) if self.network else None,
            "checkpoints": len(self.checkpoints),
            "suppressed_findings": self.suppressed(),
        }

    def result(self) -> StageResult:
        import tuneguard

        worst = max((f.severity.rank for f in self.findings), default=-1)
        verdict = (
            Verdict.FAIL if worst >= Severity.HIGH.rank else Verdict.WARN if worst >= 0 else Verdict.PASS
        )
        artifacts = [
            Artifact(role="checkpoint", path=c["path"], sha256=_folder_digest(c["files"]))
            for c in self.checkpoints
        ]
        return StageResult(
            stage="train",
            verdict=verdict,
            summary=f"training monitor run {self.run_id}",
            findings=list(self.findings),
            metrics={**self.metrics(), "run_id": self.run_id, "steps": self.steps},
            artifacts=artifacts,
            requirements=("FT-6",),
            tool_version=tuneguard.__version__,
        )


def _folder_digest(files: dict[str, str]) -> str:
    import hashlib

    digest = hashlib.sha256()
    for name, sha in sorted(files.items()):
        digest.update(f"{name}\0{sha}\n".encode())
    return digest.hexdigest()


def _gpu_mem_mb() -> float | None:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return round(torch.cuda.memory_allocated() / 2**20, 1)


def _force_hub_offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True


class ProgressCallback(TrainerCallback):
    """Reports (step, max_steps) after every optimizer step, e.g. to a Rich progress bar."""

    def __init__(self, fn) -> None:
        self.fn = fn

    def on_step_end(self, args, state, control, **kwargs):
        self.fn(int(state.global_step), int(state.max_steps))
