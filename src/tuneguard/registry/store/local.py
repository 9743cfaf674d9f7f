"""Blob store on the local filesystem (default: TUNEGUARD_HOME/registry), files 0600 in 0700 folders."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import BinaryIO

from .base import BlobStore


class _DurableFile:
    """A file that is fsynced on successful close, so a committed version never points at lost bytes."""

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._fh = os.fdopen(fd, "wb", buffering=1 << 20)

    def write(self, data: bytes) -> int:
        return self._fh.write(data)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()

    def __enter__(self) -> _DurableFile:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self._fh.close()


class LocalBlobStore(BlobStore):
    name = "file"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _ensure_root(self) -> None:
        for folder in (self.root, self.root / "objects"):
            if not folder.is_dir():
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.chmod(folder, 0o700)

    def _path(self, key: str) -> Path:
        if ".." in key.split("/") or key.startswith("/"):
            raise ValueError(f"bad blob key {key!r}")
        return self.root / key

    def open_write(self, key: str) -> BinaryIO:
        path = self._path(key)
        self._ensure_root()
        path.parent.mkdir(exist_ok=True, mode=0o700)
        return _DurableFile(path)  # type: ignore[return-value]

    def open_read(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb", buffering=1 << 20)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def prefixes(self) -> list[str]:
        objects = self.root / "objects"
        return sorted(p.name for p in objects.iterdir()) if objects.is_dir() else []

    def delete_prefix(self, prefix: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self._path(f"objects/{prefix}"))

    def describe(self) -> str:
        return str(self.root)
