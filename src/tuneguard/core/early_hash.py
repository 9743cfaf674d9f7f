"""Early hashing: SHA-256 of big input files started on background threads as the process starts, so the
hash overlaps the ~0.4 s the CLI spends importing Typer, pydantic and Rich; the scan later claims the running
or finished job instead of hashing the file again.

Only os, threading and core.digests are imported here (no pathlib, no concurrent.futures, no typing: ~40 ms
together at start-up); the point is to start before anything heavy.
The jobs live in one process-wide table because the code that starts them (the console entry point) and
the code that claims them (a stage) meet only through the file path; a job is claimed only while the
file's identity (device, inode, size, mtime) is what it was when hashing started.
"""

from __future__ import annotations

import os
import sys
import threading

from .digests import HASH_CHUNK, sha256_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

# Below this, start-up dominates and a thread buys nothing.
MIN_EARLY_BYTES = 32 << 20
# While early jobs run. Between two windows a hash thread needs the GIL for a few microseconds, and while the
# main thread imports it waits up to the switch interval (5 ms by default) for it: 25 waits per 400 MiB
# (bench/RESULTS.md "## model"). The main thread is only interrupted when a hash thread asks, once a window.
HANDOFF_SWITCH_INTERVAL = 1e-4



def _identity(path: str) -> tuple[str, tuple[int, int, int, int]] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return os.path.realpath(path), (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class HashResult:
    """The digest of one early job, once it is there (the subset of a Future that claimants use)."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._digest = ""
        self._error: BaseException | None = None

    def set(self, digest: str = "", error: BaseException | None = None) -> None:
        self._digest, self._error = digest, error
        self._ready.set()

    def done(self) -> bool:
        return self._ready.is_set()

    def result(self, timeout: float | None = None) -> str:
        if not self._ready.wait(timeout):
            raise TimeoutError("early SHA-256 still running")
        if self._error is not None:
            raise self._error
        return self._digest


class _Job:
    """One file being hashed; progress reaches whoever claims it, including bytes hashed before the claim."""

    def __init__(self, path: str, key: tuple[int, int, int, int]) -> None:
        self.path, self.key, self.size = path, key, key[2]
        self.future = HashResult()
        self._lock = threading.Lock()
        self._done = 0
        self._listeners: list[Callable[[int], None]] = []

    def report(self, n: int) -> None:
        with self._lock:
            self._done += n
            listeners = tuple(self._listeners)
        for listener in listeners:
            listener(n)

    def follow(self, listener: Callable[[int], None]) -> None:
        with self._lock:
            self._listeners.append(listener)
            done = self._done
        if done:
            listener(done)

    def run(self) -> None:
        try:
            self.future.set(sha256_file(self.path, HASH_CHUNK, self.report, use_mmap=True))
        except BaseException as exc:  # handed to the claimant, who raises it in context
            self.future.set(error=exc)


class EarlyHashes:
    """Hash jobs keyed by real path; started once, claimed at most once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}

    def start(self, paths: Iterable[str | os.PathLike[str]], min_bytes: int = MIN_EARLY_BYTES,
              workers: int | None = None) -> int:
        """Queue every regular file of `paths` (folders walked) of at least `min_bytes`, biggest first, on
        daemon threads (a command that fails early must not wait for them); returns how many were queued."""
        jobs = []
        with self._lock:
            for path in _regular_files(paths):
                ident = _identity(path)
                if ident and ident[1][2] >= min_bytes and ident[0] not in self._jobs:
                    self._jobs[ident[0]] = job = _Job(path, ident[1])
                    jobs.append(job)
        if not jobs:
            return 0
        jobs.sort(key=lambda j: j.size, reverse=True)
        queue = iter(jobs)
        queue_lock = threading.Lock()
        threads = max(1, min(len(jobs), workers or os.cpu_count() or 1))

        def worker() -> None:
            try:
                while True:
                    with queue_lock:
                        job = next(queue, None)
                    if job is None:
                        return
                    job.run()
            finally:
                _SWITCH.leave()

        for i in range(threads):
            _SWITCH.enter()
            try:
                threading.Thread(target=worker, name=f"early-sha256-{i}", daemon=True).start()
            except BaseException:
                _SWITCH.leave()
                raise
        return len(jobs)

    def claim(self, path: str | os.PathLike[str], on_bytes: Callable[[int], None] | None = None
              ) -> HashResult | None:
        """The job for `path` if one was started and the file is still the same one, else None (hash it
        yourself). `on_bytes` gets the bytes already hashed at once, then the rest as they come."""
        if not self._jobs:  # the common case outside `model scan|bom`: no stat per file
            return None
        ident = _identity(os.fspath(path))
        if ident is None:
            return None
        with self._lock:
            job = self._jobs.get(ident[0])
            if job is None or job.key != ident[1]:
                return None
            del self._jobs[ident[0]]
        if on_bytes:
            job.follow(on_bytes)
        return job.future


class _ShortSwitchInterval:
    """Counts running hash threads process-wide (the switch interval is a process setting): the first to
    start saves the interval and lowers it, the last to end restores the saved value."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._saved = 0.0

    def enter(self) -> None:
        with self._lock:
            if not self._active:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved, HANDOFF_SWITCH_INTERVAL))
            self._active += 1

    def leave(self) -> None:
        with self._lock:
            self._active -= 1
            if not self._active:
                sys.setswitchinterval(self._saved)


_SWITCH = _ShortSwitchInterval()


def _regular_files(paths: Iterable[str | os.PathLike[str]]) -> Iterable[str]:
    for raw in paths:
        path = os.fspath(raw)
        if os.path.islink(path):
            continue
        if os.path.isfile(path):
            yield path
        elif os.path.isdir(path):
            for root, dirs, names in os.walk(path):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in names:
                    child = os.path.join(root, name)
                    if not os.path.islink(child) and os.path.isfile(child):
                        yield child


EARLY_HASHES = EarlyHashes()
