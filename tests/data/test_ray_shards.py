"""How the Ray engine cuts its input into shards (pure functions: no Ray instance needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuneguard.data.ray_engine import MAX_SHARD_BYTES, _shards, shard_bytes
from tuneguard.data.records import DatasetReader, items_of


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


def test_shards_keep_every_batch_in_order(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(b'{"text": "%s"}\n' % (b"x" * (i % 50)) for i in range(1000)))
    batches = list(DatasetReader(path).batches(16))
    shards = list(_shards(iter(batches), 8, 2_000))
    assert [b for s in shards for b in s] == batches
    assert all(len(s) <= 8 for s in shards)
    sizes = [sum(len(line) + 1 for b in s for line in b.lines) for s in shards]
    assert all(size >= 2_000 or len(s) == 8 for size, s in zip(sizes[:-1], shards[:-1], strict=True))
    lines = [item.line for s in shards for b in s for item in items_of(b)]
    assert lines == list(range(1, 1001))
