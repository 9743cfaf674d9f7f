"""The data plane: an artifact folder to opaque encrypted blobs and back, each bound to its identity."""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from tuneguard.core import UserError

from .crypto import IntegrityError, decrypt_stream, encrypt_stream, seal, unseal
from .store import BlobStore

FORMAT = "tuneguard-registry"
FORMAT_VERSION = 1
MANIFEST_OBJECT = "manifest"


def associated_data(name: str, version: int, object_id: str) -> bytes:
    """What each blob is bound to: a blob moved to another file, version or artifact fails to decrypt."""
    return b"\0".join(
        [f"{FORMAT}/{FORMAT_VERSION}".encode(), name.encode(), str(version).encode(), object_id.encode()]
    )


def wrap_associated_data(name: str, version: int, prefix: str) -> bytes:
    return b"\0".join(
        [
            f"{FORMAT}/{FORMAT_VERSION}/data-key".encode(),
            name.encode(),
            str(version).encode(),
            prefix.encode(),
        ]
    )


def object_key(prefix: str, object_id: str) -> str:
    return f"objects/{prefix}/{object_id}"


def list_folder(folder: Path) -> list[tuple[str, Path, int]]:
    """(relative posix path, absolute path, size) of every regular file, sorted; symlinks are refused."""
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder")
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for entry in sorted([*files, *[d for d in dirs if os.path.islink(os.path.join(root, d))]]):
            path = Path(root) / entry
            info = path.lstat()
            rel = path.relative_to(folder).as_posix()
            if stat.S_ISLNK(info.st_mode):
                raise UserError(f"{path}: symbolic links are not stored (copy the target into the folder)")
            if not stat.S_ISREG(info.st_mode):
                raise UserError(f"{path}: not a regular file")
            found.append((rel, path, info.st_size))
    if not found:
        raise UserError(f"{folder}: folder has no files")
    return sorted(found)


def safe_relative(path: str) -> PurePosixPath:
    rel = PurePosixPath(path)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise IntegrityError(f"manifest names an unsafe path {path!r}")
    return rel


@dataclass
class BlobWriter:
    store: BlobStore
    pool: ThreadPoolExecutor
    window: int
    segment_size: int

    def put_file(self, data_key: bytes, name: str, version: int, prefix: str, source: Path) -> dict[str, Any]:
        object_id = secrets.token_hex(16)
        with (
            open(source, "rb", buffering=0) as src,
            self.store.open_write(object_key(prefix, object_id)) as dst,
        ):
            size = encrypt_stream(
                data_key,
                associated_data(name, version, object_id),
                src,
                dst,
                segment_size=self.segment_size,
                pool=self.pool,
                window=self.window,
            )
        return {"object": object_id, "size": size}

    def put_small(
        self, data_key: bytes, name: str, version: int, prefix: str, object_id: str, plaintext: bytes
    ) -> None:
        with self.store.open_write(object_key(prefix, object_id)) as dst:
            dst.write(seal(data_key, associated_data(name, version, object_id), plaintext))


@dataclass
class BlobReader:
    store: BlobStore
    pool: ThreadPoolExecutor
    window: int

    def manifest(self, data_key: bytes, name: str, version: int, prefix: str) -> dict[str, Any]:
        label = f"{name}@v{version} manifest"
        blob = self._read_all(prefix, MANIFEST_OBJECT, label)
        manifest = json.loads(unseal(data_key, associated_data(name, version, MANIFEST_OBJECT), blob, label))
        if (
            manifest.get("format") != FORMAT
            or manifest.get("name") != name
            or manifest.get("version") != version
        ):
            raise IntegrityError(f"{label}: manifest does not belong to this version")
        return manifest

    def small(
        self, data_key: bytes, name: str, version: int, prefix: str, object_id: str, label: str
    ) -> bytes:
        return unseal(
            data_key,
            associated_data(name, version, object_id),
            self._read_all(prefix, object_id, label),
            label,
        )

    def get_file(
        self,
        data_key: bytes,
        name: str,
        version: int,
        prefix: str,
        entry: dict[str, Any],
        write: Callable[[bytes], object],
        segment_size: int,
    ) -> int:
        label = entry["path"]
        try:
            src = self.store.open_read(object_key(prefix, entry["object"]))
        except FileNotFoundError:
            raise IntegrityError(f"{label}: stored object is missing") from None
        with src:
            size = decrypt_stream(
                data_key,
                associated_data(name, version, entry["object"]),
                src,
                write,
                label=label,
                segment_size=segment_size,
                pool=self.pool,
                window=self.window,
            )
        if size != entry["size"]:
            raise IntegrityError(f"{label}: decrypted {size} bytes, manifest says {entry['size']}")
        return size

    def _read_all(self, prefix: str, object_id: str, label: str) -> bytes:
        try:
            with self.store.open_read(object_key(prefix, object_id)) as fh:
                return fh.read()
        except FileNotFoundError:
            raise IntegrityError(f"{label}: stored object is missing") from None
