"""Folder <-> streamed POSIX tar, for moving artifacts over HTTP without holding them in memory."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .blobs import list_folder

CHUNK = 1 << 20


def iter_tar(folder: Path) -> Iterator[bytes]:
    """Yield a PAX tar of every regular file in `folder` (sorted), chunk by chunk."""
    for rel, path, size in list_folder(folder):
        info = tarfile.TarInfo(rel)
        info.size, info.mode, info.mtime = size, 0o644, 0
        yield info.tobuf(format=tarfile.PAX_FORMAT)
        sent = 0
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                sent += len(chunk)
                yield chunk
        if sent != size:
            raise OSError(f"{path}: file changed size while it was being sent")
        if size % tarfile.BLOCKSIZE:
            yield b"\0" * (tarfile.BLOCKSIZE - size % tarfile.BLOCKSIZE)
    yield b"\0" * (2 * tarfile.BLOCKSIZE)


class IterReader:
    """A read()-able file over an iterator of byte chunks (for tarfile's stream mode)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        # A read offset into the current buffer: tarfile reads ~10 KiB at a time, and re-slicing the rest of
        # a 1 MiB chunk on every read copied each byte about fifty times.
        self._chunks, self._buf, self._pos = chunks, b"", 0

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) - self._pos < n:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                break
            self._buf, self._pos = self._buf[self._pos :] + chunk, 0
        end = len(self._buf) if n < 0 else min(self._pos + n, len(self._buf))
        out = self._buf[self._pos : end]
        self._pos = end
        return out


def extract_tar(fileobj: BinaryIO | IterReader, dest: Path) -> None:
    """Extract regular files only; links, devices and paths leaving `dest` are refused ('data' filter)."""
    with tarfile.open(fileobj=fileobj, mode="r|") as tar:  # type: ignore[call-overload]
        for member in tar:
            if not member.isfile():
                raise ValueError(f"{member.name}: only regular files are accepted")
            tar.extract(member, dest, filter="data")
