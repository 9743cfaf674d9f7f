"""Registry cryptography: segmented streaming AEAD for blobs and key providers for envelope encryption."""

from .keys import (
    KEY_PROVIDERS,
    EnvKeyProvider,
    KeyProvider,
    LocalFileKeyProvider,
    VaultTransitKeyProvider,
    key_provider,
)
from .stream import IntegrityError, decrypt_stream, encrypt_stream, seal, unseal

__all__ = [
    "KEY_PROVIDERS",
    "EnvKeyProvider",
    "IntegrityError",
    "KeyProvider",
    "LocalFileKeyProvider",
    "VaultTransitKeyProvider",
    "decrypt_stream",
    "encrypt_stream",
    "key_provider",
    "seal",
    "unseal",
]
