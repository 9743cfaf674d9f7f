"""Prometheus metrics (prefix tuneguard_) and the in-memory per-second series the dashboard draws."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class GatewayMetrics:
    """One registry per gateway (not the global default), so several gateways can live in one process."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "tuneguard_requests",
            "Requests by route, HTTP status and API key name",
            ["route", "status", "key"],
            registry=r,
        )
        self.latency = Histogram(
            "tuneguard_request_latency_seconds",
            "Time from request to last byte",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_latency = Histogram(
            "tuneguard_upstream_latency_seconds",
            "Time the upstream model server took (to headers for streams)",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.guard_latency = Histogram(
            "tuneguard_guard_latency_seconds",
            "Time spent in guards per request",
            ["direction"],
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
            registry=r,
        )
        self.tokens = Counter(
            "tuneguard_tokens", "Tokens reported by the upstream usage field", ["key", "kind"], registry=r
        )
        self.guard_hits = Counter(
            "tuneguard_guard_hits",
            "Guard decisions by guard, finding type and action",
            ["guard", "type", "action"],
            registry=r,
        )
        self.anomalies = Counter(
            "tuneguard_anomalies", "Anomaly alerts by signal and scope", ["signal", "scope"], registry=r
        )
        self.inflight = Gauge("tuneguard_inflight_requests", "Requests being handled now", registry=r)
        self.audit_queue = Gauge(
            "tuneguard_audit_queue_depth", "Audit records waiting to be written", registry=r
        )
        self.audit_shipped = Gauge(
            "tuneguard_audit_records_shipped", "Request records handed to the audit process", registry=r
        )
        ProcessCollector(namespace="tuneguard", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class LiveSeries:
    """Per-second buckets of the last `seconds` seconds: requests, errors, guard hits, latencies, alerts."""

    def __init__(self, seconds: int = 300) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._buckets: deque[list[Any]] = deque()
        self.alerts: deque[dict[str, Any]] = deque(maxlen=50)

    def _bucket(self, now: int) -> list[Any]:
        if not self._buckets or self._buckets[-1][0] != now:
            self._buckets.append([now, 0, 0, 0, []])
            while self._buckets and self._buckets[0][0] <= now - self.seconds:
                self._buckets.popleft()
        return self._buckets[-1]

    def add(self, latency_s: float, error: bool, guard_hits: int) -> None:
        with self._lock:
            b = self._bucket(int(time.time()))
            b[1] += 1
            b[2] += int(error)
            b[3] += guard_hits
            if len(b[4]) < 2000:
                b[4].append(latency_s * 1000.0)

    def add_alert(self, alert: dict[str, Any]) -> None:
        with self._lock:
            self.alerts.append(alert)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            rows = [(b[0], b[1], b[2], b[3], sorted(b[4])) for b in self._buckets]
            alerts = list(self.alerts)

        def pct(xs: list[float], q: float) -> float:
            return round(xs[min(len(xs) - 1, int(q * len(xs)))], 3) if xs else 0.0

        return {
            "t": [r[0] for r in rows],
            "requests": [r[1] for r in rows],
            "errors": [r[2] for r in rows],
            "guard_hits": [r[3] for r in rows],
            "p50_ms": [pct(r[4], 0.5) for r in rows],
            "p95_ms": [pct(r[4], 0.95) for r in rows],
            "alerts": alerts[::-1],
        }
