"""The blob-store interface: opaque keys to ciphertext. Stores never see names, versions or plaintext."""

from __future__ import annotations

from typing import BinaryIO, ClassVar


class BlobStore:
    """Keys look like `objects/<random prefix>/<random id>`; a version's blobs share one prefix."""

    name: ClassVar[str] = ""

    def open_write(self, key: str) -> BinaryIO:
        """A writable stream; the object is durable once the stream is closed without error."""
        raise NotImplementedError

    def open_read(self, key: str) -> BinaryIO:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def prefixes(self) -> list[str]:
        """Every version prefix present (committed or garbage)."""
        raise NotImplementedError

    def delete_prefix(self, prefix: str) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError
