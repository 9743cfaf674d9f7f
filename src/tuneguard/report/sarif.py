"""SARIF 2.1.0 output for code-scanning tools: one result per finding, one rule per check id."""
from __future__ import annotations

import hashlib
from typing import Any

from tuneguard import __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}


def _location(finding: dict[str, Any]) -> dict[str, Any] | None:
    loc = finding.get("location") or {}
    uri = loc.get("file") or loc.get("path") or finding.get("subject")
    if not uri:
        return None
    physical: dict[str, Any] = {"artifactLocation": {"uri": str(uri)}}
    line = loc.get("line")
    if isinstance(line, int) and line > 0:
        region: dict[str, Any] = {"startLine": line}
        if isinstance(loc.get("start"), int):
            region["startColumn"] = loc["start"] + 1
        physical["region"] = region
    return {"physicalLocation": physical}


def build_sarif(report: dict[str, Any]) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in report["findings"]:
        check = f.get("check", "unknown")
        severity = f.get("severity", "info")
        rule = rules.setdefault(check, {
            "id": check, "name": check.replace(".", "_"),
            "shortDescription": {"text": check},
            "properties": {"tags": ["security", *f.get("requirements", [])],
                           "security-severity": _SECURITY_SEVERITY.get(severity, "1.0")},
        })
        if float(_SECURITY_SEVERITY.get(severity, "1.0")) > float(rule["properties"]["security-severity"]):
            rule["properties"]["security-severity"] = _SECURITY_SEVERITY[severity]
        result: dict[str, Any] = {
            "ruleId": check, "level": _LEVEL.get(severity, "note"),
            "message": {"text": f.get("message", check)},
            "properties": {"severity": severity, "stage": f.get("stage"), "ledger_seq": f.get("seq"),
                           "requirements": f.get("requirements", [])},
        }
        location = _location(f)
        if location:
            result["locations"] = [location]
        key = f"{check}|{f.get('subject')}|{(f.get('location') or {}).get('line')}|{f.get('message')}"
        result["partialFingerprints"] = {"tuneguardFinding/v1": hashlib.sha256(key.encode()).hexdigest()[:32]}
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "tuneguard", "version": __version__, "informationUri":
                                "https://github.com/tuneguard/tuneguard", "rules": list(rules.values())}},
            "results": results,
            "properties": {"ledger_head": report["ledger_head"], "verdict": report["verdict"]},
        }],
    }
