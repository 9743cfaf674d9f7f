"""The streaming scan loop shared by `data scan` and `data sanitize`: read, process in workers, tally in
order."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tuneguard.core import Severity, UserError
from tuneguard.core.policy import DataPolicy

from .batch import STRICT_ISSUES, ScanBatch, summarize
from .checks import CheckSelection
from .clean import DuplicateIndex
from .heap import FrozenAsItGrows
from .pii.engine import PiiEngine
from .pii.recognizers import default_registry
from .poison.collect import ExampleSet
from .pool import run_pooled
from .process import (
    Outcome,
    ProcessConfig,
    RecordProcessor,
    clean_finding,
    run_batch,
    run_scan_batch,
)
from .records import Batch, DatasetReader, items_of

ProgressFn = Callable[[int, int, int], None]  # records, bytes read, total bytes
MAX_KEPT_FINDINGS = 200_000  # findings kept for --json; counts always cover everything


def process_config(
    policy: DataPolicy, selection: CheckSelection, mode: str, use_hyperscan: bool = True
) -> ProcessConfig:
    known = default_registry().entities()
    return ProcessConfig(
        mode=mode,
        entities=selection.entity_filter(known),
        clean=selection.clean,
        max_record_chars=policy.max_record_chars,
        near_duplicates="near_duplicate" in selection.clean,
        examples=selection.run_poison,
        default_operator=policy.default_operator,
        operators=tuple(sorted(policy.operators.items())),
        ner_backend=policy.ner_backend,
        use_hyperscan=use_hyperscan,
    )


ENGINES = ("local", "ray")


def iter_outcomes(
    reader: DatasetReader,
    config: ProcessConfig,
    workers: int = 1,
    batch_size: int = 512,
    engine: str = "local",
    address: str | None = None,
) -> Iterator[Outcome]:
    """Outcomes in input order; with workers > 1 at most 3 batches per worker are in flight (constant
    memory). engine="ray" runs the same per-record work on Ray Data (see ray_engine.py)."""
    for outcomes in _per_batch(reader, config, workers, batch_size, engine, address, as_batch=False):
        yield from outcomes


def iter_scan_batches(
    reader: DatasetReader,
    config: ProcessConfig,
    workers: int = 1,
    batch_size: int = 512,
    engine: str = "local",
    address: str | None = None,
) -> Iterator[ScanBatch]:
    """What `data scan` tallies: one ScanBatch per input batch (Ray: per shard), in input order."""
    yield from _per_batch(reader, config, workers, batch_size, engine, address, as_batch=True)


def _per_batch(reader: DatasetReader, config: ProcessConfig, workers: int, batch_size: int, engine: str,
               address: str | None, as_batch: bool) -> Iterator[Any]:
    """Each batch's outcomes (or, with `as_batch`, their ScanBatch), in input order, on the chosen engine."""
    if engine == "ray":
        from .ray_engine import iter_shard_results

        yield from iter_shard_results(reader, config, workers, batch_size, address, as_batch)
        return
    if engine != "local":
        raise UserError(f"--engine {engine}: unknown engine (use {' or '.join(ENGINES)})")
    if workers <= 1:
        processor = RecordProcessor(config)
        for batch in reader.batches(batch_size):
            yield _batch_result(processor, batch, as_batch)
        return
    task = run_scan_batch if as_batch else run_batch
    if config.ner_backend:
        # A loaded NER model runs threads (torch, OpenMP) that a process forked afterwards cannot use safely,
        # and a later scan in this process would fork its pool from here: this process takes no batches.
        yield from run_pooled(reader, config, workers, batch_size, task, None)
        return
    own: list[RecordProcessor] = []

    def here(batch: Batch) -> Any:
        if not own:  # at the first batch this process takes, after the pool processes were forked
            own.append(RecordProcessor(config))
        return _batch_result(own[0], batch, as_batch)

    yield from run_pooled(reader, config, workers, batch_size, task, here)


def _batch_result(processor: RecordProcessor, batch: Batch, as_batch: bool) -> Any:
    """A batch's outcomes in this process, or with `as_batch` their ScanBatch (what the pool's task gives)."""
    outcomes = processor.run(items_of(batch))
    return summarize(outcomes) if as_batch else outcomes


