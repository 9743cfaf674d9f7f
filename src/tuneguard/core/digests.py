"""Streamed SHA-256 of files and bytes. Standard library only, and nothing heavier than hashlib and mmap:
the console entry point starts hashing through this module before the CLI's own imports (core.early_hash)."""
from __future__ import annotations

import hashlib
import mmap
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

HASH_CHUNK = 16 << 20  # mmap window
READ_CHUNK = 256 << 10  # read() fallback: stays in L2 between read() and update()


def sha256_file(
    path: str | os.PathLike[str],
    chunk: int = HASH_CHUNK,
    on_bytes: Callable[[int], None] | None = None,
    use_mmap: bool = False,
) -> str:
    """Hex SHA-256 of a file in constant memory; `on_bytes` reports progress.

    With `use_mmap` (big, settled files such as model weights) the file is hashed through a sliding mmap
    window: no copy out of the page cache, which costs as much CPU as the hash itself with read(), and
    hashed pages are dropped as it goes. It is opt-in because a file truncated while mapped kills the
    process with SIGBUS; everything else goes through read() into one reused buffer."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        try:
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size and use_mmap else None
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
    buf = bytearray(READ_CHUNK)
    view = memoryview(buf)
    while n := fh.readinto(buf):
        digest.update(view[:n])
        if on_bytes:
            on_bytes(n)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
