"""Provenance: streamed SHA-256 of every file, in parallel across files (hashlib releases the GIL), and the
comparison with publisher hashes from the command line or the policy."""

from __future__ import annotations

import hashlib
import mmap
import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tuneguard.core import UserError

CHUNK = 16 << 20  # mmap window
READ_CHUNK = 256 << 10
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


def sha256_stream(path: Path, on_bytes: Callable[[int], None] | None = None, chunk: int = CHUNK) -> str:
    """SHA-256 of a file through a sliding mmap window (no copy out of the page cache, which costs as much
    CPU as the hash itself with read()); pages already hashed are dropped so memory stays constant."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        try:
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else None
        except (OSError, ValueError):
            mapped = None
        if mapped is None:
            return _sha256_read(fh, digest, on_bytes)
        with mapped, memoryview(mapped) as view:
            if hasattr(mapped, "madvise"):
                mapped.madvise(mmap.MADV_SEQUENTIAL)
            for start in range(0, size, chunk):
                n = min(chunk, size - start)
                digest.update(view[start : start + n])
                if hasattr(mmap, "MADV_DONTNEED"):
                    mapped.madvise(mmap.MADV_DONTNEED, start, n)
                if on_bytes:
                    on_bytes(n)
    return digest.hexdigest()


def _sha256_read(fh, digest, on_bytes: Callable[[int], None] | None) -> str:
    # 256 KiB stays in L2 between read() and update(); bigger buffers double the memory traffic
    buf = bytearray(READ_CHUNK)
    view = memoryview(buf)
    while n := fh.readinto(buf):
        digest.update(view[:n])
        if on_bytes:
            on_bytes(n)
    return digest.hexdigest()


def hash_files(
    paths: Iterable[Path], workers: int | None = None, on_bytes: Callable[[int], None] | None = None
) -> dict[Path, str]:
    """SHA-256 of each file; the biggest files start first so the pool stays busy to the end."""
    ordered = sorted(paths, key=lambda p: p.stat().st_size, reverse=True)
    workers = workers or min(len(ordered) or 1, os.cpu_count() or 1, 8)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sha256") as pool:
        return dict(zip(ordered, pool.map(lambda p: sha256_stream(p, on_bytes), ordered), strict=True))


def parse_expect(items: Iterable[str]) -> dict[str, str]:
    """`FILE=SHA256` pairs from the command line."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, digest = item.rpartition("=")
        if not sep or not name or not _HEX.match(digest):
            raise UserError(f"--expect {item!r}: expected FILE=SHA256 (64 hex digits)")
        out[name] = digest.lower()
    return out
