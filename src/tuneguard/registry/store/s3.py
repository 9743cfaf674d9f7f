"""Blob store on any S3-compatible service through fsspec/s3fs (`s3://bucket/prefix`).

The endpoint comes from TUNEGUARD_S3_ENDPOINT (MinIO, Ceph, moto), else AWS's usual configuration; credentials
come from the usual AWS variables or profile. Uploads are multipart and streamed, so memory stays bounded.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from .base import BlobStore

ENDPOINT_ENV = "TUNEGUARD_S3_ENDPOINT"


class S3BlobStore(BlobStore):
    name = "s3"

    def __init__(self, url: str, **options: Any) -> None:
        import s3fs

        self.base = url.removeprefix("s3://").rstrip("/")
        endpoint = options.pop("endpoint_url", None) or os.environ.get(ENDPOINT_ENV)
        client_kwargs = dict(options.pop("client_kwargs", {}))
        if endpoint:
            client_kwargs["endpoint_url"] = endpoint
        self.fs = s3fs.S3FileSystem(client_kwargs=client_kwargs, skip_instance_cache=True, **options)

    def _path(self, key: str) -> str:
        if ".." in key.split("/"):
            raise ValueError(f"bad blob key {key!r}")
        return f"{self.base}/{key}"

    def open_write(self, key: str) -> BinaryIO:
        return self.fs.open(self._path(key), "wb", block_size=16 << 20)

    def open_read(self, key: str) -> BinaryIO:
        return self.fs.open(self._path(key), "rb", block_size=8 << 20, cache_type="readahead")

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._path(key)))

    def prefixes(self) -> list[str]:
        root = self._path("objects")
        try:
            entries = self.fs.ls(root, detail=False, refresh=True)
        except FileNotFoundError:
            return []
        return sorted(e.rstrip("/").rsplit("/", 1)[-1] for e in entries)

    def delete_prefix(self, prefix: str) -> None:
        path = self._path(f"objects/{prefix}")
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def describe(self) -> str:
        return f"s3://{self.base}"
