"""Contract tests over every registered key provider and blob store."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import httpx
import pytest

from tuneguard.registry.crypto import KEY_PROVIDERS, IntegrityError, KeyProvider
from tuneguard.registry.crypto.keys import EnvKeyProvider, LocalFileKeyProvider, VaultTransitKeyProvider
from tuneguard.registry.store import BLOB_STORES, BlobStore, LocalBlobStore, S3BlobStore


def _fake_vault_transit() -> httpx.MockTransport:
    """A stand-in for Vault's transit API (no Vault server exists here): derived-key AES-GCM per context."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    master = os.urandom(32)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("X-Vault-Token") != "s.test":
            return httpx.Response(403, json={"errors": ["permission denied"]})
        body = json.loads(request.content)
        aead = AESGCM(master)
        context = base64.b64decode(body["context"])
        if request.url.path.endswith("/encrypt/tuneguard"):
            nonce = os.urandom(12)
            ct = aead.encrypt(nonce, base64.b64decode(body["plaintext"]), context)
            return httpx.Response(
                200, json={"data": {"ciphertext": "vault:v1:" + base64.b64encode(nonce + ct).decode()}}
            )
        raw = base64.b64decode(body["ciphertext"].removeprefix("vault:v1:"))
        try:
            plain = aead.decrypt(raw[:12], raw[12:], context)
        except Exception:
            return httpx.Response(400, json={"errors": ["cipher: message authentication failed"]})
        return httpx.Response(200, json={"data": {"plaintext": base64.b64encode(plain).decode()}})

    return httpx.MockTransport(handler)


def _provider(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KeyProvider:
    if name == "local":
        return LocalFileKeyProvider(tmp_path / "keys")
    if name == "env":
        monkeypatch.setenv("TUNEGUARD_REGISTRY_KEK", os.urandom(32).hex())
        return EnvKeyProvider()
    return VaultTransitKeyProvider("http://vault.invalid", "s.test", transport=_fake_vault_transit())


@pytest.mark.parametrize("name", sorted(KEY_PROVIDERS))
def test_key_provider_contract(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = _provider(name, tmp_path, monkeypatch)
    assert provider.name == name and provider.key_id()
    dek = os.urandom(32)
    wrapped = provider.wrap(dek, b"bot\x001")
    assert dek.hex() not in wrapped and base64.b64encode(dek).decode() not in wrapped
    assert provider.unwrap(wrapped, b"bot\x001") == dek
    assert provider.wrap(dek, b"bot\x001") != wrapped  # fresh nonce each time
    with pytest.raises(IntegrityError):
        provider.unwrap(wrapped, b"bot\x002")  # bound to its version


def test_local_key_file_is_created_private_and_refused_when_open(tmp_path: Path) -> None:
    from tuneguard.core import UserError

    provider = LocalFileKeyProvider(tmp_path / "keys")
    provider.key_id()
    assert (tmp_path / "keys" / "registry.kek").stat().st_mode & 0o777 == 0o600
    os.chmod(tmp_path / "keys" / "registry.kek", 0o644)
    with pytest.raises(UserError, match="chmod 600"):
        LocalFileKeyProvider(tmp_path / "keys").key_id()


def _store(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> BlobStore:
    if name == "file":
        return LocalBlobStore(tmp_path / "store")
    endpoint = request.getfixturevalue("s3_endpoint")
    _client, bucket = request.getfixturevalue("s3_bucket")
    return S3BlobStore(f"s3://{bucket}/p", endpoint_url=endpoint)


@pytest.mark.parametrize("name", sorted(BLOB_STORES))
def test_blob_store_contract(name: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    store = _store(name, tmp_path, request)
    assert store.name == name and store.prefixes() == []
    data = os.urandom(3 << 20)
    with store.open_write("objects/abc/one") as fh:
        fh.write(data[:1000])
        fh.write(data[1000:])
    with store.open_write("objects/def/two") as fh:
        fh.write(b"x")
    assert store.exists("objects/abc/one") and not store.exists("objects/abc/zzz")
    with store.open_read("objects/abc/one") as fh:
        assert fh.read() == data
    assert store.prefixes() == ["abc", "def"]
    store.delete_prefix("abc")
    assert store.prefixes() == ["def"] and not store.exists("objects/abc/one")
    with pytest.raises(FileNotFoundError):
        store.open_read("objects/abc/one").read()
    with pytest.raises(ValueError):
        store.open_write("objects/../../etc/passwd")
