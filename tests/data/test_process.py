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
from tuneguard.data.records import DatasetReader, items_of


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


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".csv"])
@pytest.mark.parametrize("size", [1, 2, 512])
def test_batches_hold_the_items_of_iteration(suffix: str, size: int, tmp_path: Path) -> None:
    """What workers receive (`batches`, JSON Lines as LineBatch) expands to exactly the items that iterating
    the reader gives: same line numbers and bytes, with CRLF endings, blank lines, a line of only "\\r", bytes
    that are not UTF-8 and a last line without a newline."""
    import gzip

    from tuneguard.data.records import LineBatch

    path = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        path.write_text("text,label\nhello,1\n\"two\nlines\",2\n,3\n", encoding="utf-8")
    else:
        data = b'{"a": 1}\r\n\n{"b": "x"}\n\r\n\xff\xfe{"c"\n{"d": 2}\r\r\n   \n{"e": 3}'
        path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    expected = list(DatasetReader(path))
    batches = list(DatasetReader(path).batches(size))
    assert [item for b in batches for item in items_of(b)] == expected
    assert all(len(b) <= size for b in batches) and len(batches) == -(-len(expected) // size)
    if suffix != ".csv":
        assert len(expected) == 8 and all(type(b) is LineBatch for b in batches)
        back = pickle.loads(pickle.dumps(batches, protocol=pickle.HIGHEST_PROTOCOL))
        assert [items_of(b) for b in back] == [items_of(b) for b in batches]


def test_batches_refuse_a_json_array(tmp_path: Path) -> None:
    from tuneguard.core import UserError

    path = tmp_path / "array.jsonl"
    path.write_text('[{"a": 1}]\n', encoding="utf-8")
    with pytest.raises(UserError, match="JSON array"):
        list(DatasetReader(path).batches(4))
