"""File helpers every stage shares: atomic writes (temp, fsync, rename), create-once private files and
streamed SHA-256."""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

HASH_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike[str], chunk: int = HASH_CHUNK) -> str:
    """Hex SHA-256 of a file, streamed with a reused buffer so memory stays constant."""
    digest = hashlib.sha256()
    buf = bytearray(chunk)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            digest.update(view[:n])
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
