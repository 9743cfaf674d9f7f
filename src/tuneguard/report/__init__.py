"""Conformance reporting: the verified evidence ledger as report.json, .html, .sarif and .md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuneguard.core import CheckSpec, Ledger, atomic_write_text
from tuneguard.core.canonical import canonical_json

from .conformance import build_report, requirement_status
from .markdown import build_markdown
from .sarif import build_sarif

FORMATS = ("json", "html", "sarif", "md")

CHECKS: tuple[CheckSpec, ...] = ()


def write_report(
    report: dict[str, Any], out_dir: str | Path, formats: tuple[str, ...] = FORMATS
) -> dict[str, Path]:
    """Write each requested format atomically into `out_dir`; returns format -> path."""
    import json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for fmt in formats:
        if fmt == "json":
            text = json.dumps(report, indent=1, ensure_ascii=False)
        elif fmt == "html":
            from .html import build_html

            text = build_html(report)
        elif fmt == "sarif":
            text = json.dumps(build_sarif(report), indent=1, ensure_ascii=False)
        elif fmt == "md":
            text = build_markdown(report)
        else:
            raise ValueError(f"unknown report format {fmt!r}")
        path = out / f"report.{fmt}"
        atomic_write_text(path, text)
        written[fmt] = path
    return written


def generate(
    out_dir: str | Path,
    ledger_from: int = 0,
    checks: list[CheckSpec] | None = None,
    formats: tuple[str, ...] = FORMATS,
    ledger: Ledger | None = None,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Verify the ledger, build the report and write it; the ledger head goes into every format."""
    own = ledger is None
    ledger = ledger or Ledger(readonly=True)
    try:
        report = build_report(ledger, ledger_from, checks)
    finally:
        if own:
            ledger.close()
    return report, write_report(report, out_dir, formats)


__all__ = [
    "CHECKS",
    "FORMATS",
    "build_markdown",
    "build_report",
    "build_sarif",
    "canonical_json",
    "generate",
    "requirement_status",
    "write_report",
]
