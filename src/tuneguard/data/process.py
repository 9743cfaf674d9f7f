"""Per-record work, run in worker processes: parse, detect, clean, anonymize and re-scan a batch."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .anonymize import Anonymizer, RecordState, mask_preview
from .clean import (
    CLEAN_SEVERITY,
    MINHASH_DTYPE,
    content_key,
    minhash_batch,
    record_problems,
    strip_controls,
)
from .fields import iter_strings, map_strings, prompt_response, string_fields
from .pii.engine import PiiEngine
from .pii.spans import ENTITY_FACTS, PiiSpan
from .poison.text import tokens
from .records import Batch, RawItem, items_of, parse_item


@dataclass(frozen=True)
class ProcessConfig:
    mode: str = "scan"  # scan | sanitize
    entities: frozenset[str] = frozenset()
    clean: frozenset[str] = frozenset()
    min_score: float = 0.5
    max_record_chars: int = 100_000
    near_duplicates: bool = False
    examples: bool = False
    default_operator: str = "placeholder"
    operators: tuple[tuple[str, str], ...] = ()
    ner_backend: str | None = None
    use_hyperscan: bool = True


# An empty Counter without running Counter.__init__ (a Python-level update call): two per record, and
# measurable on the per-record path. dict.__new__ alone leaves a complete, empty Counter.
_new_counter = functools.partial(Counter.__new__, Counter)


@dataclass
class Outcome:
    line: int
    nbytes: int
    parsed: bool = False
    record: dict[str, Any] | None = None
    issues: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    entities: Counter = field(default_factory=_new_counter)
    dup_key: int | None = None
    minhash: Any = None
    example: tuple[str, str, str, str] | None = None  # prompt, response, their tokens joined by spaces
    # sanitize only
    raw: bytes | None = None  # the unchanged JSONL line, written verbatim
    out_record: dict[str, Any] | None = None
    changed: bool = False
    drop: str | None = None
    residual: list[dict[str, Any]] = field(default_factory=list)
    entities_after: Counter = field(default_factory=_new_counter)

    def __reduce__(self) -> tuple:
        # Outcomes cross a process boundary per record (pool and Ray workers -> driver). The default pickle
        # of a 16-field dataclass with two Counters and a numpy array cost ~80 us per record, both sides
        # together; a flat tuple with plain dicts and the signature's bytes costs about half.
        return _restore_outcome, (
            self.line, self.nbytes, self.parsed, self.record, self.issues, self.findings,
            dict(self.entities) or None, self.dup_key,
            None if self.minhash is None else self.minhash.tobytes(), self.example, self.raw,
            self.out_record, self.changed, self.drop, self.residual, dict(self.entities_after) or None,
        )


def _restore_outcome(line, nbytes, parsed, record, issues, findings, entities, dup_key, minhash, example,
                     raw, out_record, changed, drop, residual, entities_after) -> Outcome:
    if minhash is not None:
        import numpy as np

        minhash = np.frombuffer(minhash, dtype=MINHASH_DTYPE)
    return Outcome(line, nbytes, parsed, record, issues, findings, Counter(entities or ()), dup_key, minhash,
                   example, raw, out_record, changed, drop, residual, Counter(entities_after or ()))


def clean_finding(line: int, check: str, message: str, fieldpath: str | None = None) -> dict[str, Any]:
    return {
        "line": line,
        "field": fieldpath,
        "start": None,
        "end": None,
        "entity": None,
        "severity": CLEAN_SEVERITY[check],
        "score": 1.0,
        "recognizer": "clean",
        "check": f"data.clean.{check}",
        "message": message,
    }


def pii_finding(line: int, path: str, span: PiiSpan, value: str) -> dict[str, Any]:
    entity = span.entity
    _, severity, check = ENTITY_FACTS[entity]
    return {
        "line": line,
        "field": path,
        "start": span.start,
        "end": span.end,
        "entity": entity,
        "severity": severity,
        "score": round(span.score, 3),
        "recognizer": span.recognizer,
        "check": check,
        "preview": mask_preview(value, entity),
        "message": f"{entity} in {path}",
    }


class RecordProcessor:
    def __init__(self, config: ProcessConfig) -> None:
        self.config = config
        self.engine = (
            PiiEngine(
                config.entities,
                min_score=config.min_score,
                ner_backend=config.ner_backend,
                use_hyperscan=config.use_hyperscan,
            )
            if config.entities
            else None
        )
        self._record_checks = bool(
            {"empty_record", "overlong_record", "broken_chat", "control_chars"} & set(config.clean))
        # Workers (local or on Ray nodes) only read the keys sanitize created up front: a node that cannot
        # see them must fail, not mint its own and pseudonymize differently from the rest.
        self._walks = self._record_checks or self.engine is not None or bool(config.near_duplicates)
        self.anonymizer = (
            Anonymizer(config.default_operator, dict(config.operators), create_keys=False)
            if config.mode == "sanitize"
            else None
        )

    def reset_memos(self) -> None:
        """Forget the values remembered so far (memo tables of the recognizers): a new scan starts here."""
        if self.engine is not None:
            self.engine.reset_memos()

    def run(self, items: list[RawItem]) -> list[Outcome]:
        near: list[tuple[Outcome, str]] | None = [] if self.config.near_duplicates else None
        outcomes = [self._one(item, near) for item in items]
        if near:
            for (out, _), signature in zip(near, minhash_batch([text for _, text in near]), strict=True):
                out.minhash = signature
        return outcomes

    def _one(self, item: RawItem, near: list[tuple[Outcome, str]] | None) -> Outcome:
        """The outcome of one record, but its MinHash signature: the record's near-duplicate text is appended
        to `near`, and `run` computes the batch's signatures at once."""
        cfg = self.config
        nbytes = len(item.raw) + 1 if item.raw is not None else 0
        record, issues = parse_item(item)
        self._raw = item.raw
        out = Outcome(item.line, nbytes, issues=issues)
        for issue in issues:
            check = "malformed_json" if issue in ("malformed_json", "not_an_object") else issue
            if check in cfg.clean or check in ("malformed_json", "blank_line"):
                out.findings.append(clean_finding(item.line, check, _ISSUE_TEXT[issue]))
        if record is None:
            return out
        out.parsed = True
        if cfg.mode == "sanitize":
            out.record = record
        # One walk over the record's strings serves the cleaning checks, PII and the near-duplicate text.
        fields = string_fields(record) if self._walks else []
        if self._record_checks:
            strings = [t for _, t in fields]
            for check, message in record_problems(record, cfg.max_record_chars, strings):
                if check in cfg.clean:
                    out.findings.append(clean_finding(item.line, check, message))
        spans_by_path: dict[str, list[PiiSpan]] = {}
        if self.engine is not None:
            # One matcher pass per field: measured faster than one pass over the joined record, where every
            # field then runs every pattern that fired anywhere in the record.
            find, line, findings, entities = self.engine.find, item.line, out.findings, out.entities
            for path, text in fields:
                spans = find(text)
                if spans:
                    spans_by_path[path] = spans
                    for s in spans:
                        findings.append(pii_finding(line, path, s, text[s.start : s.end]))
                        entities[s.entity] += 1
        if "exact_duplicate" in cfg.clean:
            out.dup_key = content_key(record)
        if near is not None:
            near.append((out, "\n".join(t for _, t in fields)))
        if cfg.examples:
            pair = prompt_response(record)
            # Tokenized here, per record, so with --workers or --engine ray this part of the poisoning scan
            # runs in parallel instead of on the driver after all records are read. Joined by spaces (no token
            # holds whitespace): one string crosses the process boundary far cheaper than a list of ~100.
            if pair is not None:
                out.example = (*pair, " ".join(tokens(pair[0])), " ".join(tokens(pair[1])))
        if self.anonymizer is not None:
            self._sanitize(out, record, spans_by_path, repaired="invalid_utf8" in issues)
        return out

    def _sanitize(
        self, out: Outcome, record: dict[str, Any], spans_by_path: dict[str, list[PiiSpan]], repaired: bool
    ) -> None:
        state = RecordState()
        strip = "control_chars" in self.config.clean

        applied: set[str] = set()

        def apply(path: str, text: str) -> str:
            spans = spans_by_path.get(path)
            if spans:
                applied.add(path)
            new = self.anonymizer.apply(text, spans, state) if spans else text
            return strip_controls(new) if strip else new

        new_record = map_strings(record, apply) if (spans_by_path or strip) else record
        if len(applied) != len(spans_by_path):
            # Detection and rewriting name fields by the same paths; a mismatch would write a value that
            # was found but never replaced. Stop instead of publishing it.
            missed = sorted(set(spans_by_path) - applied)
            raise RuntimeError(f"line {out.line}: detected fields not rewritten: {missed}")
        out.drop = f"pii:{state.drop}" if state.drop else None
        out.changed = repaired or new_record != record
        out.out_record = new_record
        if not out.changed and not out.drop:
            out.raw = self._raw
        if self.engine is None or out.drop:
            return
        keep = {e for e, op in self.config.operators if op == "keep"} | (
            set(self.engine.entities) if self.config.default_operator == "keep" else set()
        )
        for path, text in iter_strings(new_record) if out.changed else ():
            for s in self.engine.find(text):
                value = text[s.start : s.end]
                if value in state.inserted or any(value in ins for ins in state.inserted):
                    continue  # our own placeholder, pseudonym or token, not residual PII
                out.entities_after[s.entity] += 1
                if s.entity not in keep:
                    out.residual.append(pii_finding(out.line, path, s, value))
        if not out.changed:
            out.entities_after = out.entities.copy()
            for path, spans in spans_by_path.items():
                text = _get_path(record, path)
                out.residual.extend(
                    pii_finding(out.line, path, s, text[s.start : s.end])
                    for s in spans
                    if s.entity not in keep
                )


