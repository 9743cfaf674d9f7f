"""Shared pieces of the environment review: what is reviewed, and how a finding is made."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuneguard.core import Finding, Severity
from tuneguard.core.policy import ServePolicy

REQ = ("DM-4",)
ADMIN_ROUTES = ("/metrics", "/dashboard", "/dashboard/data", "/docs", "/redoc", "/openapi.json", "/admin")


@dataclass
class EnvTarget:
    policy: ServePolicy
    host: str
    tls_cert: Path | None
    tls_key: Path | None
    url: str | None = None
    keys_path: Path | None = None
    pip_audit: bool = False
    audit_json: Path | None = None


def finding(check: str, severity: Severity, message: str, subject: str = "", **evidence: Any) -> Finding:
    return Finding(
        check=check, severity=severity, message=message, requirements=REQ, subject=subject, evidence=evidence
    )


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
