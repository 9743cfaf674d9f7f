"""Streaming anomaly detection over gateway signals: robust EWMA baselines with warm-up, globally and per key.

Requests are grouped into windows of `window` requests per scope (global, and each API key). Each closed
window yields one value per signal: median latency, median output length, error rate, guard-hit rate and
refusal rate. A `RobustBaseline` learns each signal: it starts from the median and MAD of its first `warmup`
values, then follows an EWMA of the level and of the absolute deviation, with every update clipped to
`threshold` scales so that the anomaly it just flagged cannot drag the baseline after it. A value more than
`threshold` scales from the level (above it; both ways for output length) is an anomaly. Rates get a binomial
noise floor so a window with one extra error in a quiet service is not an alert.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

SIGNALS = ("latency_ms", "error_rate", "guard_hit_rate", "refusal_rate", "output_chars")
_TWO_SIDED = {"output_chars"}
_LOG_SIGNALS = {"latency_ms", "output_chars"}  # heavy-tailed: learn them on a log scale


@dataclass(frozen=True, slots=True)
class Alert:
    time: float
    scope: str
    signal: str
    value: float
    baseline: float
    scale: float
    score: float
    window: int

    @property
    def message(self) -> str:
        return (
            f"anomaly in {self.signal} ({self.scope}): {self.value:.4g} vs baseline {self.baseline:.4g} "
            f"({self.score:.1f} robust scales over {self.window} requests)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message}


@dataclass(slots=True)
class RobustBaseline:
    """Level and scale of one signal; `update(x)` returns the robust score of x once warmed up, else None."""

    alpha: float = 0.1
    warmup: int = 10
    threshold: float = 6.0
    floor: float = 0.0
    two_sided: bool = False
    level: float = 0.0
    scale: float = 0.0
    seen: list[float] = field(default_factory=list)
    n: int = 0

    @property
    def warm(self) -> bool:
        return self.n >= self.warmup

    def update(self, x: float, floor: float | None = None) -> float | None:
        self.n += 1
        if self.n <= self.warmup:
            self.seen.append(x)
            if self.n == self.warmup:
                self.level = statistics.median(self.seen)
                self.scale = 1.4826 * statistics.median(abs(v - self.level) for v in self.seen)
                self.seen = []
            return None
        scale = max(self.scale, self.floor if floor is None else floor, 1e-9)
        score = (x - self.level) / scale
        clipped = self.level + max(-self.threshold, min(self.threshold, score)) * scale
        # 1.2533 turns a mean absolute deviation into a standard deviation for normal noise.
        self.scale = (1 - self.alpha) * self.scale + self.alpha * 1.2533 * abs(clipped - self.level)
        self.level = (1 - self.alpha) * self.level + self.alpha * clipped
        return abs(score) if self.two_sided else score


class _Scope:
    def __init__(self, detector: AnomalyDetector) -> None:
        d = detector
        self.baselines = {
            s: RobustBaseline(
                alpha=d.alpha,
                warmup=d.warmup,
                threshold=d.threshold,
                floor=0.1 if s in _LOG_SIGNALS else 0.01,
                two_sided=s in _TWO_SIDED,
            )
            for s in SIGNALS
        }
        self.reset()
        self.last_alert: dict[str, float] = {}

    def reset(self) -> None:
        self.latencies: list[float] = []
        self.lengths: list[float] = []
        self.errors = self.guard_hits = self.refusals = self.judged = 0


class AnomalyDetector:
    """Feed one observation per request; returns the alerts raised by windows that closed."""

    def __init__(
        self,
        window: int = 20,
        warmup: int = 10,
        threshold: float = 6.0,
        alpha: float = 0.1,
        cooldown_s: float = 60.0,
        per_key: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.window, self.warmup, self.threshold, self.alpha = window, warmup, threshold, alpha
        self.cooldown_s, self.per_key, self.clock = cooldown_s, per_key, clock
        self._scopes: dict[str, _Scope] = {}

    def observe(
        self,
        key: str,
        latency_ms: float,
        error: bool,
        guard_hit: bool,
        refused: bool | None,
        output_chars: int,
    ) -> list[Alert]:
        alerts: list[Alert] = []
        scopes = ["global", f"key:{key}"] if self.per_key and key else ["global"]
        for name in scopes:
            scope = self._scopes.get(name)
            if scope is None:
                scope = self._scopes[name] = _Scope(self)
            scope.latencies.append(latency_ms)
            scope.lengths.append(float(output_chars))
            scope.errors += int(error)
            scope.guard_hits += int(guard_hit)
            if refused is not None:
                scope.judged += 1
                scope.refusals += int(refused)
            if len(scope.latencies) >= self.window:
                alerts.extend(self._close(name, scope))
        return alerts

    def observe_values(self, scope_name: str, values: dict[str, float]) -> list[Alert]:
        """Feed one already-aggregated window (used by tests and by callers that aggregate themselves)."""
        scope = self._scopes.setdefault(scope_name, _Scope(self))
        return self._score(scope_name, scope, values, self.window)

    def _close(self, name: str, scope: _Scope) -> list[Alert]:
        n = len(scope.latencies)
        values = {
            "latency_ms": statistics.median(scope.latencies),
            "output_chars": statistics.median(scope.lengths),
            "error_rate": scope.errors / n,
            "guard_hit_rate": scope.guard_hits / n,
        }
        if scope.judged:
            values["refusal_rate"] = scope.refusals / scope.judged
        scope.reset()
        return self._score(name, scope, values, n)

    def _score(self, name: str, scope: _Scope, values: dict[str, float], n: int) -> list[Alert]:
        alerts = []
        now = self.clock()
        for signal, raw in values.items():
            base = scope.baselines[signal]
            x = math.log1p(max(raw, 0.0)) if signal in _LOG_SIGNALS else raw
            floor = None
            if signal not in _LOG_SIGNALS:
                p = min(max(base.level, 1.0 / n), 0.5)
                floor = max(base.floor, math.sqrt(p * (1 - p) / n))
            score = base.update(x, floor)
            if score is None or score < self.threshold:
                continue
            if now - scope.last_alert.get(signal, -math.inf) < self.cooldown_s:
                continue
            scope.last_alert[signal] = now
            level = math.expm1(base.level) if signal in _LOG_SIGNALS else base.level
            alerts.append(Alert(now, name, signal, raw, level, base.scale, score, n))
        return alerts