@dataclass
class Tally:
    """Everything a run accumulates in input order: findings, counts, duplicates and tuning examples."""

    policy: DataPolicy
    selection: CheckSelection
    strict: bool = False
    path: str = ""
    keep_findings: int = MAX_KEPT_FINDINGS
    records: int = 0
    parsed: int = 0
    bytes: int = 0
    findings: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False
    by_check: Counter = field(default_factory=Counter)
    by_severity: Counter = field(default_factory=Counter)
    entities: Counter = field(default_factory=Counter)
    examples: ExampleSet = field(default_factory=ExampleSet)
    poison_findings: list[dict[str, Any]] = field(default_factory=list)
    gate_count: int = 0

    def __post_init__(self) -> None:
        near = self.policy.near_duplicate_threshold if "near_duplicate" in self.selection.clean else None
        self.dups = DuplicateIndex(near)
        self.fail_at = Severity(self.policy.fail_severity)
        # severity value -> counts toward the gate; an Enum lookup per finding showed up in profiles
        self._gates: dict[str, bool] = {s.value: s.at_least(self.fail_at) for s in Severity}

    def add(self, out: Outcome) -> list[str]:
        """Tally one outcome; returns the corpus-level problems (duplicate kinds) of this record."""
        self.records += 1
        self.bytes += out.nbytes
        if self.strict and STRICT_ISSUES.intersection(out.issues):
            self._strict_error(out.line, out.issues[-1])
        extra: list[str] = []
        if out.parsed:
            self.parsed += 1
            dup = self._duplicate(out.line, out.dup_key, out.minhash)
            if dup is not None:
                extra.append(dup["check"].removeprefix("data.clean."))
                out.findings.append(dup)
            if out.example is not None:
                self.examples.add_joined(out.line, *out.example)
        for f in out.findings:
            self.finding(f)
        self.entities.update(out.entities)
        return extra

    def add_batch(self, batch: ScanBatch) -> None:
        """Tally a whole batch: the same totals, findings and duplicate reports as `add` on its outcomes."""
        self.records += batch.records
        self.bytes += batch.nbytes
        self.parsed += batch.parsed
        if self.strict and batch.strict_error is not None:
            self._strict_error(*batch.strict_error)
        extra = self._duplicates(batch) if batch.dup_lines else []
        if batch.examples is not None:
            self.examples.add_batch(batch.examples)
        self.entities.update(batch.entities)
        self.by_check.update(batch.by_check)
        self.by_severity.update(batch.by_severity)
        for severity, count in batch.by_severity.items():
            if self._gate(severity):
                self.gate_count += count
        findings = _merge_by_line(batch.findings, extra) if extra else batch.findings
        room = self.keep_findings - len(self.findings)
        for f in extra:  # counted here; kept (or not) in input order below
            self.by_check[f["check"]] += 1
            self.by_severity[f["severity"]] += 1
            self.gate_count += self._gate(f["severity"])
        if len(findings) > room:
            self.truncated = True
            findings = findings[:max(room, 0)]
        self.findings.extend(findings)

    def _duplicates(self, batch: ScanBatch) -> list[dict[str, Any]]:
        sigs = batch.signatures
        found = (
            self._duplicate(line, key, None if sigs is None else sigs[i])
            for i, (line, key) in enumerate(zip(batch.dup_lines, batch.dup_keys, strict=True))
        )
        return [f for f in found if f is not None]

    def _duplicate(self, line: int, key: int | None, signature: Any) -> dict[str, Any] | None:
        """The duplicate finding of one parsed record, or None; the record joins the indexes either way.
        An exact duplicate is not also checked for near duplicates."""
        first = self.dups.exact(key, line) if key is not None else None
        if first is not None:
            return clean_finding(line, "exact_duplicate", f"duplicate of line {first}")
        first = self.dups.near(signature, line) if signature is not None else None
        if first is not None:
            return clean_finding(line, "near_duplicate", f"near-duplicate of line {first}")
        return None

    def _strict_error(self, line: int, issue: str) -> None:
        raise UserError(f"{self.path}:{line}: {issue.replace('_', ' ')} (--strict)")

    def _gate(self, severity: str) -> bool:
        gate = self._gates.get(severity)
        if gate is None:
            gate = self._gates[severity] = Severity(severity).at_least(self.fail_at)
        return gate

    def finding(self, f: dict[str, Any], always_keep: bool = False) -> None:
        self.by_check[f["check"]] += 1
        self.by_severity[f["severity"]] += 1
        if self._gate(f["severity"]):
            self.gate_count += 1
        if always_keep or len(self.findings) < self.keep_findings:
            self.findings.append(f)
        else:
            self.truncated = True

    def run_poisoning(self, threads: int = 1) -> str:
        """Call the poisoning scanner (issue 8) on the collected tuning examples; findings join the gate.
        `threads`: the run's worker count, which the statistics may use once the records are done."""

        if not self.selection.run_poison:
            return "not selected"
        try:
            from .poison import scan_poisoning
        except ImportError:
            return "unavailable (tuneguard.data.poison not installed)"
        examples = self.examples
        if not examples:
            return "no tuning records"
        found = scan_poisoning(
            examples, set(self.selection.poison) if self.selection.poison else None, threads=threads
        )
        for pf in found:
            d = pf.to_dict()
            lines = (d.get("evidence") or {}).get("example_lines") or []
            finding = {
                "line": d.get("line", lines[0] if lines else None),
                "field": None,
                "start": None,
                "end": None,
                "entity": None,
                "recognizer": "poison",
                **d,
                "severity": Severity(d["severity"]).value,
                "score": round(float(d.get("score", 0)), 3),
            }
            # A handful per dataset, and the trigger report feeds the backdoor probes: never capped away.
            self.finding(finding, always_keep=True)
            self.poison_findings.append(finding)
        return f"ran on {len(examples)} examples"

    def verdict(self) -> str:
        return "fail" if self.gate_count > self.policy.max_findings else "pass"


