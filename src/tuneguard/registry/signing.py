"""OpenSSF model signing (the `model-signing` package, key-based ECDSA P-256) of artifact folders.

The signing key is generated on first use under TUNEGUARD_HOME/keys (0600). Keyless Sigstore signing needs the
public Sigstore services (OIDC + Fulcio + Rekor) and so a network; `SIGNERS` keeps the seam for it, but
only the key-based signer is wired up here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from tuneguard.core import UserError, create_private_file, private_file_ok

PRIVATE_KEY = "registry-signing.pem"
PUBLIC_KEY = "registry-signing.pub.pem"


@dataclass(frozen=True, slots=True)
class SignatureProblem:
    file: str | None
    message: str


class EcKeySigner:
    """ECDSA P-256 signing in the OpenSSF model-signing (Sigstore bundle, DSSE in-toto) format."""

    name = "ec-key"

    def __init__(self, keys_dir: Path) -> None:
        self.private_path = keys_dir / PRIVATE_KEY
        self.public_path = keys_dir / PUBLIC_KEY

    def ensure_keys(self) -> None:
        if self.private_path.exists():
            if not private_file_ok(self.private_path):
                raise UserError(
                    f"{self.private_path}: signing key is readable by group or others; chmod 600 it"
                )
            if not self.public_path.exists():
                self._write_public()
            return
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        if not create_private_file(self.private_path, pem):  # another process won the race; use its key
            return self.ensure_keys()
        self._write_public()

    def _write_public(self) -> None:
        from cryptography.hazmat.primitives import serialization

        from tuneguard.core import atomic_write_bytes

        key = serialization.load_pem_private_key(self.private_path.read_bytes(), None)
        atomic_write_bytes(
            self.public_path,
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            perms=0o644,
        )

    def key_id(self) -> str:
        self.ensure_keys()
        return "ec-p256:" + hashlib.sha256(self.public_path.read_bytes()).hexdigest()[:16]

    def sign(self, folder: Path, signature_path: Path) -> None:
        from model_signing import signing

        self.ensure_keys()
        config = signing.Config().use_elliptic_key_signer(private_key=self.private_path)
        config.set_hashing_config(_hashing_config())
        config.sign(folder, signature_path)

    def verify(self, folder: Path, signature_path: Path) -> list[SignatureProblem]:
        """Empty list = the signature is valid and every file's hash matches; else one entry per problem."""
        from model_signing import verifying

        config = verifying.Config().use_elliptic_key_verifier(public_key=self.public_path)
        config.set_hashing_config(_hashing_config())
        try:
            config.verify(folder, signature_path)
        except ValueError as exc:
            return _problems(str(exc))
        except Exception as exc:  # a malformed bundle raises protobuf/JSON errors from deep inside
            return [SignatureProblem(None, f"signature bundle is not valid: {exc.__class__.__name__}: {exc}")]
        return []


def _hashing_config():
    from model_signing import hashing

    # Git files are part of the artifact here, so nothing is left out of the signature.
    return hashing.Config().set_ignored_paths(paths=[], ignore_git_paths=False)


# model-signing reports differences as the str() of a list, so quotes inside may arrive backslash-escaped.
_HASH_MISMATCH = re.compile(r"Hash mismatch for \\?'(.+?)\\?': Expected")
_LISTED = re.compile(r"(Extra|Missing) files (?:found )?in model \\?'.*?\\?': (.+?)(?:\\?[\"'](?:, |\])|$)")


def _problems(message: str) -> list[SignatureProblem]:
    found = [
        SignatureProblem(m.group(1), f"{m.group(1)}: content does not match its signed hash")
        for m in _HASH_MISMATCH.finditer(message)
    ]
    for m in _LISTED.finditer(message):
        which = m.group(1)
        names = m.group(2).strip().strip("'\"\\")
        for name in names.split(", "):
            word = "not covered by the signature" if which == "Extra" else "signed but missing"
            found.append(SignatureProblem(name, f"{name}: {word}"))
    return found or [SignatureProblem(None, f"signature verification failed: {message}")]


SIGNERS: dict[str, type[EcKeySigner]] = {EcKeySigner.name: EcKeySigner}
