"""Anonymization operators: mask, redact, typed placeholder, keyed pseudonym, reversible token, drop-record.

Keys for pseudonyms (HMAC) and tokens (AES-SIV) live under TUNEGUARD_HOME/keys with 0600 permissions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tuneguard.core import UserError, create_private_file, keys_path, private_file_ok

from .fakes import fake_value
from .pii.spans import PiiSpan

OPERATORS = ("mask", "redact", "placeholder", "pseudonym", "tokenize", "drop-record", "keep")
PSEUDONYM_KEY = "data-pseudonym.key"
TOKEN_KEY = "data-token.key"  # noqa: S105 - a file name, not a secret
REDACTED = "[REDACTED]"
TOKEN_RE = re.compile(r"<tok:([A-Z_]+):([A-Za-z0-9_-]+)>")


def mask_preview(value: str, entity: str) -> str:
    """A low-information preview safe for reports and logs, e.g. `a***@e***.com`, `4***11`, `AKIA***`."""
    if entity == "EMAIL_ADDRESS" and "@" in value:
        local, _, domain = value.rpartition("@")
        tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
        return f"{local[:1]}***@{domain[:1]}***{'.' + tld if tld else ''}"
    if entity.startswith("SECRET_"):
        return value[:4] + "***" if len(value) > 12 else "***"
    if entity in ("PERSON", "LOCATION"):
        return value[:1] + "***"
    if len(value) <= 6:
        return "***"
    return value[:1] + "***" + value[-2:]


def mask_value(value: str) -> str:
    """Mask every letter and digit except the last four alphanumerics (separators stay)."""
    keep = 4 if sum(c.isalnum() for c in value) > 8 else 0
    out, seen = [], 0
    for ch in reversed(value):
        if ch.isalnum() or not ch.isascii():
            seen += 1
            out.append(ch if seen <= keep else "*")
        else:
            out.append(ch)
    return "".join(reversed(out))


def load_key(name: str, size: int, create: bool = True) -> bytes:
    """Read a key file under TUNEGUARD_HOME/keys, creating it (0600, random) on first use."""
    path = keys_path() / name
    if not path.exists():
        if not create:
            raise UserError(f"{path}: key not found")
        create_private_file(path, os.urandom(size))  # a concurrent creator's key wins; both read it below
    if not private_file_ok(path):
        raise UserError(f"{path}: key file must be readable by its owner only (chmod 600)")
    data = Path(path).read_bytes()
    if len(data) != size:
        raise UserError(f"{path}: key has {len(data)} bytes, expected {size}")
    return data


@dataclass
class RecordState:
    """Per-record numbering for placeholders, and what this record's replacements inserted."""

    numbers: dict[tuple[str, str], int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    inserted: set[str] = field(default_factory=set)
    drop: str | None = None


class Anonymizer:
    """Apply the operator configured for each entity (`operators`, else `default`) to detected spans."""

    def __init__(
        self,
        default: str = "placeholder",
        operators: Mapping[str, str] | None = None,
        create_keys: bool = True,
    ) -> None:
        for op in (default, *(operators or {}).values()):
            if op not in OPERATORS:
                raise UserError(f"unknown anonymization operator {op!r} (one of {', '.join(OPERATORS)})")
        self.default = default
        self.operators = dict(operators or {})
        used = {default, *self.operators.values()}
        self._hmac_key = load_key(PSEUDONYM_KEY, 32, create_keys) if "pseudonym" in used else None
        self._siv = None
        if "tokenize" in used:
            from cryptography.hazmat.primitives.ciphers.aead import AESSIV

            self._siv = AESSIV(load_key(TOKEN_KEY, 64, create_keys))

    def operator_for(self, entity: str) -> str:
        return self.operators.get(entity, self.default)

    def apply(self, text: str, spans: list[PiiSpan], state: RecordState | None = None) -> str:
        """Return `text` with every span replaced; text outside the spans is left byte-identical."""
        state = state if state is not None else RecordState()
        parts, pos = [], 0
        for span in sorted(spans, key=lambda s: s.start):
            op = self.operator_for(span.entity)
            if op == "keep":
                continue
            if op == "drop-record":
                state.drop = state.drop or span.entity
                continue
            value = text[span.start : span.end]
            replacement = self._replace(op, span.entity, value, state)
            state.inserted.add(replacement)
            parts.append(text[pos : span.start])
            parts.append(replacement)
            pos = span.end
        parts.append(text[pos:])
        return "".join(parts)

    def _replace(self, op: str, entity: str, value: str, state: RecordState) -> str:
        if op == "mask":
            return mask_value(value)
        if op == "redact":
            return REDACTED
        if op == "placeholder":
            key = (entity, value)
            if key not in state.numbers:
                state.counters[entity] = state.counters.get(entity, 0) + 1
                state.numbers[key] = state.counters[entity]
            return f"<{entity}_{state.numbers[key]}>"
        if op == "pseudonym":
            digest = hmac.new(self._hmac_key, f"{entity}\x00{value}".encode(), hashlib.sha256).digest()
            return fake_value(entity, value, random.Random(int.from_bytes(digest[:16], "big")))  # noqa: S311 - HMAC seed
        token = self._siv.encrypt(value.encode("utf-8"), [entity.encode()])
        return f"<tok:{entity}:{base64.urlsafe_b64encode(token).decode().rstrip('=')}>"


def redact_text(text: str, spans: list[PiiSpan], operator: str = "placeholder") -> str:
    """Replace `spans` in `text` with one operator (placeholders like `<EMAIL_ADDRESS_1>`, numbered per
    call)."""
    if operator == "drop-record":
        raise ValueError("drop-record applies to whole records, not to text")
    return Anonymizer(default=operator).apply(text, spans)


def detokenize_text(text: str) -> str:
    """Reverse `tokenize`: needs the token key under TUNEGUARD_HOME (authorized re-identification only)."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV

    siv = AESSIV(load_key(TOKEN_KEY, 64, create=False))

    def back(m: re.Match[str]) -> str:
        blob = base64.urlsafe_b64decode(m.group(2) + "=" * (-len(m.group(2)) % 4))
        try:
            return siv.decrypt(blob, [m.group(1).encode()]).decode("utf-8")
        except InvalidTag:
            raise UserError("a token does not decrypt with this key (wrong TUNEGUARD_HOME?)") from None

    return TOKEN_RE.sub(back, text)
