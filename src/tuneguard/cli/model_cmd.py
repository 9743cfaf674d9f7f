"""`tuneguard model`: scan a base model or adapter without executing it, and write its CycloneDX ML-BOM."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from tuneguard.core import Artifact, Ledger, StageResult, UserError, atomic_write_bytes, load_policy
from tuneguard.core.files import sha256_bytes

from .common import JSON_HELP, console, emit_json, err_console, severity_style, table, to_json_bytes

app = typer.Typer(
    help="Base-model gate: artifact scan, provenance, license policy, ML-BOM.", no_args_is_help=True
)

REQUIREMENTS = ("BM-1", "BM-2", "BM-4", "BM-5")
PROGRESS_MIN_BYTES = 256 << 20


def _scan(path: Path, expect: list[str], config: Path | None):
    from tuneguard.model.engine import list_files, scan_path
    from tuneguard.model.provenance import parse_expect

    policy = load_policy(config)
    expected = parse_expect(expect)
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    total = sum(p.stat().st_size for p in (list_files(path)[0] if path.is_dir() else [path]))
    show = total >= PROGRESS_MIN_BYTES and err_console.is_terminal
    if show:
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=err_console,
            transient=True,
        )
        task = progress.add_task("sha256 + scan", total=total)
        ctx = progress

        def on_bytes(n: int) -> None:
            progress.advance(task, n)
    else:
        ctx, on_bytes = nullcontext(), None  # type: ignore[assignment]
    with ctx:
        report = scan_path(path, policy.model, expected, on_bytes=on_bytes)
    return policy, report


def _record(policy, report, extra: list[Artifact] | None = None, metrics: dict | None = None) -> int:
    from tuneguard.model import record_scan

    return record_scan(policy, report, extra, metrics)


def _result(policy, report, extra: list[Artifact] | None = None, metrics: dict | None = None) -> StageResult:
    from tuneguard.model import scan_result

    return scan_result(policy, report, extra, metrics)


def _print(report) -> None:
    files = [
        [
            f.path,
            f.format,
            f"{f.size:,}",
            f.sha256[:16] + "…",
            "" if f.hash_ok is None else ("match" if f.hash_ok else "MISMATCH"),
        ]
        for f in report.files
    ]
    console.print(
        table(f"Files in {report.target}", ["file", "format", "bytes", "sha256", "publisher"], files)
    )
    if report.findings:
        t = table("Findings", ["severity", "check", "file", "message"], [])
        for f in report.findings:
            sev = f.severity.value
            t.add_row(
                f"[{severity_style(sev)}]{sev}[/]", f.check, str(f.location.get("file", f.subject)), f.message
            )
        console.print(t)
    verdict = "[bold red]FAIL[/]" if report.failed else "[bold green]PASS[/]"
    c = report.counts()
    console.print(
        f"{verdict} {len(report.findings)} findings (critical {c['critical']}, high {c['high']}, "
        f"medium {c['medium']}, low {c['low']}) in {report.seconds:.2f}s"
    )


def _rescan_one(path: Path, label: str, before, config: Path | None) -> tuple[dict, bool]:
    """Scan `path`, record it as a re-scan of `label` with its diff; returns (row, failed)."""
    from tuneguard.model.rescan import diff_results

    policy, report = _scan(path, [], config)
    metrics: dict = {"target": label, "scan_root": str(path.resolve())}
    if before is not None:
        metrics["rescan_of"] = before[0].seq
    new = _result(policy, report, metrics=metrics)
    diff = diff_results(before[1], new) if before is not None else {}
    new.metrics["diff"] = diff
    new.requirements = (*REQUIREMENTS, "BM-6")
    with Ledger() as ledger:
        seq = ledger.record(new).seq
    row = {"target": label, "previous_seq": before[0].seq if before else None, "seq": seq,
           "status": new.verdict.value, **diff}
    return row, report.failed


def _pulled_versions(refs: list[str] | None, config: Path | None):
    """Yield ("registry:NAME@vN", folder) per version, pulled into a 0700 temp folder wiped afterwards."""
    import tempfile

    from tuneguard.registry import Registry

    from .probe_rerun import default_refs

    with Registry.open(policy=load_policy(config)) as reg:
        targets = refs or default_refs(reg.list())
        for ref in targets:
            name, number = reg.resolve(ref)
            exact = f"{name}@v{number}"
            with tempfile.TemporaryDirectory(prefix="tuneguard-rescan-") as tmp:
                yield f"registry:{exact}", Path(reg.pull(exact, Path(tmp) / "model"))


PathArg = Annotated[
    Path,
    typer.Argument(help="Model file or folder (HF folder, GGUF, checkpoint, archive).", show_default=False),
]
ExpectOpt = Annotated[
    list[str] | None, typer.Option("--expect", help="Publisher hash FILE=SHA256 (repeatable).")
]
NoLedgerOpt = Annotated[bool, typer.Option("--no-ledger", help="Do not record the result in the ledger.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Policy file (default: ./tuneguard.toml).")]


@app.command()
def scan(
    path: PathArg,
    json_out: Annotated[str | None, typer.Option("--json", help=JSON_HELP)] = None,
    expect: ExpectOpt = None,
    config: ConfigOpt = None,
    no_ledger: NoLedgerOpt = False,
) -> None:
    """Scan model artifacts without loading them; exit 1 when a finding reaches the policy's fail severity.

    Example: tuneguard model scan ./my-model --json scan.json --expect model.safetensors=3f2a…
    """
    policy, report = _scan(path, expect or [], config)
    seq = None if no_ledger else _record(policy, report)
    data = report.to_dict() | {"ledger_seq": seq}
    if json_out:
        emit_json(data, json_out)
    if json_out != "-":
        _print(report)
    raise typer.Exit(1 if report.failed else 0)


@app.command()
def bom(
    path: PathArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the CycloneDX JSON.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Component name (default: the folder name).")
    ] = None,
    version: Annotated[str | None, typer.Option("--version", help="Component version.")] = None,
    expect: ExpectOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Write a CycloneDX 1.6 ML-BOM (file hashes, license, card fields, adapter base); record its hash.

    Example: tuneguard model bom ./my-adapter -o bom.cdx.json
    """
    from tuneguard.model.bom import build_bom

    policy, report = _scan(path, expect or [], config)
    data = to_json_bytes(build_bom(report, name=name, version=version)) + b"\n"
    atomic_write_bytes(output, data)
    digest = sha256_bytes(data)
    seq = _record(
        policy,
        report,
        [Artifact(role="bom", path=str(output), sha256=digest, size=len(data))],
        {"bom_sha256": digest},
    )
    console.print(f"wrote {output} (sha256 {digest}, ledger #{seq})")
    if report.failed:
        err_console.print(
            "[yellow]warning:[/] the scan found high/critical issues; run `tuneguard model scan`"
        )


