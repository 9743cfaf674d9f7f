"""Deployment and monitoring (DM-1 … DM-6): the guarded OpenAI-compatible gateway and the environment review.

The package import stays light: FastAPI, uvicorn and the guards load only when a gateway is built.
"""

from __future__ import annotations

from typing import Any

from tuneguard.core import CheckSpec

CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        "serve.metrics",
        "serve",
        "Prometheus metrics for requests, latency, tokens, guard hits, CPU and memory",
        ("DM-1",),
        "tuneguard serve --upstream URL",
    ),
    CheckSpec(
        "serve.audit",
        "serve",
        "Per-request audit records (key, status, latency, guard decisions, "
        "prompt/response SHA-256) in the hash-chained ledger",
        ("DM-2",),
        "tuneguard serve --upstream URL",
    ),
    CheckSpec(
        "serve.auth",
        "serve",
        "API keys stored hashed, roles user/admin/metrics, 401/403 enforcement",
        ("DM-2", "DM-4"),
        "tuneguard serve keys create",
    ),
    CheckSpec(
        "serve.anomaly",
        "serve",
        "Robust streaming anomaly detection (latency, errors, guard hits, refusals, "
        "output length) with alerts to log, ledger and webhooks",
        ("DM-3",),
        "tuneguard serve --upstream URL",
    ),
    CheckSpec(
        "serve.env",
        "serve",
        "Deployment environment review: TLS, auth, bind address, rate limits, debug, "
        "file permissions, dependency audit, exposed admin routes",
        ("DM-4",),
        "tuneguard serve check",
    ),
    CheckSpec(
        "serve.env.history",
        "serve",
        "Re-runnable environment review with history and diff to the last run",
        ("DM-5",),
        "tuneguard serve check --history",
    ),
    CheckSpec(
        "serve.guard.output",
        "serve",
        "Output guards: PII/secret redaction with typed placeholders, canary "
        "leakage, refusal/harm flags (streaming-safe)",
        ("DM-6",),
        "tuneguard serve --upstream URL",
    ),
    CheckSpec(
        "serve.guard.input",
        "serve",
        "Input guards: PII/secrets and prompt-injection/jailbreak signals",
        ("DM-1", "DM-6"),
        "tuneguard serve --upstream URL",
    ),
)


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "KeyStore":
        from .keys import KeyStore

        return KeyStore
    if name == "AnomalyDetector":
        from .anomaly import AnomalyDetector

        return AnomalyDetector
    if name in ("run_envcheck", "EnvTarget"):
        from . import envcheck

        return getattr(envcheck, name)
    raise AttributeError(name)


__all__ = ["CHECKS", "AnomalyDetector", "EnvTarget", "KeyStore", "create_app", "run_envcheck"]
