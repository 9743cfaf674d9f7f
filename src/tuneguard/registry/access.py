"""Role-based access: which role may do what, and API tokens (shown once, stored as argon2id hashes).

A token is `tgr_<token id>_<secret>`: the id finds the row, the secret is checked against the argon2 hash. An
unknown id still costs one argon2 verification so that timing does not tell valid ids from invalid ones.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from tuneguard.core import UserError

from .meta import now, users

OPERATIONS = ("push", "pull", "verify", "list", "history", "promote", "rollback", "users", "audit")
ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset(OPERATIONS),
    "trainer": frozenset({"push", "pull", "list", "history", "verify"}),
    "deployer": frozenset({"pull", "list", "history", "verify", "promote", "rollback"}),
    "auditor": frozenset({"list", "history", "verify", "audit"}),
}
TOKEN_PREFIX = "tgr_"  # noqa: S105 (a public prefix, not a secret)
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # For constant-time misses; computed on first use, not at import (an argon2 hash costs ~0.2 s).
    return _hasher.hash("tuneguard-dummy-secret")


class AccessDenied(Exception):
    """The caller's role does not allow the operation (HTTP 403, CLI exit 1)."""


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: str

    def allowed(self, operation: str) -> bool:
        return operation in ROLES.get(self.role, frozenset())


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"--role {role}: unknown role (known: {', '.join(ROLES)})")
    return role


def add_user(engine: Engine, name: str, role: str) -> str:
    """Create a user and return its token; only the argon2 hash is stored."""
    check_role(role)
    if not name or len(name) > 200 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise UserError(f"user name {name!r}: use letters, digits, '-', '_' or '.'")
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(users).values(
                    name=name, role=role, token_id=token_id, token_hash=_hasher.hash(secret), created=now()
                )
            )
    except IntegrityError:
        raise UserError(f"user {name!r} already exists (remove it first to issue a new token)") from None
    return f"{TOKEN_PREFIX}{token_id}_{secret}"


def remove_user(engine: Engine, name: str) -> None:
    with engine.begin() as conn:
        if conn.execute(delete(users).where(users.c.name == name)).rowcount == 0:
            raise UserError(f"user {name!r} does not exist")


def list_users(engine: Engine) -> list[dict[str, str]]:
    with engine.connect() as conn:
        return [
            {"name": r["name"], "role": r["role"], "created": r["created"]}
            for r in conn.execute(select(users).order_by(users.c.name)).mappings()
        ]


def authenticate(engine: Engine, token: str | None) -> Principal | None:
    """The user a token belongs to, or None. Cost is one argon2 verification whether or not the id exists."""
    if not token or not token.startswith(TOKEN_PREFIX):
        _verify(_dummy_hash(), "x")
        return None
    token_id, _, secret = token.removeprefix(TOKEN_PREFIX).partition("_")
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.token_id == token_id)).mappings().first()
    if row is None:
        _verify(_dummy_hash(), secret)
        return None
    return Principal(row["name"], row["role"]) if _verify(row["token_hash"], secret) else None


def _verify(stored: str, secret: str) -> bool:
    try:
        return _hasher.verify(stored, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
