"""Per-record outcomes cross process boundaries (pool and Ray workers): pickling must keep every field."""
from __future__ import annotations

import pickle
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tuneguard.core.policy import DataPolicy
from tuneguard.data.checks import parse_checks
from tuneguard.data.pipeline import process_config
from tuneguard.data.process import RecordProcessor
from tuneguard.data.records import DatasetReader


@pytest.mark.parametrize("mode", ["scan", "sanitize"])
def test_outcomes_survive_pickling(mode: str, chat_jsonl: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TUNEGUARD_HOME", str(tmp_path / "home"))
    with chat_jsonl.open("ab") as fh:
        fh.write(b"{not json\n")
    outs = RecordProcessor(process_config(DataPolicy(), parse_checks([]), mode)).run(
        list(DatasetReader(chat_jsonl)))
    assert any(o.findings for o in outs) and any(o.example for o in outs) and any(o.issues for o in outs)
    back = pickle.loads(pickle.dumps(outs, protocol=pickle.HIGHEST_PROTOCOL))
    assert len(back) == len(outs)
    for a, b in zip(outs, back, strict=True):
        assert isinstance(b.entities, Counter) and isinstance(b.entities_after, Counter)
        assert (a.minhash is None) == (b.minhash is None)
        if a.minhash is not None:
            assert b.minhash.dtype == a.minhash.dtype and np.array_equal(a.minhash, b.minhash)
        fields = {k: v for k, v in vars(a).items() if k != "minhash"}
        assert fields == {k: v for k, v in vars(b).items() if k != "minhash"}


def test_raw_items_survive_pickling(tmp_path: Path) -> None:
    from tuneguard.data.records import RawItem

    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("text,label\nhello,1\n", encoding="utf-8")
    items = [RawItem(1, b'{"text": "a"}'), RawItem(2, None, {"text": "b", "n": [1, 2]}), RawItem(3),
             *DatasetReader(csv_file)]
    back = pickle.loads(pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == items and all(type(b) is RawItem for b in back)
