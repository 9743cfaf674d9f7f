"""The local process pool of --workers: results in input order, errors in input order, dead or failing
workers, the split last batches and the widened result pipe."""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from tuneguard.core.policy import DataPolicy
from tuneguard.data.checks import parse_checks
from tuneguard.data.pipeline import process_config
from tuneguard.data.pool import IN_FLIGHT, _small_at_the_end, _widen_result_pipe
from tuneguard.data.records import DatasetReader, items_of


def test_a_worker_that_dies_stops_the_scan_with_a_clear_error(chat_jsonl: Path, tmp_path: Path,
                                                              monkeypatch) -> None:
    """A pool worker killed mid-run (the out-of-memory killer does this) must end the scan with an error
    naming the file, not leave the parent waiting for a result that never comes."""
    import os

    from tuneguard.core import UserError
    from tuneguard.data import process
    from tuneguard.data.pipeline import scan_dataset

    monkeypatch.setenv("TUNEGUARD_HOME", str(tmp_path / "home"))
    parent = os.getpid()
    real_run = process.RecordProcessor.run

    def run_or_die(self, items):
        if os.getpid() != parent:  # in a forked worker only
            os._exit(9)
        return real_run(self, items)

    monkeypatch.setattr(process.RecordProcessor, "run", run_or_die)
    with pytest.raises(UserError, match=r"train\.jsonl: a --workers process died"):
        scan_dataset(str(chat_jsonl), DataPolicy(), parse_checks([]), workers=2)


def test_an_error_in_a_worker_reaches_the_caller(chat_jsonl: Path, tmp_path: Path, monkeypatch) -> None:
    import os

    from tuneguard.data import process
    from tuneguard.data.pipeline import scan_dataset

    monkeypatch.setenv("TUNEGUARD_HOME", str(tmp_path / "home"))
    parent = os.getpid()

    def fail(self, items):
        raise RuntimeError(f"detector failed in {'worker' if os.getpid() != parent else 'parent'}")

    monkeypatch.setattr(process.RecordProcessor, "run", fail)
    with pytest.raises(RuntimeError, match="detector failed in worker"):
        scan_dataset(str(chat_jsonl), DataPolicy(), parse_checks([]), workers=2)


@pytest.mark.timeout(120)
def test_workers_that_cannot_start_stop_the_scan(chat_jsonl: Path, tmp_path: Path, monkeypatch) -> None:
    """A pool process whose start-up fails (an NER model it cannot load, memory) stops the scan with an
    error; multiprocessing.Pool restarted such workers forever (the scan hung), the executor reports it.
    With an NER backend this process never loads the model (all batches go to the pool); without one it
    takes batches too, and a pool process that cannot start still stops the scan."""
    import os

    from tuneguard.core import UserError
    from tuneguard.data import pool
    from tuneguard.data.pipeline import scan_dataset

    pytest.importorskip("spacy")
    monkeypatch.setenv("TUNEGUARD_HOME", str(tmp_path / "home"))
    policy = DataPolicy(ner_backend=str(tmp_path / "no-such-model"))
    with pytest.raises(UserError, match=r"train\.jsonl: a --workers process died"):
        scan_dataset(str(chat_jsonl), policy, parse_checks([]), workers=2)
    parent, start = os.getpid(), pool.init_worker

    def start_or_fail(config) -> None:
        if os.getpid() != parent:
            raise OSError("cannot start")
        start(config)

    monkeypatch.setattr(pool, "init_worker", start_or_fail)
    with pytest.raises(UserError, match=r"train\.jsonl: a --workers process died"):
        scan_dataset(str(chat_jsonl), DataPolicy(), parse_checks([]), workers=2)


