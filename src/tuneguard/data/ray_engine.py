"""The Ray engine for `data scan|sanitize --engine ray`: per-record work runs as Ray Data map_batches tasks,
corpus-level steps stay on the driver, so the results are those of the local engine, byte for byte.

Why this split: everything per record (parsing, recognizers, cleaning checks, anonymization, the residual
re-scan, MinHash signatures) is a pure function of the record and the config (`RecordProcessor`), so it can
run anywhere. Everything global (exact and near-duplicate indexes, poisoning statistics over all tuning
examples, the output file and the manifest) needs the records in input order and is done by the caller's
`Tally` on the driver from the outcomes this module yields in input order, exactly as with local workers.

The driver reads the input with the same `DatasetReader` (same line numbers, same malformed-input handling)
and cuts it into shards of 8 reader batches of `batch_size` items (JSON Lines travel as lists of raw lines);
a window of shards becomes one Ray Dataset whose map_batches tasks process one shard each and return the
pickled outcomes, which the driver merges in shard order as shards finish (not after the whole window:
merging 20k outcomes takes ~1-2 s). Two windows are in flight so the workers do not idle while the driver
merges. Memory stays bounded by the windows, not the input size. Shards travel through Ray's object store,
so the input only has to be readable by the driver; the pseudonym/token keys (TUNEGUARD_HOME/keys) must be
readable on every node.
"""
from __future__ import annotations

import logging
import os
import pickle
import queue
import secrets
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from typing import Any

from tuneguard.core import UserError

from .batch import ScanBatch, summarize
from .process import Outcome, ProcessConfig, RecordProcessor
from .records import Batch, DatasetReader, LineBatch, items_of

# A shard (one map_batches task) is this many reader batches: 8 x 512 records is a few seconds of work. Each
# task costs about 0.2-0.3 s of Ray overhead (scheduling, block (de)serialization), which with 512-record
# shards ate the second worker's gain entirely on a 2-core machine (bench/data_ray.py).
BATCHES_PER_SHARD = 8
# ... and of JSON Lines about this many bytes (whole batches), fewer when the file is small: its shards are
# then sized so that every worker gets the same number of them. With 5 shards on 2 workers the last round
# ran on one worker while the other idled (a sixth of the second worker's time on a 10 MB file).
MAX_SHARD_BYTES = 2 << 20
# Shards per window and worker: each window is one Dataset execution (about 0.3-0.5 s fixed cost), and the
# cap bounds the driver's memory on large clusters (two windows of at most 128 x 4096 records in flight).
SHARDS_PER_WORKER = 4
MAX_WINDOW_SHARDS = 128
# What the per-record work reads from the environment: the home (pseudonym/token keys) and the model cache.
# Nothing else goes to the workers: task specs are stored by Ray, and secrets such as TUNEGUARD_TOKEN or a
# ledger URL with a password have no business there.
_TASK_ENV = ("TUNEGUARD_HOME", "TUNEGUARD_MODEL_CACHE")

# Per worker process: one RecordProcessor per config, kept across tasks so the recognizers (Hyperscan
# database, NER model) are built once per process rather than once per shard; and the scan it last served.
# A new scan clears the processor's memo tables (phone and IP verdicts, short texts), as the local engine
# starts each scan with empty ones, so no scan runs with an earlier one's.
_PROCESSORS: dict[ProcessConfig, RecordProcessor] = {}
_SCANS: dict[ProcessConfig, str] = {}
# The task environment given to ray.init by `connect`, when this process started or joined the instance.
_JOB_ENV: dict[str, Any] | None = None


def ray_available() -> bool:
    try:
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


