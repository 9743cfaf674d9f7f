"""Blob stores, one class per backend registered by name: `file` (local filesystem) and `s3` (fsspec/s3fs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuneguard.core import UserError

from .base import BlobStore
from .local import LocalBlobStore
from .s3 import S3BlobStore

BLOB_STORES: dict[str, type[BlobStore]] = {LocalBlobStore.name: LocalBlobStore, S3BlobStore.name: S3BlobStore}


def open_store(url: str | None, default_root: Path, **options: Any) -> BlobStore:
    """None or a plain path = local store; `file://PATH`; `s3://bucket/prefix`."""
    if not url:
        return LocalBlobStore(default_root)
    scheme, sep, rest = url.partition("://")
    if not sep:
        return LocalBlobStore(Path(url))
    if scheme == "file":
        return LocalBlobStore(Path(rest))
    if scheme == "s3":
        return S3BlobStore(url, **options)
    raise UserError(f"registry store_url {url!r}: unknown scheme (known: {', '.join(BLOB_STORES)})")


__all__ = ["BLOB_STORES", "BlobStore", "LocalBlobStore", "S3BlobStore", "open_store"]
