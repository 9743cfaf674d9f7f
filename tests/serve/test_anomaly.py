"""The anomaly detector on synthetic series: warm-up, spike detection, no alerts on steady noise."""

from __future__ import annotations

import random

from tuneguard.serve.anomaly import AnomalyDetector, RobustBaseline


def test_baseline_silent_during_warmup_then_scores() -> None:
    b = RobustBaseline(warmup=10, threshold=6)
    assert all(b.update(10 + (i % 3) * 0.1) is None for i in range(10))
    assert b.warm and abs(b.level - 10.1) < 0.11
    assert b.update(10.1) is not None and b.update(10.1) < 1
    assert b.update(30) > 6


def test_steady_noise_raises_no_alert() -> None:
    rng = random.Random(1)
    det = AnomalyDetector(window=20, warmup=10, threshold=6, cooldown_s=0)
    alerts = []
    for _ in range(20 * 400):
        alerts += det.observe(
            "k",
            rng.lognormvariate(3, 0.3),
            rng.random() < 0.02,
            rng.random() < 0.05,
            None,
            int(rng.gauss(400, 60)),
        )
    assert alerts == []


def test_latency_spike_detected_globally_and_per_key_after_warmup() -> None:
    rng = random.Random(2)
    t = [0.0]
    det = AnomalyDetector(window=20, warmup=10, threshold=6, cooldown_s=60, clock=lambda: t[0])
    # a spike during warm-up is only learned, never alerted
    early = [a for _ in range(20 * 3) for a in det.observe("k", 2000.0, False, False, None, 400)]
    assert early == []
    for _ in range(20 * 50):
        t[0] += 0.1
        assert det.observe("k", rng.gauss(20, 2), False, False, None, 400) == []
    alerts = []
    for _ in range(20):
        t[0] += 0.1
        alerts += det.observe("k", rng.gauss(200, 5), False, False, None, 400)
    assert {(a.scope, a.signal) for a in alerts} == {("global", "latency_ms"), ("key:k", "latency_ms")}
    assert alerts[0].value > 150 and alerts[0].baseline < 40 and "latency_ms" in alerts[0].message
    # cooldown: a second bad window right after does not alert again
    more = [a for _ in range(20) for a in det.observe("k", 200.0, False, False, None, 400)]
    assert more == []


def test_error_guard_refusal_and_length_shifts() -> None:
    rng = random.Random(3)
    det = AnomalyDetector(window=50, warmup=10, threshold=6, cooldown_s=0)
    for _ in range(50 * 40):
        assert (
            det.observe(
                "a",
                20,
                rng.random() < 0.01,
                rng.random() < 0.02,
                rng.random() < 0.05,
                int(rng.gauss(400, 40)),
            )
            == []
        )
    alerts = []
    for _ in range(50):
        alerts += det.observe("a", 20, rng.random() < 0.5, rng.random() < 0.6, rng.random() < 0.7, 5)
    signals = {a.signal for a in alerts if a.scope == "global"}
    assert signals == {"error_rate", "guard_hit_rate", "refusal_rate", "output_chars"}


def test_one_key_anomaly_does_not_need_global_shift() -> None:
    det = AnomalyDetector(window=10, warmup=5, threshold=6, cooldown_s=0)
    rng = random.Random(4)
    for _ in range(10 * 30):
        for key in ("a", "b", "c", "d", "e", "f", "g", "h"):
            det.observe(key, rng.gauss(20, 1), False, False, None, 100)
    alerts = []
    for _ in range(10):
        alerts += det.observe("h", 20, False, True, None, 100)
        for key in "abcdefg":
            alerts += det.observe(key, rng.gauss(20, 1), False, False, None, 100)
    assert ("key:h", "guard_hit_rate") in {(a.scope, a.signal) for a in alerts}
