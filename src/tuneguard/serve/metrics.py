"""Prometheus metrics (prefix tuneguard_) and the in-memory per-second series the dashboard draws."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector, generate_latest
from prometheus_client import metrics as _prom
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
GUARD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)

# The request path updates these from the event loop thread only, so they are plain numbers with no lock:
# prometheus_client's own Counter/Histogram take a lock per increment and walk their buckets in Python, which
# cost ~0.05 ms of the gateway's CPU per request. They are turned into the same exposition (names, labels,
# buckets, _created series) when /metrics is scraped, which also runs on the event loop thread.


def _created() -> bool:
    """Whether _created series are exported (prometheus_client honours PROMETHEUS_DISABLE_CREATED_SERIES)."""
    return bool(getattr(_prom, "_use_created", True))


class _CounterChild:
    __slots__ = ("created", "value")

    def __init__(self) -> None:
        self.value, self.created = 0.0, time.time()

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class _HistogramChild:
    __slots__ = ("bounds", "counts", "created", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds, self.counts, self.sum, self.created = bounds, [0] * len(bounds), 0.0, time.time()

    def observe(self, amount: float) -> None:
        self.counts[bisect_left(self.bounds, amount)] += 1  # the first bucket whose bound is >= amount
        self.sum += amount


class LoopCounter:
    """A labelled counter for the event loop thread (same exposition as prometheus_client.Counter)."""

    def __init__(self, name: str, documentation: str, labelnames: list[str]) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, labelnames
        self._children: dict[tuple[str, ...], _CounterChild] = {}

    def labels(self, *values: str) -> _CounterChild:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = _CounterChild()
        return child

    def family(self) -> Metric:
        fam = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, child in list(self._children.items()):
            fam.add_metric(values, child.value, created=child.created if _created() else None)
        return fam


class LoopHistogram:
    """A labelled histogram for the event loop thread (same exposition as prometheus_client.Histogram)."""

    def __init__(
        self, name: str, documentation: str, labelnames: list[str], buckets: tuple[float, ...]
    ) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, labelnames
        self.bounds = (*buckets, float("inf"))
        self._le = [floatToGoString(b) for b in self.bounds]
        self._children: dict[tuple[str, ...], _HistogramChild] = {}

    def labels(self, *values: str) -> _HistogramChild:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = _HistogramChild(self.bounds)
        return child

    def family(self) -> Metric:
        fam = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, child in list(self._children.items()):
            cumulative, total = [], 0
            for le, n in zip(self._le, child.counts, strict=True):
                total += n
                cumulative.append((le, float(total)))
            fam.add_metric(list(values), cumulative, child.sum)
            if _created():
                labels = dict(zip(self.labelnames, values, strict=True))
                fam.samples.append(Sample(self.name + "_created", labels, child.created, None, None))
        return fam


class GatewayMetrics:
    """One registry per gateway (not the global default), so several gateways can live in one process."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = LoopCounter(
            "tuneguard_requests",
            "Requests by route, HTTP status and API key name",
            ["route", "status", "key"],
        )
        self.latency = LoopHistogram(
            "tuneguard_request_latency_seconds", "Time from request to last byte", ["route"], LATENCY_BUCKETS
        )
        self.upstream_latency = LoopHistogram(
            "tuneguard_upstream_latency_seconds",
            "Time the upstream model server took (to headers for streams)",
            ["route"],
            LATENCY_BUCKETS,
        )
        self.guard_latency = LoopHistogram(
            "tuneguard_guard_latency_seconds",
            "Time spent in guards per request",
            ["direction"],
            GUARD_BUCKETS,
        )
        self.tokens = LoopCounter(
            "tuneguard_tokens", "Tokens reported by the upstream usage field", ["key", "kind"]
        )
        self.guard_hits = LoopCounter(
            "tuneguard_guard_hits",
            "Guard decisions by guard, finding type and action",
            ["guard", "type", "action"],
        )
        self.inflight = 0  # requests being handled now (exported as a gauge)
        # anomalies are counted from the audit reader thread: a real (locked) prometheus Counter
        self.anomalies = Counter(
            "tuneguard_anomalies", "Anomaly alerts by signal and scope", ["signal", "scope"], registry=r
        )
        self.audit_queue = Gauge(
            "tuneguard_audit_queue_depth", "Audit records waiting to be written", registry=r
        )
        self.audit_shipped = Gauge(
            "tuneguard_audit_records_shipped", "Request records handed to the audit process", registry=r
        )
        ProcessCollector(namespace="tuneguard", registry=r)
        r.register(self)
        self._children: dict[tuple[Any, ...], Any] = {}

    def child(self, metric: Any, *labels: str) -> Any:
        """`metric.labels(*labels)`, cached (prometheus_client's labels() takes a lock and builds a key)."""
        key = (id(metric), *labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def collect(self) -> Iterator[Metric]:
        """The event-loop metrics, for the registry (a prometheus_client custom collector)."""
        for metric in (self.requests, self.latency, self.upstream_latency, self.guard_latency):
            yield metric.family()
        yield GaugeMetricFamily(
            "tuneguard_inflight_requests", "Requests being handled now", value=self.inflight
        )
        for metric in (self.tokens, self.guard_hits):
            yield metric.family()

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
