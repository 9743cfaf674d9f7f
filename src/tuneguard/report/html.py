"""The self-contained HTML report: requirement table, evidence links and inline SVG charts, no network."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from . import charts

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


def _latest_metrics(report: dict[str, Any], stage: str, *keys: str) -> Any:
    """The newest run of `stage` whose metrics hold one of `keys`."""
    for run in reversed(report["stages"].get(stage, {}).get("runs", [])):
        for key in keys:
            if key in run["metrics"]:
                return run["metrics"][key]
    return None


def _canary_points(value: Any) -> list[dict[str, Any]]:
    """Training records canaries as {inserted: [...], references: [...]}; older runs as a plain list."""
    if isinstance(value, dict):
        value = [*(value.get("inserted") or []), *(value.get("references") or [])]
    return [c for c in value or [] if isinstance(c, dict)]


def build_charts(report: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    before = _latest_metrics(report, "data", "entities_before") or {}
    after = _latest_metrics(report, "data", "entities_after") or {}
    if (svg := charts.pii_chart(before, after)) is not None:
        out.append(("PII before and after sanitizing", svg))
    rows = _latest_metrics(report, "probe", "asr_by_category") or []
    if (svg := charts.asr_chart(rows)) is not None:
        out.append(("Attack success by category", svg))
    steps = _latest_metrics(report, "train", "steps") or []
    if (svg := charts.loss_chart(steps)) is not None:
        out.append(("Training loss", svg))
    canaries = _canary_points(_latest_metrics(report, "train", "canaries"))
    if (svg := charts.exposure_chart(canaries)) is not None:
        out.append(("Canary exposure", svg))
    return out


def build_html(report: dict[str, Any]) -> str:
    env = Environment(
        loader=PackageLoader("tuneguard.report", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    evidence: dict[int, dict[str, Any]] = {}
    for req in report["requirements"]:
        for ev in req["evidence"]:
            evidence[ev["seq"]] = ev
    top = sorted(
        report["findings"], key=lambda f: (_SEVERITY_ORDER.get(f.get("severity"), 5), f.get("seq", 0))
    )[:50]
    return env.get_template("report.html.j2").render(
        r=report,
        charts=build_charts(report),
        top_findings=top,
        evidence=[evidence[k] for k in sorted(evidence)],
    )
