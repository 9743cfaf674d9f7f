"""Build the AI-STR conformance report from the evidence ledger alone: requirement status and its evidence."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tuneguard import __version__
from tuneguard.core import Ledger, LedgerEntry, Severity, load_catalog
from tuneguard.core.ledger import utc_now

REPORT_SCHEMA_VERSION = 1
_FAILING = {"fail", "error"}
_COUNTED = {"pass", "warn", "fail", "error"}


@dataclass
class Evidence:
    seq: int
    stage: str
    kind: str
    time: str
    verdict: str
    summary: str
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    manual: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "stage": self.stage,
            "kind": self.kind,
            "time": self.time,
            "verdict": self.verdict,
            "summary": self.summary,
            "artifacts": self.artifacts,
            "manual": self.manual,
        }


def _evidence_from(entry: LedgerEntry) -> tuple[Evidence, tuple[str, ...]] | None:
    payload = entry.payload
    if entry.kind == "stage_result":
        reqs = set(payload.get("requirements") or ())
        for finding in payload.get("findings") or ():
            reqs.update(finding.get("requirements") or ())
        arts = [
            {"role": a.get("role"), "path": a.get("path"), "sha256": a.get("sha256")}
            for a in payload.get("artifacts") or ()
        ]
        return Evidence(
            entry.seq,
            entry.stage,
            entry.kind,
            entry.time,
            str(payload.get("verdict")),
            str(payload.get("summary", "")),
            arts,
        ), tuple(sorted(reqs))
    if entry.kind == "attestation":
        arts = [
            {"role": "attested_file", "path": f.get("path"), "sha256": f.get("sha256")}
            for f in payload.get("files") or ()
        ]
        return Evidence(
            entry.seq,
            entry.stage,
            entry.kind,
            entry.time,
            "pass",
            str(payload.get("note", "")),
            arts,
            manual=True,
        ), tuple(payload.get("requirements") or ())
    return None


def requirement_status(evidence: list[Evidence]) -> str:
    """Latest evidence per stage decides; any failing latest result fails the requirement.

    A stage that ran twice (a failed scan, then a passing sanitize) is judged by its latest run;
    with no counted evidence at all the requirement is 'not-tested', never a silent pass.
    """
    latest: dict[tuple[str, bool], Evidence] = {}
    for ev in evidence:
        if ev.verdict in _COUNTED:
            latest[(ev.stage, ev.manual)] = ev
    if not latest:
        return "not-tested"
    return "fail" if any(ev.verdict in _FAILING for ev in latest.values()) else "pass"


def _stage_summaries(entries: list[LedgerEntry]) -> dict[str, Any]:
    stages: dict[str, Any] = {}
    for entry in entries:
        if entry.kind != "stage_result":
            continue
        p = entry.payload
        sev = Counter(f.get("severity") for f in p.get("findings") or ())
        runs = stages.setdefault(entry.stage, {"runs": []})["runs"]
        runs.append(
            {
                "seq": entry.seq,
                "time": entry.time,
                "verdict": p.get("verdict"),
                "summary": p.get("summary", ""),
                "findings_by_severity": {s.value: sev.get(s.value, 0) for s in Severity},
                "metrics": p.get("metrics") or {},
                "artifacts": p.get("artifacts") or [],
            }
        )
    for info in stages.values():
        info["latest"] = info["runs"][-1]
    return stages


def _findings(entries: list[LedgerEntry]) -> list[dict[str, Any]]:
    out = []
    for entry in entries:
        if entry.kind == "stage_result":
            for f in entry.payload.get("findings") or ():
                out.append({**f, "stage": entry.stage, "seq": entry.seq})
    return out


def build_report(ledger: Ledger, ledger_from: int = 0, checks: list | None = None) -> dict[str, Any]:
    """The report.json structure. The ledger is verified first; a broken chain makes it 'tampered'."""
    verify = ledger.verify()
    entries = [e for e in ledger.entries(since=ledger_from)]
    catalog = load_catalog()
    coverage = catalog.coverage(list(checks or []))
    by_req: dict[str, list[Evidence]] = {r.id: [] for r in catalog.requirements}
    for entry in entries:
        found = _evidence_from(entry)
        if found:
            ev, reqs = found
            for req in reqs:
                if req in by_req:
                    by_req[req].append(ev)
    requirements = []
    for req in catalog.requirements:
        evs = by_req[req.id]
        requirements.append(
            {
                "id": req.id,
                "area": req.area,
                "title": req.title,
                "status": requirement_status(evs),
                "evidence": [e.to_dict() for e in evs],
                "mapped_to": req.mapped_to,
                "covered_by": [c.id for c in coverage.get(req.id, [])],
            }
        )
    counts = Counter(r["status"] for r in requirements)
    if not verify.ok:
        verdict = "tampered"
    elif counts["fail"]:
        verdict = "fail"
    elif counts["not-tested"]:
        verdict = "incomplete"
    else:
        verdict = "pass"
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "generated": utc_now(),
        "tool_version": __version__,
        "verdict": verdict,
        "counts": {k: counts.get(k, 0) for k in ("pass", "fail", "not-tested")},
        "ledger_head": verify.head,
        "ledger_count": verify.count,
        "ledger_verified": verify.ok,
        "ledger_problem": verify.reason,
        "ledger_from": ledger_from,
        "ledger_path": str(ledger.path),
        "clause_note": catalog.clause_note,
        "requirements": requirements,
        "stages": _stage_summaries(entries),
        "findings": _findings(entries),
    }
