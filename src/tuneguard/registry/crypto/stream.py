"""Segmented streaming AEAD for registry blobs: Tink's AES-GCM-HKDF streaming format on `cryptography`.

Construction (docs/registry-format.md has the full description):
  header  = header_len(1 byte, = 40) || salt(32) || nonce_prefix(7)
  key_f   = HKDF-SHA256(ikm=data_key, salt=salt, info=associated_data, length=32)
  nonce_i = nonce_prefix || uint32_be(i) || (0x01 if segment i is the last else 0x00)
  ct_i    = AES-256-GCM(key_f, nonce_i, segment_i, aad="")          (16-byte tag appended)
This is the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizar 2015) with a per-file key, exactly as
Tink's AesGcmHkdfStreaming lays it out: with ciphertext segment size S, plaintext segments are S-16 bytes,
the first one S-16-40 (the header takes its place). The associated data (artifact, version, file id) enters
through HKDF, so a segment moved to another file or version fails authentication; the index and the
last-segment flag enter through the nonce, so reordering, dropping, truncating or appending fails too.

Encryption and decryption run segments on a thread pool (AESGCM releases the GIL on large buffers) with a
bounded window, so memory stays at about `window * segment_size` whatever the file size.
"""

from __future__ import annotations

import os
import struct
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_SIZE = 32
SALT_SIZE = 32
NONCE_PREFIX_SIZE = 7
TAG_SIZE = 16
HEADER_SIZE = 1 + SALT_SIZE + NONCE_PREFIX_SIZE  # 40
DEFAULT_SEGMENT = 1 << 20


class IntegrityError(Exception):
    """Ciphertext failed authentication: tampered, corrupted, truncated, reordered or the wrong key."""


def _derive(data_key: bytes, salt: bytes, associated_data: bytes) -> AESGCM:
    if len(data_key) != KEY_SIZE:
        raise ValueError("data key must be 32 bytes (AES-256)")
    key = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=associated_data).derive(data_key)
    return AESGCM(key)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= 1 << 32:
        raise ValueError("file has too many segments for a 32-bit counter")
    return prefix + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


def plaintext_sizes(segment_size: int) -> tuple[int, int]:
    """(first, other) plaintext segment sizes for ciphertext segments of segment_size + TAG_SIZE bytes."""
    return segment_size - HEADER_SIZE, segment_size


def ciphertext_size(plain_size: int, segment_size: int = DEFAULT_SEGMENT) -> int:
    first, other = plaintext_sizes(segment_size)
    segments = 1 if plain_size <= first else 1 + -(-(plain_size - first) // other)
    return HEADER_SIZE + plain_size + segments * TAG_SIZE


def _read_exact(src: BinaryIO, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        chunk = src.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


class _Window:
    """In-order results of pool jobs with at most `size` in flight (the memory bound)."""

    def __init__(self, pool: ThreadPoolExecutor | None, size: int, sink: Callable[[bytes], object]) -> None:
        self.pool, self.size, self.sink = pool, max(1, size), sink
        self.pending: deque[Future[bytes]] = deque()

    def submit(self, fn: Callable[..., bytes], *args: object) -> None:
        if self.pool is None:
            self.sink(fn(*args))
            return
        self.pending.append(self.pool.submit(fn, *args))
        while len(self.pending) >= self.size:
            self.sink(self.pending.popleft().result())

    def drain(self) -> None:
        while self.pending:
            self.sink(self.pending.popleft().result())

    def cancel(self) -> None:
        for fut in self.pending:
            fut.cancel()
        self.pending.clear()


def encrypt_stream(
    data_key: bytes,
    associated_data: bytes,
    src: BinaryIO,
    dst: BinaryIO,
    *,
    segment_size: int = DEFAULT_SEGMENT,
    pool: ThreadPoolExecutor | None = None,
    window: int = 8,
    on_plain: Callable[[bytes], object] | None = None,
) -> int:
    """Encrypt all of `src` into `dst` and return the plaintext length; `on_plain` sees each segment."""
    salt, prefix = os.urandom(SALT_SIZE), os.urandom(NONCE_PREFIX_SIZE)
    aead = _derive(data_key, salt, associated_data)
    dst.write(bytes([HEADER_SIZE]) + salt + prefix)
    first, other = plaintext_sizes(segment_size)
    win = _Window(pool, window, dst.write)
    total, index = 0, 0
    current = _read_exact(src, first)
    try:
        while True:
            following = _read_exact(src, other)
            last = not following
            if on_plain is not None:
                on_plain(current)
            total += len(current)
            win.submit(aead.encrypt, _nonce(prefix, index, last), current, None)
            if last:
                break
            current, index = following, index + 1
        win.drain()
    except BaseException:
        win.cancel()
        raise
    return total


def _open_segment(aead: AESGCM, nonce: bytes, data: bytes, index: int, label: str) -> bytes:
    try:
        return aead.decrypt(nonce, data, None)
    except InvalidTag:
        raise IntegrityError(
            f"{label}: segment {index} failed authentication (tampered, corrupted, reordered, "
            "truncated or appended data, or the wrong key)"
        ) from None


def decrypt_stream(
    data_key: bytes,
    associated_data: bytes,
    src: BinaryIO,
    dst_write: Callable[[bytes], object],
    *,
    label: str,
    segment_size: int = DEFAULT_SEGMENT,
    pool: ThreadPoolExecutor | None = None,
    window: int = 8,
) -> int:
    """Decrypt `src` (header + segments) and pass plaintext segments, in order, to `dst_write`."""
    header = _read_exact(src, HEADER_SIZE)
    if len(header) != HEADER_SIZE or header[0] != HEADER_SIZE:
        raise IntegrityError(f"{label}: missing or malformed stream header")
    aead = _derive(data_key, header[1 : 1 + SALT_SIZE], associated_data)
    prefix = header[1 + SALT_SIZE :]
    first, other = plaintext_sizes(segment_size)
    total = 0

    def sink(plain: bytes) -> None:
        nonlocal total
        total += len(plain)
        dst_write(plain)

    win = _Window(pool, window, sink)
    index = 0
    current = _read_exact(src, first + TAG_SIZE)
    try:
        while True:
            if len(current) < TAG_SIZE:
                raise IntegrityError(f"{label}: segment {index} is truncated")
            following = _read_exact(src, other + TAG_SIZE)
            last = not following
            win.submit(_open_segment, aead, _nonce(prefix, index, last), current, index, label)
            if last:
                break
            current, index = following, index + 1
        win.drain()
    except BaseException:
        win.cancel()
        raise
    return total


def seal(data_key: bytes, associated_data: bytes, plaintext: bytes) -> bytes:
    """One-shot form for small objects (manifest, signature): the same format, a single segment or more."""
    import io

    out = io.BytesIO()
    encrypt_stream(data_key, associated_data, io.BytesIO(plaintext), out, segment_size=DEFAULT_SEGMENT)
    return out.getvalue()


def unseal(data_key: bytes, associated_data: bytes, blob: bytes, label: str) -> bytes:
    import io

    parts: list[bytes] = []
    decrypt_stream(data_key, associated_data, io.BytesIO(blob), parts.append, label=label)
    return b"".join(parts)
