"""File helpers every stage shares: atomic writes (temp, fsync, rename), create-once private files and
streamed SHA-256."""
from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

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


def _fsync_dir(directory: Path) -> None:
    # A rename is only durable once the directory entry is; not every platform can open a dir.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: str = "wb", perms: int | None = None,
                  encoding: str | None = None) -> Iterator[IO]:
    """Yield a temp file next to `path`; on success fsync it and rename it over `path`.

    On any exception the temp file is removed and `path` is left as it was, so readers
    never see a half-written file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        if perms is not None:
            os.fchmod(fd, perms)
        kwargs = {"encoding": encoding or "utf-8", "newline": ""} if "b" not in mode else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
        _fsync_dir(target.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, perms: int | None = None) -> None:
    with atomic_writer(path, "wb", perms=perms) as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, perms: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), perms=perms)


def create_private_file(path: str | os.PathLike[str], data: bytes) -> bool:
    """Create `path` (0600, parent 0700) holding `data`, unless it exists; True if this call created it.

    The file appears complete or not at all: it is written and fsynced under a temp name, then hard-linked
    into place, so a process that loses the race to create a key never reads a half-written one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp_name, target)
        except FileExistsError:
            return False
        _fsync_dir(target.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
