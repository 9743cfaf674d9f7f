"""How the Ray engine cuts its input into shards (pure functions: no Ray instance needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuneguard.data.ray_engine import MAX_SHARD_BYTES, _shards, input_shard_bytes, shard_bytes
from tuneguard.data.records import DatasetReader, LineBatch, items_of


@pytest.mark.parametrize("size", [1, 10_000, 1_000_000, 10_000_000, 100_000_000, 3_000_000_000])
@pytest.mark.parametrize("workers", [1, 2, 3, 16])
def test_shards_are_bounded_and_spread_evenly(size: int, workers: int) -> None:
    per = shard_bytes(size, workers)
    assert 1 <= per <= MAX_SHARD_BYTES
    shards = -(-size // per)
    rounds = max(1, -(-size // (workers * MAX_SHARD_BYTES)))  # the fewest the size cap allows
    assert -(-shards // workers) == rounds
    if size >= 1000 * workers:  # every worker gets the same number of shards
        assert shards == rounds * workers


def test_a_ten_megabyte_file_gives_each_of_two_workers_three_shards() -> None:
    # the case the benchmark showed: 10 MB at <= 2 MiB per shard used to make 5 shards for 2 workers
    per = shard_bytes(10_000_000, 2)
    assert -(-10_000_000 // per) == 6


@pytest.mark.parametrize("record_bytes", [120, 476, 700, 1500])
@pytest.mark.parametrize("workers", [2, 3])
def test_cut_batches_make_a_multiple_of_the_workers(record_bytes: int, workers: int) -> None:
    """The cut itself, on 512-line batches of records of several sizes: the shards' overruns (a shard holds
    whole batches) must not add up to a missing or an extra shard."""
    lines_per_batch, total = 512, 10_000_000
    line = b"x" * (record_bytes - 1)
    count = total // record_bytes
    batches = [LineBatch(i + 1, [line] * min(lines_per_batch, count - i))
               for i in range(0, count, lines_per_batch)]
    size = sum(len(b) * record_bytes for b in batches)
    shards = list(_shards(iter(batches), 8, shard_bytes(size, workers)))
    assert [b for s in shards for b in s] == batches
    if lines_per_batch * record_bytes * 2 <= shard_bytes(size, workers):  # batches well below a shard
        assert len(shards) % workers == 0, [sum(len(b) for b in s) for s in shards]
    assert all(len(s) <= 8 for s in shards)


def test_shards_keep_every_batch_in_order(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(b'{"text": "%s"}\n' % (b"x" * (i % 50)) for i in range(1000)))
    batches = list(DatasetReader(path).batches(16))
    shards = list(_shards(iter(batches), 8, 2_000))
    assert [b for s in shards for b in s] == batches
    assert all(len(s) <= 8 for s in shards)
    ends, total = [], 0
    for shard in shards:
        total += sum(len(line) + 1 for b in shard for line in b.lines)
        ends.append(total)
    # each shard but the last ends past the next multiple of 2,000 bytes (or at the 8-batch cap)
    boundary = 2_000
    for end, shard in zip(ends[:-1], shards[:-1], strict=True):
        assert end >= boundary or len(shard) == 8
        while boundary <= end:
            boundary += 2_000
    lines = [item.line for s in shards for b in s for item in items_of(b)]
    assert lines == list(range(1, 1001))


def test_a_compressed_file_gets_full_size_shards(tmp_path: Path) -> None:
    import gzip

    data = b"".join(b'{"text": "record %d"}\n' % i for i in range(50_000))
    plain, packed = tmp_path / "in.jsonl", tmp_path / "in.jsonl.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    assert input_shard_bytes(DatasetReader(plain), 2) == shard_bytes(len(data), 2) < MAX_SHARD_BYTES
    # the .gz is a fraction of what it holds: sizing by it would cut many tiny shards
    assert input_shard_bytes(DatasetReader(packed), 2) == MAX_SHARD_BYTES


def test_a_worker_keeps_its_processor_and_starts_each_scan_with_empty_memos(monkeypatch) -> None:
    """A Ray worker builds its processor once per config (recognizers, NER model) and keeps it across
    tasks and scans; a new scan clears its memo tables, as the local engine starts each scan with empty
    ones, while tasks of the same scan keep them."""
    import pickle

    import pyarrow as pa

    from tuneguard.core.policy import DataPolicy
    from tuneguard.data import ray_engine
    from tuneguard.data.checks import parse_checks
    from tuneguard.data.pipeline import process_config
    from tuneguard.data.records import RawItem

    monkeypatch.setattr(ray_engine, "_PROCESSORS", {})
    monkeypatch.setattr(ray_engine, "_SCANS", {})
    config = process_config(DataPolicy(), parse_checks(["pii"]), "scan")
    text = "call (415) 555-0132 or +44 20 7946 0958 about order 2024-05-01, all of it before the weekend"
    shard = pickle.dumps([[RawItem(1, b'{"text": "' + text.encode() + b'"}')]])
    table = pa.table({"shard": [0], "items": pa.array([shard], type=pa.binary())})

    def scan_shard(scan: str):
        result = ray_engine._process_shards(table, config, True, scan)
        assert pickle.loads(result.column("outcomes")[0].as_py()).entities == {"PHONE_NUMBER": 2}
        processor = ray_engine._PROCESSORS[config]
        phone = next(r for r in processor.engine.recognizers if r.name == "phone")
        return processor, phone._verdict.cache_info()

    first, info = scan_shard("scan-1")
    assert info.currsize > 0 and info.hits == 0
    again, info = scan_shard("scan-1")
    assert again is first and info.hits > 0  # same scan: its verdicts are kept
    later, info = scan_shard("scan-2")
    assert later is first and info.hits == 0 and info.currsize > 0  # new scan: cleared, then filled again
