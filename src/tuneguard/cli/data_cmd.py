# ruff: noqa: B008 - Typer declares options as call defaults
"""`tuneguard data`: the data privacy gate (scan, sanitize, detokenize, entities)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tuneguard.core import UserError, load_policy

from .common import JSON_HELP, console, emit_json, err_console, severity_style, table

app = typer.Typer(
    help="Data privacy gate: PII/secret scan, anonymization, cleaning and the dataset manifest.",
    no_args_is_help=True,
)

CHECKS_HELP = (
    "Checks to run (repeat or comma-separate): pii, secrets, clean, poison, or single checks such as "
    "data.pii.EMAIL_ADDRESS, data.clean.near_duplicate, data.poison.backdoor_trigger. Default: policy "
    "data.checks, else all."
)
WORKERS_HELP = (
    "Processes for detection: this one and N-1 pool processes, N with an NER backend (records are still "
    "reported in input order); with --engine ray, parallel Ray tasks."
)
ENGINE_HELP = (
    "local: this machine's processes; ray: Ray Data tasks on a local Ray instance or the cluster at "
    "--address (same results; needs tuneguard[ray])."
)
ADDRESS_HELP = (
    "Ray cluster to join with --engine ray (ray://host:10001 or host:6379; default: RAY_ADDRESS, else a "
    "private local instance)."
)


@contextmanager
def _progress(label: str) -> Iterator:
    started = time.perf_counter()
    columns = (
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[records]} records"),
        TextColumn("{task.fields[rps]} rec/s"),
        TextColumn("{task.fields[mbps]} MB/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(label, total=1, records=0, rps="0", mbps="0.0")

        def update(records: int, done: int, total: int) -> None:
            elapsed = max(time.perf_counter() - started, 1e-6)
            progress.update(
                task,
                total=max(total, 1),
                completed=done,
                records=f"{records:,}",
                rps=f"{records / elapsed:,.0f}",
                mbps=f"{done / elapsed / 1e6:.1f}",
            )

        yield update


def _selection(checks: list[str], policy_checks: list[str]):
    from tuneguard.data.checks import parse_checks

    try:
        return parse_checks(checks or policy_checks)
    except ValueError as exc:
        raise UserError(f"--checks: {exc}") from None


def _engine(engine: str, address: str | None) -> str:
    if engine not in ("local", "ray"):
        raise UserError(f"--engine {engine}: use local or ray")
    if address and engine != "ray":
        raise UserError("--address is for --engine ray")
    return engine


def _show_entities(title: str, counts: dict[str, int], after: dict[str, int] | None = None) -> None:
    if not counts:
        return
    from tuneguard.data.pii.spans import severity_of

    cols = ["entity", "severity", "found"] + (["after sanitize"] if after is not None else [])
    rows = []
    for entity, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        sev = severity_of(entity).value
        row = [entity, f"[{severity_style(sev)}]{sev}[/]", n]
        if after is not None:
            row.append(after.get(entity, 0))
        rows.append(row)
    console.print(table(title, cols, rows))


def _show_findings(findings: list[dict], limit: int = 15) -> None:
    if not findings:
        return
    rows = [
        [
            f.get("line"),
            f.get("field") or "",
            f["check"],
            f"[{severity_style(f['severity'])}]{f['severity']}[/]",
            f.get("preview") or f.get("message", ""),
        ]
        for f in findings[:limit]
    ]
    more = f" (first {limit} of {len(findings)})" if len(findings) > limit else ""
    console.print(table(f"Findings{more}", ["line", "field", "check", "severity", "preview / message"], rows))


def _show_capabilities(caps: dict) -> None:
    cannot = ", ".join(caps.get("cannot", {}))
    console.print(f"[dim]can find: {', '.join(caps.get('can', {}))}[/]")
    if cannot:
        console.print(f"[dim]cannot find with this configuration: {cannot}[/]")


@app.command()
def scan(
    path: Path = typer.Argument(
        ..., help="Dataset: .jsonl/.ndjson/.json (optionally .gz/.zst), .csv or .parquet."
    ),
    json_out: str | None = typer.Option(None, "--json", help=JSON_HELP),
    workers: int = typer.Option(1, "--workers", "-w", min=1, max=64, help=WORKERS_HELP),
    checks: list[str] = typer.Option([], "--checks", "-c", help=CHECKS_HELP),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first malformed line (exit 2)."),
    policy_file: Path | None = typer.Option(None, "--policy", help="Policy file (default: tuneguard.toml)."),
    engine: str = typer.Option("local", "--engine", help=ENGINE_HELP),
    address: str | None = typer.Option(None, "--address", help=ADDRESS_HELP),
) -> None:
    """Scan every string field of every record for PII, secrets, cleaning problems and poisoning.

    Exit 1 when findings at or above data.fail_severity exceed data.max_findings, 0 otherwise, 2 on bad input.
    Reports show masked previews only, never raw values.

    Example: tuneguard data scan train.jsonl --json scan.json --workers 2
    """
    from tuneguard.data.pipeline import MAX_KEPT_FINDINGS, scan_dataset

    policy = load_policy(policy_file)
    selection = _selection(checks, policy.data.checks)
    with _progress("scan") as update:
        result = scan_dataset(str(path), policy.data, selection, workers=workers, strict=strict,
                              on_progress=update, keep_findings=MAX_KEPT_FINDINGS if json_out else 100,
                              engine=_engine(engine, address), address=address)
    st = result["stats"]
    if json_out:
        emit_json(result, json_out)
    if json_out != "-":
        _show_entities(f"PII and secrets in {path.name}", st["entities"])
        clean = {k: v for k, v in st["by_check"].items() if not k.startswith(("data.pii.", "data.secret."))}
        if clean:
            console.print(
                table("Cleaning and poisoning", ["check", "count"], [[k, v] for k, v in clean.items()])
            )
        _show_findings(result["findings"])
        _show_capabilities(st["capabilities"])
        gate = st["gate"]
        style = "green" if gate["verdict"] == "pass" else "bold red"
        console.print(
            f"[{style}]{gate['verdict'].upper()}[/] {st['records']:,} records, {st['findings']:,} findings, "
            f"{gate['counted']:,} at or above {gate['fail_severity']} (max {gate['max_findings']}); "
            f"{st['mb_per_s']} MB/s, {st['records_per_s']:,.0f} records/s"
        )
    if st["gate"]["verdict"] != "pass":
        raise typer.Exit(1)


@app.command()
def sanitize(
    path: Path = typer.Argument(..., help="Dataset to anonymize and clean."),
    output: Path = typer.Option(..., "-o", "--output", help="Output dataset, same format as the input."),
    policy_file: Path | None = typer.Option(None, "--policy", help="Policy file with the [data] operators."),
    json_out: str | None = typer.Option(None, "--json", help=JSON_HELP),
    workers: int = typer.Option(1, "--workers", "-w", min=1, max=64, help=WORKERS_HELP),
    checks: list[str] = typer.Option([], "--checks", "-c", help=CHECKS_HELP),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first malformed line (exit 2)."),
    engine: str = typer.Option("local", "--engine", help=ENGINE_HELP),
    address: str | None = typer.Option(None, "--address", help=ADDRESS_HELP),
) -> None:
    """Anonymize and clean a dataset, write a manifest next to it, and record the data gate in the ledger.

    One output record per input record unless the policy drops it; the manifest is OUTPUT.manifest.json.

    Operators per entity (policy [data] operators / default_operator): mask, redact, placeholder, pseudonym,
    tokenize, drop-record, keep. Exit 0 when no residual finding reaches data.fail_severity, 1 otherwise.

    Example: tuneguard data sanitize train.jsonl -o train.clean.jsonl --policy tuneguard.toml
    """
    from tuneguard.data.sanitize import sanitize_dataset

    policy = load_policy(policy_file)
    selection = _selection(checks, policy.data.checks)
    with _progress("sanitize") as update:
        manifest = sanitize_dataset(
            path, output, policy, selection, workers=workers, strict=strict, on_progress=update,
            engine=_engine(engine, address), address=address,
        )
    if json_out:
        emit_json(manifest, json_out)
    if json_out != "-":
        rec = manifest["records"]
        _show_entities(f"Entities in {path.name}", manifest["entities_before"], manifest["entities_after"])
        dropped = ", ".join(f"{k} {v}" for k, v in rec["dropped_by_reason"].items()) or "none"
        console.print(
            f"{rec['input_lines']:,} input lines: {rec['kept']:,} kept, {rec['changed']:,} changed, "
            f"{rec['dropped']:,} dropped ({dropped})"
        )
        _show_findings(manifest["residual"] + manifest["poison_findings"])
        _show_capabilities(manifest["capabilities"])
        style = "green" if manifest["verdict"] == "pass" else "bold red"
        console.print(
            f"[{style}]{manifest['verdict'].upper()}[/] wrote {output} (sha256 "
            f"{manifest['output']['sha256'][:16]}…) and {manifest['manifest_path']}"
        )
    if manifest["verdict"] != "pass":
        raise typer.Exit(1)


@app.command()
def detokenize(
    path: Path = typer.Argument(..., help="A dataset sanitized with the tokenize operator."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the re-identified dataset."),
) -> None:
    """Reverse the tokenize operator with the key under TUNEGUARD_HOME (authorized re-identification).

    The access is recorded in the ledger.

    Example: tuneguard data detokenize train.clean.jsonl -o train.reidentified.jsonl
    """
    from tuneguard.data.detokenize import detokenize_dataset

    count = detokenize_dataset(path, output)
    console.print(f"re-identified {count:,} token(s) into {output}")


@app.command()
def entities(
    json_out: str | None = typer.Option(None, "--json", help=JSON_HELP),
    policy_file: Path | None = typer.Option(None, "--policy", help="Policy file (data.ner_backend)."),
) -> None:
    """List the entity types the active configuration can and cannot find, and how.

    Example: tuneguard data entities
    """
    from tuneguard.data import PiiEngine

    policy = load_policy(policy_file)
    caps = PiiEngine(ner_backend=policy.data.ner_backend).capabilities()
    if json_out:
        emit_json(caps, json_out)
        return
    console.print(
        table(
            f"Entity types (matcher: {caps['matcher']})",
            ["entity", "status", "method"],
            [[e, "[green]found[/]", m] for e, m in caps["can"].items()]
            + [[e, "[yellow]not found[/]", why] for e, why in caps["cannot"].items()],
        )
    )