def _merge_by_line(findings: list[dict[str, Any]], extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Both lists are in line order; a record's duplicate finding goes after its other findings (as `add`
    appends it to the record's own)."""
    out: list[dict[str, Any]] = []
    j = 0
    for f in findings:
        while j < len(extra) and extra[j]["line"] < f["line"]:
            out.append(extra[j])
            j += 1
        out.append(f)
    out.extend(extra[j:])
    return out


def report_engine(config: ProcessConfig) -> PiiEngine | None:
    """The engine whose capabilities and matcher a report states (the same entities and matcher as the run;
    NER is described separately, so none is loaded here)."""
    if not config.entities:
        return None
    return PiiEngine(config.entities, ner_backend=None, use_hyperscan=config.use_hyperscan)


def stats(tally: Tally, engine: PiiEngine | None, seconds: float, workers: int) -> dict[str, Any]:
    seconds = max(seconds, 1e-9)
    return {
        "records": tally.records,
        "parsed": tally.parsed,
        "bytes": tally.bytes,
        "seconds": round(seconds, 3),
        "records_per_s": round(tally.records / seconds, 1),
        "mb_per_s": round(tally.bytes / seconds / 1e6, 2),
        "workers": workers,
        "findings": sum(tally.by_check.values()),
        "findings_kept": len(tally.findings),
        "findings_truncated": tally.truncated,
        "by_check": dict(sorted(tally.by_check.items())),
        # most severe first, whatever order batches and shards counted them in
        "by_severity": dict(sorted(tally.by_severity.items(), key=lambda kv: -Severity(kv[0]).rank)),
        "entities": dict(sorted(tally.entities.items())),
        "checks": tally.selection.names(),
        "capabilities": engine.capabilities() if engine is not None else {"can": {}, "cannot": {}},
        "gate": {
            "fail_severity": tally.policy.fail_severity,
            "max_findings": tally.policy.max_findings,
            "counted": tally.gate_count,
            "verdict": tally.verdict(),
        },
    }


def scan_dataset(
    path: str,
    policy: DataPolicy,
    selection: CheckSelection,
    *,
    workers: int = 1,
    strict: bool = False,
    on_progress: ProgressFn | None = None,
    use_hyperscan: bool = True,
    keep_findings: int = MAX_KEPT_FINDINGS,
    engine: str = "local",
    address: str | None = None,
) -> dict[str, Any]:
    """Scan every string field of every record; returns `{"findings": [...], "stats": {...}}`."""
    started = time.perf_counter()
    reader = DatasetReader(path)
    config = process_config(policy, selection, "scan", use_hyperscan)
    tally = Tally(policy, selection, strict=strict, path=str(path), keep_findings=keep_findings)
    with FrozenAsItGrows() as heap:
        for batch in iter_scan_batches(reader, config, workers, engine=engine, address=address):
            tally.add_batch(batch)
            heap.settle()
            if on_progress is not None:
                on_progress(tally.records, reader.bytes_read, reader.size)
        if on_progress is not None:
            on_progress(tally.records, reader.size, reader.size)
        tally.bytes = tally.bytes or reader.size  # CSV/Parquet rows have no line bytes: use the file size
        seconds = time.perf_counter() - started
        poison_started = time.perf_counter()
        poison = tally.run_poisoning(threads=workers)
    pii = report_engine(config)
    result_stats = stats(tally, pii, seconds, workers)
    result_stats["engine"] = engine
    result_stats["poison"] = poison
    result_stats["poison_seconds"] = round(time.perf_counter() - poison_started, 3)
    result_stats["format"] = reader.format.kind + (
        f"+{reader.format.compression}" if reader.format.compression else ""
    )
    result_stats["matcher"] = pii.backend if pii else None
    if policy.ner_backend and pii is not None:
        caps = result_stats["capabilities"]
        for entity in ("PERSON", "LOCATION"):
            if entity in config.entities:
                caps["can"][entity] = f"ner ({policy.ner_backend}) + cues"
                caps["cannot"].pop(f"{entity} (free text)", None)
    return {"findings": tally.findings, "stats": result_stats}
