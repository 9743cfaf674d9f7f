"""API keys for the gateway: created once, shown once, stored only as SHA-256 digests in a 0600 file.

A key is 256 random bits, so an unsalted SHA-256 digest is enough to make the stored file useless to a
thief (there is nothing to brute-force), and it keeps each lookup at one hash, which matters on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import orjson

from tuneguard.core import UserError, atomic_write_bytes, tuneguard_home
from tuneguard.core.ledger import utc_now

Role = Literal["user", "admin", "metrics"]
ROLES: tuple[str, ...] = ("user", "admin", "metrics")
KEY_PREFIX = "tg_"
KEYS_FILE = "serve-keys.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def keys_file() -> Path:
    return tuneguard_home() / KEYS_FILE


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    role: str
    sha256: str
    created: str
    revoked: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None

    def public(self) -> dict[str, object]:
        """What may be shown or logged: everything but the digest."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "created": self.created,
            "revoked": self.revoked,
        }


class KeyStore:
    """The key file; re-read when it changes on disk so a revoke takes effect on a running gateway."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else keys_file()
        self._lock = threading.Lock()
        self._by_digest: dict[str, ApiKey] = {}
        self._keys: list[ApiKey] = []
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self._load()

    # -- file ---------------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._keys, self._by_digest, self._stamp = [], {}, None
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return
        try:
            raw = orjson.loads(self.path.read_bytes())
            keys = [ApiKey(**k) for k in raw.get("keys", [])]
        except (OSError, orjson.JSONDecodeError, TypeError, AttributeError) as exc:
            raise UserError(f"{self.path}: not a tuneguard key file ({exc.__class__.__name__})") from exc
        self._keys = keys
        self._by_digest = {k.sha256: k for k in keys if k.active}
        self._stamp = stamp

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = orjson.dumps(
            {"format": "tuneguard-serve-keys", "version": 1, "keys": [asdict(k) for k in self._keys]},
            option=orjson.OPT_INDENT_2,
        )
        atomic_write_bytes(self.path, data)
        os.chmod(self.path, 0o600)
        self._stamp = None
        self._load()

    def refresh(self, max_age_s: float = 1.0) -> None:
        now = time.monotonic()
        if now - self._checked >= max_age_s:
            with self._lock:
                self._checked = now
                self._load()

    # -- management ---------------------------------------------------------------------------
    def create(self, name: str, role: str) -> tuple[ApiKey, str]:
        """Make a key; returns the record and the secret, which is never stored or shown again."""
        if not _NAME.match(name):
            raise UserError(f"--name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise UserError(f"--role {role!r}: must be one of {', '.join(ROLES)}")
        with self._lock:
            self._load()
            if any(k.name == name and k.active for k in self._keys):
                raise UserError(f"--name {name}: an active key with this name exists (revoke it first)")
            secret = KEY_PREFIX + secrets.token_urlsafe(32)
            record = ApiKey(
                id="k_" + secrets.token_hex(6),
                name=name,
                role=role,
                sha256=key_digest(secret),
                created=utc_now(),
            )
            self._keys.append(record)
            self._save()
        return record, secret

    def revoke(self, name_or_id: str) -> ApiKey:
        with self._lock:
            self._load()
            for i, k in enumerate(self._keys):
                if k.active and name_or_id in (k.name, k.id):
                    revoked = ApiKey(k.id, k.name, k.role, k.sha256, k.created, utc_now())
                    self._keys[i] = revoked
                    self._save()
                    return revoked
        raise UserError(f"no active key named {name_or_id!r} (see `tuneguard serve keys list`)")

    def list(self) -> list[ApiKey]:
        with self._lock:
            self._load()
            return list(self._keys)

    # -- request path -------------------------------------------------------------------------
    def authenticate(self, presented: str | None) -> ApiKey | None:
        """The active key matching `presented`, or None. The digest comparison is constant-time."""
        if not presented or len(presented) > 256:
            return None
        self.refresh()
        digest = key_digest(presented)
        found = self._by_digest.get(digest)
        if found is not None and hmac.compare_digest(found.sha256, digest):
            return found
        return None
