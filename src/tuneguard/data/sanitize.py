"""`data sanitize`: anonymize and clean a dataset, write it atomically with a manifest, record the gate in
the ledger."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

import tuneguard
from tuneguard.core import (
    Artifact,
    Finding,
    Ledger,
    Severity,
    StageResult,
    UserError,
    Verdict,
    atomic_write_bytes,
    sha256_file,
)
from tuneguard.core.policy import Policy

from .anonymize import Anonymizer
from .checks import CheckSelection
from .clean import CLEAN_SEVERITY
from .heap import FrozenAsItGrows
from .pipeline import ProgressFn, Tally, iter_outcomes, process_config, report_engine, stats
from .records import DatasetFormat, DatasetReader, DatasetWriter

MANIFEST_SCHEMA = "tuneguard.data.manifest/1"
REQUIREMENTS = ("DP-1", "DP-2", "FT-1")
MAX_LEDGER_FINDINGS = 200


def manifest_path(output: Path) -> Path:
    return output.with_name(output.name + ".manifest.json")


def line_ranges(lines: list[int]) -> str:
    """Compact form of sorted line numbers: [1,2,3,7,9,10] -> '1-3,7,9-10'."""
    parts, start, prev = [], None, None
    for n in lines:
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            parts.append(f"{start}-{prev}" if prev != start else str(start))
            start = prev = n
    if start is not None:
        parts.append(f"{start}-{prev}" if prev != start else str(start))
    return ",".join(parts)


def sanitize_dataset(
    path: str | Path,
    output: str | Path,
    policy: Policy,
    selection: CheckSelection,
    *,
    workers: int = 1,
    strict: bool = False,
    on_progress: ProgressFn | None = None,
    record: bool = True,
    use_hyperscan: bool = True,
    engine: str = "local",
    address: str | None = None,
) -> dict[str, Any]:
    """Write the anonymized dataset and its manifest; returns the manifest (with `verdict`)."""
    started = time.perf_counter()
    path, output = Path(path), Path(output)
    reader = DatasetReader(path)
    out_format = DatasetFormat.of(output)
    if out_format.kind != reader.format.kind:
        raise UserError(f"{output}: output must be {reader.format.kind} like the input {path.name}")
    if output.exists() and output.resolve() == path.resolve():
        raise UserError(f"{output}: refusing to overwrite the input; choose another -o")
    data_policy = policy.data
    config = process_config(data_policy, selection, "sanitize", use_hyperscan)
    # Validate operators and create the pseudonym/token keys here, before any worker process races to.
    Anonymizer(config.default_operator, dict(config.operators))
    tally = Tally(data_policy, selection, strict=strict, path=str(path))
    disposition: Counter = Counter()
    dropped: dict[str, list[int]] = defaultdict(list)
    changed: list[int] = []
    residual: list[dict[str, Any]] = []
    after: Counter = Counter()
    fail_at = Severity(data_policy.fail_severity)
    residual_gate = 0
    with FrozenAsItGrows() as heap:  # the tally's findings and examples: see heap.py
        with DatasetWriter(output, out_format) as writer:
            for out in iter_outcomes(reader, config, workers, engine=engine, address=address):
                extra = tally.add(out)
                reason = out.issues[-1] if not out.parsed else out.drop
                if reason is None and "exact_duplicate" in extra and data_policy.drop_duplicates:
                    reason = "exact_duplicate"
                if reason is not None:
                    disposition["dropped"] += 1
                    dropped[reason].append(out.line)
                else:
                    writer.columns, writer.schema = reader.columns, reader.schema
                    writer.write(out.out_record, raw=out.raw)
                    disposition["changed" if out.changed else "kept"] += 1
                    if out.changed:
                        changed.append(out.line)
                    after.update(out.entities_after)
                    for f in out.residual:
                        residual_gate += Severity(f["severity"]).at_least(fail_at)
                        if len(residual) < 100_000:
                            residual.append(f)
                if tally.records % 256 == 0:
                    heap.settle()
                    if on_progress is not None:
                        on_progress(tally.records, reader.bytes_read, reader.size)
        if on_progress is not None:
            on_progress(tally.records, reader.size, reader.size)
        scan_seconds = time.perf_counter() - started
        tally.bytes = tally.bytes or reader.size
        poison_status = tally.run_poisoning(threads=workers)
    poison = tally.poison_findings
    poison_gate = sum(1 for f in poison if Severity(f["severity"]).at_least(fail_at))
    verdict = "fail" if residual_gate + poison_gate > data_policy.max_findings else "pass"
    engine = report_engine(config)
    run_stats = stats(tally, engine, scan_seconds, workers)
    manifest = {
        "schema": MANIFEST_SCHEMA,
        "tool_version": tuneguard.__version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "input": {
            "path": str(path),
            "sha256": sha256_file(path),
            "bytes": path.stat().st_size,
            "format": _fmt(reader.format),
        },
        "output": {
            "path": str(output),
            "sha256": sha256_file(output),
            "bytes": output.stat().st_size,
            "format": _fmt(out_format),
        },
        "config_sha256": policy.digest(),
        "policy": {
            "default_operator": data_policy.default_operator,
            "operators": data_policy.operators,
            "drop_duplicates": data_policy.drop_duplicates,
            "fail_severity": data_policy.fail_severity,
            "max_findings": data_policy.max_findings,
        },
        "checks": selection.names(),
        "records": {
            "input_lines": tally.records,
            "kept": disposition["kept"],
            "changed": disposition["changed"],
            "dropped": disposition["dropped"],
            "output_records": writer.count,
            "dropped_by_reason": {k: len(v) for k, v in sorted(dropped.items())},
        },
        "lines": {
            "changed": line_ranges(changed),
            "dropped": {k: line_ranges(v) for k, v in sorted(dropped.items())},
        },
        "entities_before": dict(sorted(tally.entities.items())),
        "entities_after": dict(sorted(after.items())),
        "residual_findings": len(residual),
        "residual_gate_count": residual_gate,
        "cleaning": {
            k.removeprefix("data.clean."): v
            for k, v in sorted(tally.by_check.items())
            if k.startswith("data.clean.")
        },
        "poison": {"status": poison_status, "findings": len(poison), "gate_count": poison_gate},
        "capabilities": run_stats["capabilities"],
        "throughput": {
            "seconds": round(scan_seconds, 3),
            "mb_per_s": round(tally.bytes / max(scan_seconds, 1e-9) / 1e6, 2),
        },
        "verdict": verdict,
    }
    mpath = manifest_path(output)
    atomic_write_bytes(mpath, orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    manifest["manifest_path"] = str(mpath)
    manifest["residual"] = residual
    manifest["poison_findings"] = poison
    if record:
        _record(manifest, mpath, residual, poison, tally, policy)
    return manifest


def _fmt(fmt: DatasetFormat) -> str:
    return fmt.kind + (f"+{fmt.compression}" if fmt.compression else "")


def _finding(f: dict[str, Any]) -> Finding:
    location = {k: f[k] for k in ("line", "field", "start", "end") if f.get(k) is not None}
    evidence = {k: f[k] for k in ("entity", "preview", "score", "recognizer") if f.get(k) is not None}
    if isinstance(f.get("evidence"), dict):
        evidence.update(f["evidence"])
    return Finding(
        check=f["check"],
        severity=Severity(f["severity"]),
        message=str(f.get("message", f["check"])),
        requirements=("DP-1",) if f["check"].startswith(("data.pii", "data.secret")) else ("FT-3",),
        subject=str(f.get("line", "")),
        location=location,
        evidence=evidence,
    )


def _record(
    manifest: dict[str, Any], mpath: Path, residual: list, poison: list, tally: Tally, policy: Policy
) -> None:
    findings = [_finding(f) for f in (residual + poison)[:MAX_LEDGER_FINDINGS]]
    for entity, count in manifest["entities_before"].items():
        findings.append(
            Finding(
                check="data.anonymize",
                severity=Severity.INFO,
                requirements=("DP-1",),
                message=f"{entity}: {count} found, {manifest['entities_after'].get(entity, 0)} remain "
                "(kept values count; inserted fakes and tokens do not)",
                evidence={
                    "entity": entity,
                    "before": count,
                    "after": manifest["entities_after"].get(entity, 0),
                },
            )
        )
    for check, count in manifest["cleaning"].items():
        findings.append(
            Finding(
                check=f"data.clean.{check}",
                severity=Severity(CLEAN_SEVERITY.get(check, "low")),
                requirements=("DP-2",),
                message=f"{check}: {count} record(s), see the manifest",
                evidence={"count": count},
            )
        )
    rec = manifest["records"]
    result = StageResult(
        stage="data",
        verdict=Verdict(manifest["verdict"]),
        summary=f"{rec['input_lines']} lines: {rec['kept']} kept, {rec['changed']} changed, {rec['dropped']} dropped; "  # noqa: E501
        f"{manifest['residual_gate_count']} residual finding(s) at or above {policy.data.fail_severity}",
        findings=findings,
        metrics={
            "records": rec,
            "entities_before": manifest["entities_before"],
            "entities_after": manifest["entities_after"],
            "residual_findings": manifest["residual_findings"],
            "poison": manifest["poison"],
            "throughput": manifest["throughput"],
        },
        artifacts=[
            Artifact(
                role="input",
                path=manifest["input"]["path"],
                sha256=manifest["input"]["sha256"],
                size=manifest["input"]["bytes"],
            ),
            Artifact(
                role="sanitized_dataset",
                path=manifest["output"]["path"],
                sha256=manifest["output"]["sha256"],
                size=manifest["output"]["bytes"],
            ),
            Artifact(role="manifest", path=str(mpath), sha256=sha256_file(mpath), size=mpath.stat().st_size),
        ],
        requirements=REQUIREMENTS,
        config_sha256=policy.digest(),
        tool_version=tuneguard.__version__,
    )
    with Ledger() as ledger:
        ledger.record(result)
