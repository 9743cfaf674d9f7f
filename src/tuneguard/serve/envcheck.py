"""`serve check`: the deployment environment review (DM-4), re-runnable with history (DM-5).

Static checks read the policy, the TLS files, the key file and the ledger; with `url` the running gateway is
probed too (unauthenticated access, exposed admin routes, negotiated TLS). Every run is a StageResult in the
ledger, with the finding ids it raised, so the next run reports what is new and what was resolved.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import tuneguard
from tuneguard.core import Finding, Ledger, Severity, StageResult, Verdict, ledger_path, tuneguard_home

from .envcheck_base import ADMIN_ROUTES, EnvTarget, finding, is_loopback
from .envcheck_tls import check_tls, probe_tls
from .keys import KeyStore, keys_file


def check_auth(t: EnvTarget) -> list[Finding]:
    store = KeyStore(t.keys_path) if t.keys_path else KeyStore()
    active = [k for k in store.list() if k.active]
    out = []
    if not active:
        out.append(
            finding(
                "serve.env.auth.no_keys",
                Severity.MEDIUM,
                "no active API key: every request will be refused "
                "(create one with `tuneguard serve keys create`)",
                str(store.path),
            )
        )
    elif not any(k.role == "admin" for k in active):
        out.append(
            finding(
                "serve.env.auth.no_admin",
                Severity.INFO,
                "no admin key: the dashboard is unreachable",
                str(store.path),
            )
        )
    return out


def check_bind(t: EnvTarget) -> list[Finding]:
    if is_loopback(t.host):
        return []
    if t.host in ("0.0.0.0", "::", ""):  # noqa: S104 - this is the check for it
        return [
            finding(
                "serve.env.bind.all_interfaces",
                Severity.MEDIUM,
                f"gateway binds all interfaces ({t.host!r}); "
                "bind the address the proxy or load balancer uses",
                t.host,
            )
        ]
    return [
        finding(
            "serve.env.bind.network", Severity.INFO, f"gateway binds a network address ({t.host})", t.host
        )
    ]


def check_limits_debug(t: EnvTarget) -> list[Finding]:
    p, out = t.policy, []
    if p.rate_limit_per_minute > 6000:
        out.append(
            finding(
                "serve.env.rate_limit.high",
                Severity.LOW,
                f"per-key rate limit {p.rate_limit_per_minute}/min is above 100 requests/s",
                "serve.rate_limit_per_minute",
            )
        )
    if p.max_body_bytes > 64 << 20:
        out.append(
            finding(
                "serve.env.body_limit.high",
                Severity.LOW,
                f"max_body_bytes {p.max_body_bytes} is above 64 MiB",
                "serve.max_body_bytes",
            )
        )
    if p.debug:
        out.append(
            finding(
                "serve.env.debug",
                Severity.HIGH,
                "debug is on: tracebacks and /docs are exposed",
                "serve.debug",
            )
        )
    if p.log_raw_text:
        out.append(
            finding(
                "serve.env.raw_text_logged",
                Severity.MEDIUM,
                "raw prompts and responses are written to the audit log (serve.log_raw_text)",
                "serve.log_raw_text",
            )
        )
    if p.input_pii == "log" or p.output_pii == "log":
        out.append(
            finding(
                "serve.env.guards.log_only",
                Severity.MEDIUM,
                "a PII guard only logs: personal data passes through",
                "serve.input_pii/output_pii",
            )
        )
    if p.upstream:
        u = urlparse(p.upstream)
        if u.scheme == "http" and u.hostname and not is_loopback(u.hostname):
            out.append(
                finding(
                    "serve.env.upstream.plaintext",
                    Severity.MEDIUM,
                    "upstream is reached over plain HTTP on the network",
                    u.hostname,
                )
            )
    return out


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def check_permissions(t: EnvTarget) -> list[Finding]:
    out = []
    home = tuneguard_home()
    for path, want, what, cid in (
        (t.keys_path or keys_file(), 0o600, "API key file", "keys"),
        (ledger_path(), 0o600, "ledger", "ledger"),
        (home, 0o700, "TUNEGUARD_HOME", "home"),
    ):
        if path.exists() and _mode(path) & 0o077:
            out.append(
                finding(
                    f"serve.env.permissions.{cid}",
                    Severity.HIGH,
                    f"{what} is accessible to group/others (mode {_mode(path):o}, want {want:o})",
                    str(path),
                    mode=f"{_mode(path):o}",
                )
            )
    return out


def check_dependencies(t: EnvTarget) -> list[Finding]:
    report: dict[str, Any] | None = None
    if t.audit_json is not None:
        try:
            report = json.loads(t.audit_json.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            return [
                finding(
                    "serve.env.deps.unreadable",
                    Severity.MEDIUM,
                    f"pip-audit report unreadable ({exc.__class__.__name__})",
                    str(t.audit_json),
                )
            ]
    elif t.pip_audit:
        if importlib.util.find_spec("pip_audit") is None:
            return [
                finding("serve.env.deps.not_run", Severity.INFO, "pip-audit is not installed", "pip-audit")
            ]
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "pip_audit", "-f", "json", "--progress-spinner", "off", "-l"],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            report = json.loads(proc.stdout) if proc.stdout.strip() else None
        except (subprocess.TimeoutExpired, ValueError) as exc:
            report = None
            err = exc.__class__.__name__
        else:
            err = (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
        if report is None:
            return [
                finding(
                    "serve.env.deps.not_run",
                    Severity.INFO,
                    f"pip-audit could not complete ({err}); it needs "
                    "its online vulnerability service and has no offline database",
                    "pip-audit",
                )
            ]
    else:
        return [
            finding(
                "serve.env.deps.not_run",
                Severity.INFO,
                "dependency vulnerability audit not run: pip-audit queries an online service (PyPI/OSV) and "
                "cannot run offline; use --pip-audit where the network is allowed, or --audit-json with a "
                "report made elsewhere (pip-audit -f json)",
                "pip-audit",
            )
        ]
    deps = report.get("dependencies", []) if isinstance(report, dict) else []
    out = []
    for dep in deps:
        for vuln in dep.get("vulns") or []:
            out.append(
                finding(
                    "serve.env.deps.vulnerable",
                    Severity.HIGH,
                    f"{dep.get('name')} {dep.get('version')}: {vuln.get('id')}"
                    + (
                        f" (fixed in {', '.join(vuln.get('fix_versions') or [])})"
                        if vuln.get("fix_versions")
                        else ""
                    ),
                    f"{dep.get('name')}=={dep.get('version')}",
                    id=vuln.get("id"),
                    aliases=vuln.get("aliases") or [],
                )
            )
    return out


def check_guards(t: EnvTarget) -> list[Finding]:
    from .guards.pii import pii_engine_error

    err = pii_engine_error()
    return (
        [
            finding(
                "serve.env.guards.inactive", Severity.HIGH, f"PII guards cannot run: {err}", "tuneguard.data"
            )
        ]
        if err
        else []
    )


def check_live(t: EnvTarget) -> list[Finding]:
    if not t.url:
        return []
    import httpx

    out: list[Finding] = []
    u = urlparse(t.url)
    with httpx.Client(base_url=t.url.rstrip("/"), timeout=10, verify=False, trust_env=False) as c:  # noqa: S501  # safe: probes exposed routes without credentials; TLS is judged by _probe_tls
        try:
            r = c.get("/v1/models")
        except httpx.HTTPError as exc:
            return [
                finding(
                    "serve.env.live.unreachable",
                    Severity.MEDIUM,
                    f"{t.url} unreachable ({exc.__class__.__name__})",
                    t.url,
                )
            ]
        if r.status_code != 401:
            out.append(
                finding(
                    "serve.env.auth.unauthenticated",
                    Severity.CRITICAL,
                    f"GET /v1/models without a key answered {r.status_code}, not 401",
                    t.url,
                )
            )
        for route in ADMIN_ROUTES:
            try:
                code = c.get(route).status_code
            except httpx.HTTPError:
                continue
            if code < 300:
                out.append(
                    finding(
                        "serve.env.admin.exposed",
                        Severity.HIGH,
                        f"{route} answers {code} without a key",
                        t.url + route,
                        route=route,
                    )
                )
    if u.scheme == "https":
        out.extend(probe_tls(u.hostname or "127.0.0.1", u.port or 443, t.url))
    elif u.hostname and not is_loopback(u.hostname):
        out.append(
            finding(
                "serve.env.tls.plaintext_endpoint", Severity.HIGH, "gateway endpoint is plain HTTP", t.url
            )
        )
    return out


ENV_CHECKS: tuple[tuple[str, Callable[[EnvTarget], list[Finding]]], ...] = (
    ("tls", check_tls),
    ("auth", check_auth),
    ("bind", check_bind),
    ("limits_debug", check_limits_debug),
    ("permissions", check_permissions),
    ("dependencies", check_dependencies),
    ("guards", check_guards),
    ("live", check_live),
)


def previous_runs(ledger: Ledger) -> list[tuple[Any, StageResult]]:
    return [(e, r) for e, r in ledger.stage_results("serve") if r.metrics.get("kind") == "envcheck"]


def run_envcheck(target: EnvTarget, *, config_sha256: str | None = None, record: bool = True) -> StageResult:
    findings: list[Finding] = []
    for _, fn in ENV_CHECKS:
        findings.extend(fn(target))
    ids = sorted({f.check for f in findings if f.severity is not Severity.INFO})
    worst = max((f.severity.rank for f in findings if f.severity is not Severity.INFO), default=-1)
    verdict = Verdict.FAIL if worst >= Severity.HIGH.rank else Verdict.WARN if worst >= 0 else Verdict.PASS
    metrics: dict[str, Any] = {
        "kind": "envcheck",
        "host": target.host,
        "url": target.url,
        "finding_ids": ids,
        "checks": [name for name, _ in ENV_CHECKS],
    }
    with Ledger() as ledger:
        runs = previous_runs(ledger)
        if runs:
            last_entry, last = runs[-1]
            before = set(last.metrics.get("finding_ids", []))
            metrics.update(
                previous_seq=last_entry.seq,
                new=sorted(set(ids) - before),
                resolved=sorted(before - set(ids)),
                run_number=len(runs) + 1,
            )
        else:
            metrics.update(new=ids, resolved=[], run_number=1)
        result = StageResult(
            stage="serve",
            verdict=verdict,
            findings=findings,
            metrics=metrics,
            summary=f"environment review: {len(ids)} issue type(s), verdict {verdict.value}",
            requirements=("DM-4", "DM-5"),
            config_sha256=config_sha256,
            tool_version=tuneguard.__version__,
        )
        if record:
            ledger.record(result)
    return result
