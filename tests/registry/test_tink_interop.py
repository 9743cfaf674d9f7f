"""Our streams are Tink's AES-GCM-HKDF streaming format: Tink decrypts ours and we decrypt Tink's."""

from __future__ import annotations

import io
import os

import pytest

from tuneguard.registry.crypto.stream import IntegrityError, decrypt_stream, encrypt_stream

tink = pytest.importorskip("tink")

SEG = 4096


def _tink_primitive(data_key: bytes):
    from tink import cleartext_keyset_handle, streaming_aead
    from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2

    streaming_aead.register()
    params = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingParams(
        ciphertext_segment_size=SEG + 16, derived_key_size=32, hkdf_hash_type=common_pb2.SHA256
    )
    key = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(version=0, key_value=data_key, params=params)
    keyset = tink_pb2.Keyset(
        primary_key_id=1,
        key=[
            tink_pb2.Keyset.Key(
                key_data=tink_pb2.KeyData(
                    type_url="type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey",
                    value=key.SerializeToString(),
                    key_material_type=tink_pb2.KeyData.SYMMETRIC,
                ),
                status=tink_pb2.ENABLED,
                key_id=1,
                output_prefix_type=tink_pb2.RAW,
            )
        ],
    )
    return cleartext_keyset_handle.from_keyset(keyset).primitive(streaming_aead.StreamingAead)


class _KeepOpen(io.BytesIO):
    def close(self) -> None:  # Tink closes the sink when the stream ends; keep the bytes readable
        pass


@pytest.mark.parametrize("size", [0, 1, SEG - 40, SEG - 39, SEG, 5 * SEG + 3])
def test_tink_and_tuneguard_read_each_other(size: int) -> None:
    data_key, ad = os.urandom(32), b"tuneguard-registry/1\0bot\x003\0objid"
    plain = os.urandom(size)
    tink_aead = _tink_primitive(data_key)

    ours = io.BytesIO()
    encrypt_stream(data_key, ad, io.BytesIO(plain), ours, segment_size=SEG)
    with tink_aead.new_decrypting_stream(io.BytesIO(ours.getvalue()), ad) as stream:
        assert stream.read() == plain

    theirs = _KeepOpen()
    with tink_aead.new_encrypting_stream(theirs, ad) as stream:
        stream.write(plain)
    parts: list[bytes] = []
    decrypt_stream(data_key, ad, io.BytesIO(theirs.getvalue()), parts.append, label="f", segment_size=SEG)
    assert b"".join(parts) == plain
    with pytest.raises(IntegrityError):
        decrypt_stream(
            data_key, ad + b"x", io.BytesIO(theirs.getvalue()), parts.append, label="f", segment_size=SEG
        )
