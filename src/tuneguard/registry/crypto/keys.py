"""Key providers: where the key-encryption key (KEK) that wraps each version's data key lives.

A provider is one small class registered by name in `KEY_PROVIDERS`. `local` (default) keeps a 256-bit KEK in
TUNEGUARD_HOME/keys/registry.kek with 0600 permissions, created on first use; `env` reads it from
TUNEGUARD_REGISTRY_KEK (64 hex chars or base64); `vault` asks HashiCorp Vault's transit engine to wrap and
unwrap so the KEK never leaves Vault.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path
from typing import ClassVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tuneguard.core import UserError, create_private_file, private_file_ok

from .stream import KEY_SIZE, IntegrityError

KEK_FILE = "registry.kek"
KEK_ENV = "TUNEGUARD_REGISTRY_KEK"
PROVIDER_ENV = "TUNEGUARD_KEY_PROVIDER"


class KeyProvider:
    """Wraps and unwraps 32-byte data keys; `associated_data` binds the wrapped key to its version."""

    name: ClassVar[str] = ""

    def key_id(self) -> str:
        raise NotImplementedError

    def wrap(self, data_key: bytes, associated_data: bytes) -> str:
        raise NotImplementedError

    def unwrap(self, wrapped: str, associated_data: bytes) -> bytes:
        raise NotImplementedError


class _AesKekProvider(KeyProvider):
    """Wraps with AES-256-GCM under a local KEK: base64(nonce(12) || ciphertext || tag)."""

    def _kek(self) -> bytes:
        raise NotImplementedError

    def key_id(self) -> str:
        return hashlib.sha256(b"tuneguard-kek-id\0" + self._kek()).hexdigest()[:16]

    def wrap(self, data_key: bytes, associated_data: bytes) -> str:
        nonce = os.urandom(12)
        return base64.b64encode(
            nonce + AESGCM(self._kek()).encrypt(nonce, data_key, associated_data)
        ).decode()

    def unwrap(self, wrapped: str, associated_data: bytes) -> bytes:
        try:
            raw = base64.b64decode(wrapped, validate=True)
            return AESGCM(self._kek()).decrypt(raw[:12], raw[12:], associated_data)
        except (InvalidTag, binascii.Error, ValueError):
            raise IntegrityError(
                "data key cannot be unwrapped: wrong key-encryption key, or the version's"
                " metadata was tampered with"
            ) from None


class LocalFileKeyProvider(_AesKekProvider):
    name = "local"

    def __init__(self, keys_dir: Path) -> None:
        self.path = keys_dir / KEK_FILE
        self._cached: bytes | None = None

    def _kek(self) -> bytes:
        if self._cached is not None:
            return self._cached
        if not self.path.exists():  # two processes creating it at once end up with one key
            create_private_file(self.path, os.urandom(KEY_SIZE))
        if not private_file_ok(self.path):
            raise UserError(f"{self.path}: key file is readable by group or others; chmod 600 it")
        key = self.path.read_bytes()
        if len(key) != KEY_SIZE:
            raise UserError(f"{self.path}: key file must hold exactly 32 bytes")
        self._cached = key
        return key


class EnvKeyProvider(_AesKekProvider):
    name = "env"

    def _kek(self) -> bytes:
        raw = os.environ.get(KEK_ENV, "").strip()
        if not raw:
            raise UserError(f"{KEK_ENV} is not set (key provider 'env')")
        try:
            key = bytes.fromhex(raw) if len(raw) == 64 else base64.b64decode(raw, validate=True)
        except (ValueError, binascii.Error):
            raise UserError(f"{KEK_ENV}: not hex or base64") from None
        if len(key) != KEY_SIZE:
            raise UserError(f"{KEK_ENV}: must decode to 32 bytes")
        return key


class VaultTransitKeyProvider(KeyProvider):
    """HashiCorp Vault transit: VAULT_ADDR, VAULT_TOKEN, TUNEGUARD_VAULT_KEY (default 'tuneguard').

    The transit key should be created with `derived=true` so the context (our associated data) is bound;
    without it Vault ignores the context and only the metadata row binds the key to its version.
    """

    name = "vault"

    def __init__(
        self,
        addr: str | None = None,
        token: str | None = None,
        key: str | None = None,
        transport: object | None = None,
    ) -> None:
        self.addr = (addr or os.environ.get("VAULT_ADDR", "")).rstrip("/")
        self.token = token or os.environ.get("VAULT_TOKEN", "")
        self.key = key or os.environ.get("TUNEGUARD_VAULT_KEY", "tuneguard")
        self.transport = transport
        if not self.addr or not self.token:
            raise UserError("key provider 'vault' needs VAULT_ADDR and VAULT_TOKEN")

    def _post(self, op: str, body: dict) -> dict:
        import httpx

        kwargs = {"transport": self.transport} if self.transport is not None else {}
        with httpx.Client(timeout=30, **kwargs) as client:  # type: ignore[arg-type]
            resp = client.post(
                f"{self.addr}/v1/transit/{op}/{self.key}", json=body, headers={"X-Vault-Token": self.token}
            )
        if resp.status_code >= 400:
            raise IntegrityError(f"vault transit {op} failed with HTTP {resp.status_code}")
        return resp.json()["data"]

    def key_id(self) -> str:
        return f"vault:{self.key}"

    def wrap(self, data_key: bytes, associated_data: bytes) -> str:
        return self._post(
            "encrypt",
            {
                "plaintext": base64.b64encode(data_key).decode(),
                "context": base64.b64encode(associated_data).decode(),
            },
        )["ciphertext"]

    def unwrap(self, wrapped: str, associated_data: bytes) -> bytes:
        data = self._post(
            "decrypt", {"ciphertext": wrapped, "context": base64.b64encode(associated_data).decode()}
        )
        return base64.b64decode(data["plaintext"])


KEY_PROVIDERS: dict[str, type[KeyProvider]] = {
    LocalFileKeyProvider.name: LocalFileKeyProvider,
    EnvKeyProvider.name: EnvKeyProvider,
    VaultTransitKeyProvider.name: VaultTransitKeyProvider,
}


def key_provider(name: str | None, keys_dir: Path) -> KeyProvider:
    chosen = name or os.environ.get(PROVIDER_ENV) or "local"
    if chosen not in KEY_PROVIDERS:
        raise UserError(f"{PROVIDER_ENV}={chosen}: unknown key provider (known: {', '.join(KEY_PROVIDERS)})")
    if chosen == "local":
        return LocalFileKeyProvider(keys_dir)
    return KEY_PROVIDERS[chosen]()
