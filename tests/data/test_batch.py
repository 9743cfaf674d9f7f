"""`data scan` tallies whole batches (ScanBatch): the same counts, findings in the same order, the same
duplicate reports, cap and --strict error as tallying one outcome per record; batches survive pickling."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from tuneguard.core import UserError
from tuneguard.core.policy import DataPolicy
from tuneguard.data.batch import summarize
from tuneguard.data.checks import parse_checks
from tuneguard.data.pipeline import Tally, process_config, scan_dataset
from tuneguard.data.process import RecordProcessor
from tuneguard.data.records import DatasetReader


def _mixed_corpus(chat_jsonl: Path, tmp_path: Path) -> Path:
    lines = chat_jsonl.read_text("utf-8").splitlines()
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        if i % 7 == 0:
            out.append(line)  # exact duplicate
        elif i % 11 == 0:
            record = json.loads(line)
            record["extra"] = "one more field"
            out.append(json.dumps(record, ensure_ascii=False))  # near duplicate
        elif i % 29 == 0:
            out.append("{not json")
        elif i % 31 == 0:
            out.append("")
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(out) + "\n", "utf-8")
    return path


def _state(t: Tally) -> tuple:
    return (t.records, t.parsed, t.bytes, t.findings, t.truncated, dict(t.by_check), dict(t.by_severity),
            dict(t.entities), t.examples, t.gate_count)


@pytest.mark.parametrize("checks,keep,batch", [([], 200_000, 64), (["pii,secrets"], 200_000, 50),
                                               ([], 150, 64), ([], 150, 1)])
def test_batches_tally_like_single_outcomes(chat_jsonl: Path, tmp_path: Path, checks, keep, batch) -> None:
    path = _mixed_corpus(chat_jsonl, tmp_path)
    selection = parse_checks(checks)
    processor = RecordProcessor(process_config(DataPolicy(), selection, "scan"))
    outcomes = processor.run(list(DatasetReader(path)))
    one, many = (Tally(DataPolicy(), selection, keep_findings=keep) for _ in range(2))
    # a copy: `add` appends duplicate findings to the outcome it tallies
    for out in pickle.loads(pickle.dumps(outcomes)):
        one.add(out)
    for lo in range(0, len(outcomes), batch):
        many.add_batch(pickle.loads(pickle.dumps(summarize(outcomes[lo:lo + batch]))))
    assert _state(many) == _state(one)
    if not checks:
        kinds = {f["check"] for f in one.findings} | set(one.by_check)
        expected = {"data.clean.exact_duplicate", "data.clean.near_duplicate", "data.clean.malformed_json"}
        assert expected <= kinds
    if keep == 150:
        assert many.truncated and len(many.findings) == 150


def test_batch_pickle_keeps_signatures_and_keys(chat_jsonl: Path) -> None:
    processor = RecordProcessor(process_config(DataPolicy(), parse_checks([]), "scan"))
    batch = summarize(processor.run(list(DatasetReader(chat_jsonl))[:40]))
    assert batch.signatures is not None and batch.signatures.shape[0] == len(batch.dup_lines) == 40
    back = pickle.loads(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
    assert back.signatures.dtype == batch.signatures.dtype
    assert np.array_equal(back.signatures, batch.signatures)
    assert {k: v for k, v in vars(back).items() if k != "signatures"} == \
        {k: v for k, v in vars(batch).items() if k != "signatures"}


def test_strict_stops_at_the_first_bad_line_with_workers(chat_jsonl: Path, tmp_path: Path) -> None:
    path = _mixed_corpus(chat_jsonl, tmp_path)
    lines = path.read_text("utf-8").splitlines()
    first_bad = next(i for i, line in enumerate(lines, 1) if line == "{not json")
    for workers in (1, 2):
        with pytest.raises(UserError, match=rf"mixed.jsonl:{first_bad}: malformed json"):
            scan_dataset(str(path), DataPolicy(), parse_checks([]), workers=workers, strict=True)
