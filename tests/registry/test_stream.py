"""The segmented AEAD alone: round trips at every boundary; every way of rearranging ciphertext fails."""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from tuneguard.registry.crypto.stream import (
    HEADER_SIZE,
    TAG_SIZE,
    IntegrityError,
    ciphertext_size,
    decrypt_stream,
    encrypt_stream,
)

SEG = 4096
FIRST = SEG - HEADER_SIZE
KEY = bytes(range(32))
AD = b"tuneguard-registry/1\0demo\x001\0obj"


def enc(plain: bytes, key: bytes = KEY, ad: bytes = AD, pool=None) -> bytes:
    out = io.BytesIO()
    encrypt_stream(key, ad, io.BytesIO(plain), out, segment_size=SEG, pool=pool, window=3)
    return out.getvalue()


def dec(blob: bytes, key: bytes = KEY, ad: bytes = AD, pool=None) -> bytes:
    parts: list[bytes] = []
    decrypt_stream(
        key, ad, io.BytesIO(blob), parts.append, label="weights.bin", segment_size=SEG, pool=pool, window=3
    )
    return b"".join(parts)


def segments(blob: bytes) -> tuple[bytes, list[bytes]]:
    header, body = blob[:HEADER_SIZE], blob[HEADER_SIZE:]
    segs = [body[: FIRST + TAG_SIZE]]
    rest = body[FIRST + TAG_SIZE :]
    while rest:
        segs.append(rest[: SEG + TAG_SIZE])
        rest = rest[SEG + TAG_SIZE :]
    return header, segs


@pytest.mark.parametrize(
    "size", [0, 1, FIRST - 1, FIRST, FIRST + 1, FIRST + SEG, FIRST + SEG + 1, 10 * SEG + 7]
)
@pytest.mark.parametrize("parallel", [False, True])
def test_round_trip_at_segment_boundaries(size: int, parallel: bool) -> None:
    plain = os.urandom(size)
    with ThreadPoolExecutor(2) as pool:
        blob = enc(plain, pool=pool if parallel else None)
        assert len(blob) == ciphertext_size(size, SEG)
        assert plain == dec(blob, pool=pool if parallel else None)


def test_fresh_salt_and_nonce_prefix_per_stream() -> None:
    plain = os.urandom(3 * SEG)
    a, b = enc(plain), enc(plain)
    assert a[:HEADER_SIZE] != b[:HEADER_SIZE] and a[HEADER_SIZE:] != b[HEADER_SIZE:]


def _fails(blob: bytes, match: str = "failed authentication|truncated|header", **kw) -> None:
    with pytest.raises(IntegrityError, match=match) as info:
        dec(blob, **kw)
    assert "weights.bin" in str(info.value)


def test_reordered_dropped_duplicated_truncated_appended_segments_fail() -> None:
    header, segs = segments(enc(os.urandom(FIRST + 3 * SEG + 100)))
    assert len(segs) == 5
    _fails(header + b"".join([segs[0], segs[2], segs[1], segs[3], segs[4]]))  # reordered
    _fails(header + b"".join([segs[0], segs[1], segs[3], segs[4]]))  # dropped
    _fails(header + b"".join([segs[0], segs[1], segs[1], segs[2], segs[3], segs[4]]))  # duplicated
    _fails(header + b"".join(segs[:4]))  # truncated at a segment boundary
    _fails(header + b"".join(segs)[:-1])  # truncated by one byte
    _fails(header + b"".join(segs) + segs[4])  # appended segment
    _fails(header[:10])  # header only partly there


def test_swapped_between_streams_with_same_key_fails() -> None:
    plain = os.urandom(FIRST + SEG)
    h1, s1 = segments(enc(plain, ad=AD + b"1"))
    h2, s2 = segments(enc(plain, ad=AD + b"2"))
    _fails(h1 + s2[0] + s1[1], ad=AD + b"1")  # a segment from another file
    _fails(h1 + b"".join(s1), ad=AD + b"2")  # the whole file under another file/version identity


def test_wrong_key_and_wrong_associated_data_fail() -> None:
    blob = enc(os.urandom(2 * SEG))
    _fails(blob, key=bytes(32))
    _fails(blob, ad=b"tuneguard-registry/1\0demo\x002\0obj")


def test_every_single_bit_flip_in_a_small_stream_fails() -> None:
    blob = enc(os.urandom(FIRST + 10))
    for offset in range(0, len(blob), 7):
        tampered = bytearray(blob)
        tampered[offset] ^= 0x80
        with pytest.raises(IntegrityError):
            dec(bytes(tampered))