def _process_shards(batch: Any, config: ProcessConfig, as_batch: bool = False, scan: str = "") -> Any:
    """map_batches function (runs in Ray workers): each row of the Arrow batch holds one pickled shard; each
    result is the shard's outcomes, or with `as_batch` (data scan) their ScanBatch. `scan` names the scan."""
    import pyarrow as pa

    processor = _PROCESSORS.get(config)
    if processor is None:
        processor = _PROCESSORS[config] = RecordProcessor(config)
    elif _SCANS.get(config) != scan:
        processor.reset_memos()
    _SCANS[config] = scan
    blobs = []
    for blob in batch.column("items").to_pylist():
        batches: list[Batch] = pickle.loads(blob)  # noqa: S301  # safe: shards our own driver pickled, not artifacts
        outcomes = processor.run([item for b in batches for item in items_of(b)])
        result = summarize(outcomes) if as_batch else outcomes
        blobs.append(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    # Binary columns keep every byte (a numpy bytes array would strip trailing NULs).
    return pa.table({"shard": batch.column("shard"), "outcomes": pa.array(blobs, type=pa.binary())})


def connect(address: str | None, workers: int) -> int:
    """Start (or join, with `address`) a Ray instance; returns the number of parallel tasks to use."""
    if not ray_available():
        raise UserError("--engine ray needs Ray Data: pip install 'tuneguard[ray]'")
    import ray

    global _JOB_ENV
    if ray.is_initialized():
        return workers
    env = _task_env()
    # The job's environment lets the workers Ray starts with the instance run our tasks at once; a task
    # with another environment would need a fresh worker pool (seconds per window start on a busy node).
    kwargs: dict[str, Any] = {
        "runtime_env": env,
        "log_to_driver": False,
        "configure_logging": False,
    }
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        kwargs["address"] = address
    else:
        # A private local instance sized to --workers: its CPUs are the parallelism measured.
        kwargs.update(num_cpus=workers, include_dashboard=False)
    try:
        ray.init(**kwargs)
    except ConnectionError as exc:
        raise UserError(f"--address {address}: cannot join the Ray cluster: {exc}") from None
    _JOB_ENV = env
    _quiet_progress()
    return workers


def _no_reservation() -> None:
    # Ray Data reserves part of the CPUs for each operator of a plan; with our single map operator on a small
    # instance that held the second task back ~1 s per window (task timings, bench/RESULTS.md "data on
    # Ray"), so every worker idled at each window start. Our plan has one operator: nothing to reserve for.
    from ray.data import DataContext

    ctx = DataContext.get_current()
    if hasattr(ctx, "op_resource_reservation_enabled"):
        ctx.op_resource_reservation_enabled = False


def _quiet_progress() -> None:
    # The CLI draws its own progress bar; Ray Data's per-window bars would interleave with it.
    from ray.data import DataContext

    ctx = DataContext.get_current()
    for name in ("enable_progress_bars", "enable_operator_progress_bars"):
        if hasattr(ctx, name):
            setattr(ctx, name, False)
    if hasattr(ctx, "print_on_execution_start"):
        ctx.print_on_execution_start = False
    # ...and Ray Data then warns once that they are off; the logger name is internal, so this may go stale.
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)


def _task_env() -> dict[str, Any]:
    # Checked per run, not only at ray.init: a long-lived driver (or a test session) that changes
    # TUNEGUARD_HOME gets workers with the new home and keys (Ray keeps one worker pool per environment).
    env = {k: os.environ[k] for k in _TASK_ENV if os.environ.get(k)}
    env["TUNEGUARD_HOME"] = os.path.abspath(os.environ.get("TUNEGUARD_HOME") or ".tuneguard")
    return {"env_vars": env}


def _compute(workers: int) -> dict[str, Any]:
    # Newer Ray releases take a TaskPoolStrategy (and deprecate `concurrency`); older ones only `concurrency`.
    try:
        from ray.data import TaskPoolStrategy

        return {"compute": TaskPoolStrategy(size=workers)}
    except ImportError:
        return {"concurrency": workers}


def _stream_window(
    shards: list[tuple[int, bytes]],
    config: ProcessConfig,
    workers: int,
    env: dict[str, Any] | None,
    sink: queue.Queue,
    stop: threading.Event,
    as_batch: bool = False,
    scan: str = "",
) -> None:
    """Run one window and put (shard index, pickled outcomes) on `sink` as each shard finishes, in whatever
    order Ray finishes them, so the driver merges early shards while later ones still run."""
    import ray.data

    _no_reservation()
    ds = ray.data.from_items(
        [{"shard": index, "items": blob} for index, blob in shards], override_num_blocks=len(shards)
    )
    ds = ds.map_batches(
        _process_shards,
        batch_size=1,
        batch_format="pyarrow",
        fn_args=(config, as_batch, scan),
        num_cpus=1,
        **({"runtime_env": env} if env is not None else {}),
        **_compute(workers),
    )
    expected = {index for index, _ in shards}
    for row in ds.iter_rows():
        if stop.is_set():
            return
        index = int(row["shard"])
        if index not in expected:
            raise RuntimeError(f"Ray returned shard {index} twice or from another window")
        expected.discard(index)
        sink.put((index, bytes(row["outcomes"])))
    if expected:
        raise RuntimeError("Ray returned an incomplete window of shards")  # never silently lose records


