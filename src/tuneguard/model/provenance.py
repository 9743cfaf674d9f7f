"""Provenance: streamed SHA-256 of every file, in parallel across files (hashlib releases the GIL), and the
comparison with publisher hashes from the command line or the policy."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tuneguard.core import UserError, sha256_file
from tuneguard.core.files import HASH_CHUNK

_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


def sha256_stream(path: Path, on_bytes: Callable[[int], None] | None = None, chunk: int = HASH_CHUNK) -> str:
    """SHA-256 of one model file with progress, through core's mmap window (constant memory)."""
    return sha256_file(path, chunk, on_bytes, use_mmap=True)


def hash_files(
    paths: Iterable[Path], workers: int | None = None, on_bytes: Callable[[int], None] | None = None
) -> dict[Path, str]:
    """SHA-256 of each file; the biggest files start first so the pool stays busy to the end."""
    ordered = sorted(paths, key=lambda p: p.stat().st_size, reverse=True)
    workers = workers or min(len(ordered) or 1, os.cpu_count() or 1, 8)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sha256") as pool:
        return dict(zip(ordered, pool.map(lambda p: sha256_stream(p, on_bytes), ordered), strict=True))


def parse_expect(items: Iterable[str]) -> dict[str, str]:
    """`FILE=SHA256` pairs from the command line."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, digest = item.rpartition("=")
        if not sep or not name or not _HEX.match(digest):
            raise UserError(f"--expect {item!r}: expected FILE=SHA256 (64 hex digits)")
        out[name] = digest.lower()
    return out
