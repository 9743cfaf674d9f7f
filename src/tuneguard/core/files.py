"""File helpers every stage shares: atomic writes (temp, fsync, rename) and create-once private files; the
SHA-256 helpers live in core.digests and are re-exported here."""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .digests import HASH_CHUNK, READ_CHUNK, sha256_bytes, sha256_file

__all__ = [
    "HASH_CHUNK", "READ_CHUNK", "atomic_write_bytes", "atomic_write_text", "atomic_writer",
    "create_private_file", "sha256_bytes", "sha256_file",
]

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
