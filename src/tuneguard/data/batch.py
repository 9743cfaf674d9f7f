"""One batch of `data scan` results in the form the tally consumes: counts summed per batch, findings in
input order, and per record only what the corpus-wide checks need (duplicate keys, MinHash signatures,
tuning examples).

Pool workers return this instead of one `Outcome` per record. The parent process reads the input and
merges every batch, so its work per record bounds how many workers can be kept busy: unpickling an
Outcome and tallying it cost ~30 us per record there (bench/RESULTS.md "## data"), a ceiling of ~15 MB/s
whatever the number of cores; a batch leaves the parent the reading, the findings list and the duplicate
indexes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .clean import MINHASH_DTYPE
from .poison.collect import ExampleBatch
from .process import Outcome

if TYPE_CHECKING:
    import numpy as np

# Issues that `--strict` stops at (the first one in input order).
STRICT_ISSUES = frozenset({"malformed_json", "not_an_object", "invalid_utf8"})


@dataclass
class ScanBatch:
    records: int = 0
    parsed: int = 0
    nbytes: int = 0
    findings: list[dict[str, Any]] = field(default_factory=list)  # in input order, each with its "line"
    by_check: dict[str, int] = field(default_factory=dict)
    by_severity: dict[str, int] = field(default_factory=dict)
    entities: dict[str, int] = field(default_factory=dict)
    strict_error: tuple[int, str] | None = None  # (line, issue) of the first record --strict rejects
    # Parsed records that carry a duplicate key or a MinHash signature, in input order: the line, the key
    # (None when exact duplicates are off) and a row of `signatures` (when near duplicates are on).
    dup_lines: list[int] = field(default_factory=list)
    dup_keys: list[int | None] = field(default_factory=list)
    signatures: np.ndarray | None = None  # numpy is imported only when signatures exist (~11 MB, 0.1 s)
    examples: ExampleBatch | None = None  # tuning examples, when the poisoning checks run

    def __reduce__(self) -> tuple:
        sig = None if self.signatures is None else (self.signatures.tobytes(), self.signatures.shape)
        return _restore, (self.records, self.parsed, self.nbytes, self.findings, self.by_check,
                          self.by_severity, self.entities, self.strict_error, self.dup_lines, self.dup_keys,
                          sig, self.examples)


def _restore(records, parsed, nbytes, findings, by_check, by_severity, entities, strict_error, dup_lines,
             dup_keys, sig, examples) -> ScanBatch:
    signatures = None
    if sig is not None:
        import numpy as np

        signatures = np.frombuffer(sig[0], dtype=MINHASH_DTYPE).reshape(sig[1])
    return ScanBatch(records, parsed, nbytes, findings, by_check, by_severity, entities, strict_error,
                     dup_lines, dup_keys, signatures, examples)


def summarize(outcomes: list[Outcome]) -> ScanBatch:
    """The batch form of a list of scan outcomes (input order kept)."""
    batch = ScanBatch(records=len(outcomes))
    findings, entities, sigs, examples = batch.findings, Counter(), [], []
    for out in outcomes:
        batch.nbytes += out.nbytes
        if batch.strict_error is None and STRICT_ISSUES.intersection(out.issues):
            batch.strict_error = (out.line, out.issues[-1])
        if out.parsed:
            batch.parsed += 1
            if out.dup_key is not None or out.minhash is not None:
                batch.dup_lines.append(out.line)
                batch.dup_keys.append(out.dup_key)
                if out.minhash is not None:
                    sigs.append(out.minhash)
            if out.example is not None:
                examples.append((out.line, *out.example))
        if out.findings:
            findings.extend(out.findings)
        if out.entities:
            entities.update(out.entities)
    if examples:
        # Facts always: four of the five default poisoning checks read them, and a selection of only the
        # others (label flips, embedding outliers) wastes ~12-14 us per record, in the workers.
        batch.examples = ExampleBatch.of(examples)
    batch.entities = dict(entities)
    batch.by_check = dict(Counter(f["check"] for f in findings))
    batch.by_severity = dict(Counter(f["severity"] for f in findings))
    if sigs:
        if len(sigs) != len(batch.dup_lines):  # signatures are all-or-nothing per run (one config)
            raise ValueError("MinHash signatures missing for some parsed records")
        import numpy as np

        batch.signatures = np.stack(sigs)
    return batch

