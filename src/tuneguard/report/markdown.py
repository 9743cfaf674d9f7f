"""A short Markdown summary of the conformance report, sized for a pull-request comment."""
from __future__ import annotations

from typing import Any

_ICON = {"pass": "✅", "fail": "❌", "not-tested": "⚪"}


def build_markdown(report: dict[str, Any]) -> str:
    c = report["counts"]
    lines = [
        f"## tuneguard conformance: **{report['verdict'].upper()}**",
        "",
        f"{c['pass']} passed · {c['fail']} failed · {c['not-tested']} not tested — "
        f"ledger head `{report['ledger_head']}` ({report['ledger_count']} entries, "
        f"{'verified' if report['ledger_verified'] else 'TAMPERED: ' + report['ledger_problem']})",
        "",
        "| requirement | status | evidence (ledger seq) |",
        "|---|---|---|",
    ]
    for r in report["requirements"]:
        seqs = ", ".join(str(e["seq"]) for e in r["evidence"][-5:]) or "—"
        lines.append(f"| {r['id']} {r['title']} | {_ICON[r['status']]} {r['status']} | {seqs} |")
    failing = [f for f in report["findings"] if f.get("severity") in ("critical", "high")]
    if failing:
        lines += ["", f"### {len(failing)} high or critical findings", ""]
        for f in failing[:20]:
            lines.append(f"- **{f.get('severity')}** `{f.get('check')}` {f.get('message', '')}")
        if len(failing) > 20:
            lines.append(f"- … and {len(failing) - 20} more (see report.sarif)")
    lines += ["", f"_{report['clause_note']}_", ""]
    return "\n".join(lines)