def shard_bytes(input_bytes: int, workers: int, most: int = MAX_SHARD_BYTES) -> int:
    """How many bytes of JSON Lines a shard holds: at most `most`, and for a small input its even share of
    `workers` x rounds shards, rounds being the fewest that keep each shard within `most`."""
    workers = max(1, workers)
    rounds = max(1, -(-input_bytes // (workers * most)))
    return max(1, min(most, -(-input_bytes // (workers * rounds))))


def input_shard_bytes(reader: DatasetReader, workers: int) -> int:
    """`shard_bytes` for this input. The file's size is the input's only when it is not compressed; a
    compressed file holds several times its size, which would make many small shards (each costs Ray about
    0.2-0.3 s), so those get full-size shards."""
    return MAX_SHARD_BYTES if reader.format.compression else shard_bytes(reader.size, workers)


def _shards(batches: Iterable[Batch], per_shard: int, shard_size: int) -> Iterator[list[Batch]]:
    """Consecutive batches grouped into shards of at most `per_shard` batches; for JSON Lines a shard also
    closes where the input read so far passes the next multiple of `shard_size` bytes, so the overrun of one
    shard (it holds whole batches) does not add up: n x shard_size bytes make n shards when batches are
    smaller than a shard. Rows of CSV and Parquet have no byte size: only the count applies to them."""
    shard: list[Batch] = []
    total, boundary = 0, shard_size
    for batch in batches:
        shard.append(batch)
        if type(batch) is LineBatch:
            total += sum(map(len, batch.lines)) + len(batch.lines)
        if len(shard) >= per_shard or total >= boundary:
            yield shard
            shard = []
            while boundary <= total:
                boundary += shard_size
    if shard:
        yield shard


def _windows(shards: Iterable[list[Batch]], per_window: int) -> Iterator[list[tuple[int, bytes]]]:
    it, index = iter(shards), 0
    while True:
        window = []
        for shard in islice(it, per_window):
            window.append((index, pickle.dumps(shard, protocol=pickle.HIGHEST_PROTOCOL)))
            index += 1
        if not window:
            return
        yield window


def iter_shard_results(
    reader: DatasetReader,
    config: ProcessConfig,
    workers: int = 1,
    batch_size: int = 512,
    address: str | None = None,
    as_batch: bool = False,
) -> Iterator[list[Outcome] | ScanBatch]:
    """Each shard's outcomes (or, with `as_batch`, their ScanBatch) in input order, computed on Ray; at most
    two windows of shards are in flight, and a shard's result is handed on as soon as it and every shard
    before it have finished."""
    workers = connect(address, max(1, workers))
    env = _task_env()
    env = None if env == _JOB_ENV else env  # the job's environment already applies
    shards = min(workers * SHARDS_PER_WORKER, MAX_WINDOW_SHARDS)
    per_shard = input_shard_bytes(reader, workers)
    windows = _windows(_shards(reader.batches(batch_size), BATCHES_PER_SHARD, per_shard), shards)
    sink: queue.Queue = queue.Queue()
    stop = threading.Event()
    scan = secrets.token_hex(8)
    pending: deque[tuple[Future, int]] = deque()  # running windows and their last shard index
    ready: dict[int, bytes] = {}
    next_index = 0
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="tg-ray-window") as pool:

        def start_window() -> None:
            window = next(windows, None)
            if window is not None:
                run = pool.submit(_stream_window, window, config, workers, env, sink, stop, as_batch, scan)
                pending.append((run, window[-1][0]))

        try:
            start_window()
            start_window()
            while pending:
                while next_index in ready:
                    yield pickle.loads(ready.pop(next_index))  # noqa: S301  # safe: our workers' outcomes
                    next_index += 1
                if next_index > pending[0][1]:
                    pending.popleft()[0].result()  # the window is merged; surface its errors, start the next
                    start_window()
                    continue
                try:
                    index, blob = sink.get(timeout=0.5)
                    ready[index] = blob
                except queue.Empty:
                    for future, _ in pending:
                        if future.done():
                            future.result()  # a window that failed raises here instead of hanging the scan
        finally:
            stop.set()
            for future, _ in pending:
                future.cancel()


def shutdown() -> None:
    """Leave the Ray instance this process started or joined (tests and the benchmark call this)."""
    try:
        import ray
    except ImportError:
        return
    global _JOB_ENV
    if ray.is_initialized():
        ray.shutdown()
    _JOB_ENV = None