def _get_path(record: dict[str, Any], path: str) -> str:
    for p, s in iter_strings(record):
        if p == path:
            return s
    return ""


_ISSUE_TEXT = {
    "malformed_json": "line is not valid JSON",
    "not_an_object": "line is JSON but not an object",
    "invalid_utf8": "line is not valid UTF-8 (invalid bytes replaced with U+FFFD)",
    "blank_line": "blank line",
}

# Per-process state for pool workers: built once by `init_worker`, never shared across processes.
_WORKER: RecordProcessor | None = None


def init_worker(config: ProcessConfig) -> None:
    """Pool initializer: build this process's processor, unless the parent built it for this pool just
    before forking (`prepare_fork`)."""
    global _WORKER
    if _WORKER is None or _WORKER.config != config:
        _WORKER = RecordProcessor(config)


def prepare_fork(config: ProcessConfig) -> bool:
    """In the parent, right before forking a pool: build the processor the workers will inherit (compiled
    patterns, Hyperscan database). Always a fresh one, since keys and home are read when it is built. Not
    with an NER model: a model whose threads started before fork can hang the children; they load it
    themselves. Returns whether a processor was built (release it with `release_fork`)."""
    global _WORKER
    if config.ner_backend:
        _WORKER = None
        return False
    _WORKER = RecordProcessor(config)
    return True


def release_fork() -> None:
    global _WORKER
    _WORKER = None


def run_batch(batch: Batch) -> list[Outcome]:
    assert _WORKER is not None, "init_worker was not called in this process"
    return _WORKER.run(items_of(batch))


def run_scan_batch(batch: Batch):  # -> batch.ScanBatch (imported here to keep the import graph flat)
    from .batch import summarize

    return summarize(run_batch(batch))
