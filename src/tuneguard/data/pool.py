"""Running a scan's batches on the local cores: pool processes beside this one, which reads, takes batches
itself when the pool is full, and hands every result back in input order."""

from __future__ import annotations

import multiprocessing as mp
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from tuneguard.core import UserError

from .process import ProcessConfig, init_worker, prepare_fork, release_fork
from .records import Batch, DatasetReader, split_batch

IN_FLIGHT = 3  # batches queued per pool process with --workers
RESULT_PIPE_BYTES = 4 << 20  # pool processes' result pipe: several whole batch results


def run_pooled(reader: DatasetReader, config: ProcessConfig, workers: int, batch_size: int,
               task: Callable[[Batch], Any], here: Callable[[Batch], Any] | None) -> Iterator[Any]:
    """Every batch's result, in input order, from `workers` processes: `task` in workers - 1 pool processes
    and `here` in this one, which takes a batch itself whenever each pool process already has
    IN_FLIGHT batches queued (without `here`, `workers` pool processes). This process reads the input and
    tallies the results anyway: with a pool process per core on top of it the cores were over-subscribed,
    and every batch a pool process handles crosses the process boundary twice (bench/RESULTS.md "## data on
    Ray"). At most IN_FLIGHT batches per process are pending, and as many are read ahead (constant
    memory). An input that cannot be read to its end raises after the results of what was read before it,
    so errors come in input order (a --strict error before a truncated end is the one reported)."""
    pooled = workers - 1 if here is not None else workers
    fork = "fork" in mp.get_all_start_methods()
    # Built here, before the fork, the recognizers' compiled patterns and the Hyperscan database are
    # inherited by every worker instead of rebuilt in each one.
    pool: ProcessPoolExecutor | None = None
    pending: deque = deque()
    try:
        if fork:
            prepare_fork(config)
        # concurrent.futures rather than multiprocessing.Pool: Pool's worker-handler thread spins while a
        # result waits to be read (~30% of the parent's CPU per record went to Pool's threads,
        # bench/RESULTS.md), and a worker that dies (out of memory) leaves Pool waiting forever, where the
        # executor reports it.
        pool = ProcessPoolExecutor(pooled, mp_context=mp.get_context("fork" if fork else "spawn"),
                                   initializer=init_worker, initargs=(config,))
        _widen_result_pipe(pool)
        batches = _small_at_the_end(reader.batches(batch_size), workers * IN_FLIGHT)
        read_error: UserError | None = None
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except UserError as exc:  # unreadable further on: the batches read before come first
                read_error = exc
                break
            if here is None or sum(not f.done() for f in pending) < pooled * IN_FLIGHT:
                pending.append(pool.submit(task, batch))
                release_fork()  # the first submit forked the workers: they have their copy
            else:
                pending.append(_run_here(here, batch))
            while pending and (pending[0].done() or len(pending) >= workers * IN_FLIGHT):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
        if read_error is not None:
            raise read_error
    except BrokenProcessPool as exc:
        # Killed for memory, or its start-up (the initializer: recognizers, an NER model) failed, in which
        # case the worker logged the error above this message.
        raise UserError(
            f"{reader.path}: a --workers process died before finishing its records ({exc}); if it was killed "
            "for memory, rerun with fewer --workers"
        ) from None
    finally:
        release_fork()
        # After an error or an early stop, queued batches are dropped and the running ones are not waited for.
        if pool is not None:
            pool.shutdown(wait=not pending, cancel_futures=True)


TAIL_PARTS = 4  # the last batches of a pooled run are split into this many parts


def _small_at_the_end(batches: Iterator[Batch], lookahead: int, parts: int = TAIL_PARTS) -> Iterator[Batch]:
    """The same items in the same order, the last `lookahead` batches each split into `parts` smaller ones.

    Why: when the input runs out, a pool process still has up to IN_FLIGHT batches queued while this process
    has none left: with whole batches (~55 ms each on 42k chat records) the last 0.1-0.15 s of a 2-worker
    records phase ran on one core. Small batches at the end leave at most a few small ones queued. Reading
    `lookahead` batches ahead is what tells where the end is; results do not depend on batch boundaries
    (each batch's results are tallied in input order)."""
    ahead: deque[Batch] = deque()
    try:
        for batch in batches:
            ahead.append(batch)
            if len(ahead) > lookahead:
                yield ahead.popleft()
    except Exception:
        yield from ahead  # what was read before a read error comes first, as without the look-ahead
        raise
    for batch in ahead:
        yield from split_batch(batch, parts)


def _run_here(here: Callable[[Batch], Any], batch: Batch) -> Future:
    """`here(batch)` as a finished future, its error included, so that it surfaces in input order like a
    pool process's."""
    done: Future = Future()
    try:
        done.set_result(here(batch))
    except Exception as exc:  # re-raised by .result() when this batch's turn comes
        done.set_exception(exc)
    return done


def _widen_result_pipe(pool: ProcessPoolExecutor) -> None:
    """Let a pool process write a whole batch result (~0.3-1 MB) into the result pipe without waiting.

    With the default 64 KB pipe a worker's write blocks until the executor's thread in this process has read
    the chunks before it, and that thread needs the GIL, which this process's own batches hold: workers lost
    ~10 ms per batch (0.6 s of 3.9 s on 30 MB, bench/RESULTS.md "## data on Ray"). Linux only (F_SETPIPE_SZ),
    up to the system's pipe-max-size; elsewhere, or if the executor's internals differ, nothing changes."""
    try:
        import fcntl

        fd = pool._result_queue._reader.fileno()  # type: ignore[attr-defined]
        setsize = fcntl.F_SETPIPE_SZ  # type: ignore[attr-defined]  # Python >= 3.10, Linux
    except (AttributeError, ImportError, OSError):
        return
    for size in (RESULT_PIPE_BYTES, 1 << 20):
        try:
            fcntl.fcntl(fd, setsize, size)
            return
        except OSError:  # above /proc/sys/fs/pipe-max-size
            continue
