"""The data gate freezes what a scan accumulates after each batch, so the collector's full collections
skip it, and unfreezes it when the scan ends; it leaves alone a heap its caller froze or a collector that is
off."""
from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from tuneguard.core.policy import DataPolicy, Policy
from tuneguard.data.checks import parse_checks
from tuneguard.data.heap import FrozenAsItGrows
from tuneguard.data.pipeline import scan_dataset
from tuneguard.data.sanitize import sanitize_dataset


@pytest.fixture
def chats(tmp_path: Path) -> Path:
    path = tmp_path / "chats.jsonl"
    rows = [{"messages": [{"role": "user", "content": f"Call me on +44 20 7946 09{i % 100:02d}, ticket {i}"},
                          {"role": "assistant", "content": f"Done, ticket {i} is closed."}]}
            for i in range(1200)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _frozen_while(run) -> list[int]:
    counts: list[int] = []
    run(lambda *_: counts.append(gc.get_freeze_count()))
    return counts


@pytest.mark.parametrize("workers", [1, 2])
def test_a_scan_keeps_its_heap_frozen_until_it_ends(chats, workers) -> None:
    assert gc.get_freeze_count() == 0
    counts = _frozen_while(lambda progress: scan_dataset(
        str(chats), DataPolicy(), parse_checks([]), workers=workers, on_progress=progress))
    assert len(counts) >= 3 and all(c > 0 for c in counts)
    assert gc.get_freeze_count() == 0


def test_sanitize_keeps_its_heap_frozen_until_it_ends(chats, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TUNEGUARD_HOME", str(tmp_path / "home"))
    counts = _frozen_while(lambda progress: sanitize_dataset(
        chats, tmp_path / "clean.jsonl", Policy(), parse_checks([]), on_progress=progress, record=False))
    assert len(counts) >= 3 and all(c > 0 for c in counts)
    assert gc.get_freeze_count() == 0


def test_a_heap_the_caller_froze_stays_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with FrozenAsItGrows() as heap:
            assert not heap.active
            heap.settle()
        assert gc.get_freeze_count() == frozen > 0
    finally:
        gc.unfreeze()


def test_the_heap_is_frozen_on_entry_before_any_pool_forks() -> None:
    with FrozenAsItGrows() as heap:
        assert heap.active and gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_nothing_is_frozen_while_the_collector_is_off() -> None:
    gc.disable()
    try:
        with FrozenAsItGrows() as heap:
            heap.settle()
            assert gc.get_freeze_count() == 0
    finally:
        gc.enable()