RegistryOpt = Annotated[
    bool,
    typer.Option("--registry", help="Also pull and re-scan registered versions (latest and aliased)."),
]
RefsOpt = Annotated[
    list[str] | None,
    typer.Option("--ref", help="Registered version to re-scan (repeatable; implies --registry)."),
]


@app.command()
def rescan(
    json_out: Annotated[str | None, typer.Option("--json", help=JSON_HELP)] = None,
    registry: RegistryOpt = False,
    ref: RefsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Re-scan every model the ledger has seen and diff findings and file hashes against its last scan (BM-6).

    With --registry (or --ref), registered versions are pulled into a private temporary folder (signature
    and hashes verified, wiped afterwards) and re-scanned too, diffed against their own previous re-scan.
    Exit 1 when any re-scanned model now fails. Example: tuneguard model rescan --registry --json rescan.json
    """
    from tuneguard.model.rescan import previous_scans

    with Ledger(readonly=True) as ledger:
        previous = previous_scans(ledger)
    on_disk = {t: v for t, v in previous.items() if not t.startswith("registry:")}
    if not on_disk and not (registry or ref):
        raise UserError("no model scans in the ledger yet; run `tuneguard model scan PATH` first")
    out, failed = [], False
    for target, (entry, _old) in sorted(on_disk.items()):
        if not Path(target).exists():
            out.append({"target": target, "previous_seq": entry.seq, "status": "missing"})
            failed = True
            continue
        row, bad = _rescan_one(Path(target), target, previous.get(target), config)
        out.append(row)
        failed |= bad
    if registry or ref:
        for label, folder in _pulled_versions(ref, config):
            row, bad = _rescan_one(folder, label, previous.get(label), config)
            out.append(row)
            failed |= bad
    if json_out:
        emit_json({"rescans": out}, json_out)
    if json_out != "-":
        rows = [
            [
                r["target"],
                r["status"],
                len(r.get("new_findings", [])),
                len(r.get("resolved_findings", [])),
                len(r.get("changed_files", [])),
            ]
            for r in out
        ]
        console.print(
            table("Model re-scan", ["target", "verdict", "new findings", "resolved", "changed files"], rows)
        )
    raise typer.Exit(1 if failed else 0)
