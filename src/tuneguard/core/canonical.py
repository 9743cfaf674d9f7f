"""Canonical JSON: the one byte form that hashes and signatures are computed over."""
from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Sorted keys, no insignificant whitespace, UTF-8 kept as is, NaN refused.

    Hashes must not depend on dict order or on the JSON library's defaults, so every
    component that hashes structured data goes through here.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_bytes(value: Any) -> bytes:
    return canonical_json(value).encode("utf-8")
