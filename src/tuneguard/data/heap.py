"""Keeps what a long scan accumulates (findings, tuning examples) out of the garbage collector's full
collections.

Why: CPython runs a full collection whenever the tracked heap has grown by a quarter, and each one walks
every finding dict and example list kept so far. On 42k chat records that was 4 full collections and
0.16 s of a 5.3 s single-worker scan, plus 0.06 s after the last record (bench/RESULTS.md "## data on
Ray"). Freezing the heap after each tallied batch (`gc.freeze`: O(1), the objects move to the permanent
generation) leaves the collector only what was allocated since. The heap is also frozen on entry, before
the scan forks its pool processes, so that a collection in a pool process does not write to every object it
inherited (each write copies a shared page: ~20% fewer page copies in the pool process measured). Kept
objects are still freed by reference counting; only cyclic garbage that already existed at a freeze waits
until the scan ends, when everything is unfrozen again.
"""

from __future__ import annotations

import gc
from types import TracebackType


class FrozenAsItGrows:
    """`with FrozenAsItGrows() as heap:` ... `heap.settle()` after each batch. Does nothing when the
    collector is off or when the caller froze objects itself (a later unfreeze would also release those).
    Two scans overlapping in threads of one process: the second does nothing, and the first's unfreeze at
    its end releases the second's heap too, which then loses the speed-up, not results."""

    def __init__(self) -> None:
        self.active = False

    def __enter__(self) -> FrozenAsItGrows:
        self.active = gc.isenabled() and gc.get_freeze_count() == 0
        self.settle()  # before the scan forks its pool processes: see the class docstring
        return self

    def settle(self) -> None:
        """Put everything allocated so far beyond the collector's reach."""
        if self.active:
            gc.freeze()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.active:
            gc.unfreeze()
            self.active = False
