"""What a training run adapts to and records about its machine: the CPU threads it may use on a shared
machine, and the versions of the libraries that produced the adapter."""

from __future__ import annotations

import os
import platform
from importlib import metadata

LIBRARIES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "safetensors", "tuneguard")


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def cpu_threads() -> int:
    """Torch threads for CPU work: $TUNEGUARD_THREADS, else the cores not already busy.

    On a shared machine, more OpenMP threads than idle cores makes every matrix product wait for
    the slowest thread: measured 6-10x slower than one thread at a load of 8 on 2 cores.
    """
    explicit = os.environ.get("TUNEGUARD_THREADS")
    if explicit and explicit.isdigit() and int(explicit) > 0:
        return int(explicit)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    busy = _other_processes_busy_cores()
    # Up to one core's worth of other load still favours all cores (measured: 2 threads 4.5 s/step vs
    # 1 thread 6.5 s/step at load 0.6-1.9); beyond that drop a thread per busy core.
    return max(1, min(cores, int(cores - busy + 1.0)))


def _other_processes_busy_cores(window_s: float = 0.3) -> float:
    """CPU cores in use by other processes right now. The load average would also count this process's
    own earlier work (a pipeline's probe stage just before training), so it is sampled directly."""
    import time

    import psutil

    me = os.getpid()
    procs = [p for p in psutil.process_iter() if p.pid != me]
    for p in procs:
        try:
            p.cpu_percent(None)
        except psutil.Error:
            pass
    time.sleep(window_s)
    total = 0.0
    for p in procs:
        try:
            total += p.cpu_percent(None)
        except psutil.Error:
            pass
    return total / 100.0