def test_two_workers_are_this_process_and_one_pool_process(chat_jsonl: Path, tmp_path: Path,
                                                          monkeypatch) -> None:
    """--workers 2 runs batches here and in one pool process (this one takes a batch whenever the pool has
    its queue full), and the outcomes come back in input order, equal to one process's."""
    import os

    from tuneguard.data import process
    from tuneguard.data.pipeline import iter_outcomes

    monkeypatch.setenv("TUNEGUARD_HOME", str(tmp_path / "home"))
    config = process_config(DataPolicy(), parse_checks([]), "scan")
    one = [(o.line, o.findings) for o in iter_outcomes(DatasetReader(chat_jsonl), config, 1, batch_size=4)]
    log, real_run, parent = tmp_path / "pids", process.RecordProcessor.run, os.getpid()

    def run_and_log(self, items):
        with open(log, "a") as fh:
            fh.write(f"{os.getpid()}\n")
        if os.getpid() != parent:
            time.sleep(0.02)  # a pool process slower than this one: its queue stays full, this one takes some
        return real_run(self, items)

    monkeypatch.setattr(process.RecordProcessor, "run", run_and_log)
    two = [(o.line, o.findings) for o in iter_outcomes(DatasetReader(chat_jsonl), config, 2, batch_size=4)]
    pids = Counter(log.read_text().split())
    assert two == one and len(one) >= 40
    batches = list(_small_at_the_end(DatasetReader(chat_jsonl).batches(4), 2 * IN_FLIGHT))
    assert len(pids) == 2 and pids[str(os.getpid())] >= 1 and sum(pids.values()) == len(batches)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_the_last_batches_of_a_pooled_run_are_split_small(suffix: str, tmp_path: Path) -> None:
    """So that no pool process is left with whole batches queued when the input runs out: the same items
    in the same order, the last `lookahead` batches in TAIL_PARTS parts each."""
    path = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        path.write_text("text\n" + "".join(f"row {i}\n" for i in range(203)), encoding="utf-8")
    else:
        path.write_text("".join(f'{{"text": "row {i}"}}\n' for i in range(203)), encoding="utf-8")
    whole = list(DatasetReader(path).batches(16))
    got = list(_small_at_the_end(iter(whole), 3))
    assert [item for b in got for item in items_of(b)] == [item for b in whole for item in items_of(b)]
    assert [len(b) for b in got[: len(whole) - 3]] == [16] * (len(whole) - 3)
    assert [len(b) for b in got[len(whole) - 3 :]] == [4] * 8 + [3, 3, 3, 2]  # 16, 16 and the last 11
    assert list(_small_at_the_end(iter([]), 3)) == []
    assert [len(b) for b in _small_at_the_end(iter(whole[:2]), 3)] == [4] * 8  # all of a short input


def test_the_result_pipe_holds_whole_batch_results() -> None:
    import fcntl
    from concurrent.futures import ProcessPoolExecutor

    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("pipe sizes are Linux-only")
    pool = ProcessPoolExecutor(1)
    try:
        fd = pool._result_queue._reader.fileno()
        assert fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) < 1 << 20
        _widen_result_pipe(pool)
        assert fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) >= 1 << 20
        assert pool.submit(sum, [1, 2]).result() == 3
    finally:
        pool.shutdown()


def test_an_error_in_this_process_comes_in_input_order(chat_jsonl: Path, tmp_path: Path, monkeypatch) -> None:
    """A batch this process takes that fails raises only when its turn comes: the earlier batches, done by
    the pool, are handed on first, as with one process."""
    import os

    from tuneguard.data import process
    from tuneguard.data.pipeline import iter_outcomes

    monkeypatch.setenv("TUNEGUARD_HOME", str(tmp_path / "home"))
    config = process_config(DataPolicy(), parse_checks([]), "scan")
    real_run, parent = process.RecordProcessor.run, os.getpid()

    def slow_pool_failing_here(self, items):
        if os.getpid() != parent:
            time.sleep(0.05)
        elif items[0].line > 4:
            raise RuntimeError(f"failed at line {items[0].line}")
        return real_run(self, items)

    monkeypatch.setattr(process.RecordProcessor, "run", slow_pool_failing_here)
    seen: list[int] = []
    with pytest.raises(RuntimeError, match="failed at line") as failure:
        for outcome in iter_outcomes(DatasetReader(chat_jsonl), config, 2, batch_size=4):
            seen.append(outcome.line)
    failed_at = int(str(failure.value).rsplit(" ", 1)[1])
    assert seen == list(range(1, failed_at))



@pytest.mark.parametrize("workers", [1, 2])
def test_a_strict_error_before_a_truncated_end_is_the_one_reported(workers: int, tmp_path: Path) -> None:
    """Errors come in input order although --workers reads batches ahead: a malformed line 11 (--strict)
    before a gzip stream cut short; without --strict the unreadable end is reported, naming the file."""
    import gzip
    import json

    from tuneguard.core import UserError
    from tuneguard.data.pipeline import scan_dataset

    rows = [json.dumps({"messages": [{"role": "user", "content": f"hello number {i}"},
                                     {"role": "assistant", "content": "ok"}]}) for i in range(4000)]
    rows[10] = "{bad"
    packed = gzip.compress(("\n".join(rows) + "\n").encode())
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(packed[:-30])
    with pytest.raises(UserError, match=r"in\.jsonl\.gz:11: malformed json \(--strict\)"):
        scan_dataset(str(path), DataPolicy(), parse_checks([]), workers=workers, strict=True)
    with pytest.raises(UserError, match=r"in\.jsonl\.gz: cannot read"):
        scan_dataset(str(path), DataPolicy(), parse_checks([]), workers=workers)
