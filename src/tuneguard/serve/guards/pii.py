"""PII and secret guards for prompts and responses, backed by the data gate's engine (tuneguard.data)."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from .base import Guard, Span, register_guard

_ENGINE: Any = None
_ENGINE_ERROR = ""
_ENGINE_LOCK = threading.Lock()


def pii_engine() -> Any:
    """One shared tuneguard.data.PiiEngine (its construction compiles patterns, so do it once)."""
    global _ENGINE, _ENGINE_ERROR
    if _ENGINE is not None:  # every guarded message asks: no lock once built
        return _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None and not _ENGINE_ERROR:
            try:
                from tuneguard.data import PiiEngine

                _ENGINE = PiiEngine()
            except Exception as exc:  # ImportError while the data gate is absent, or its own init errors
                _ENGINE_ERROR = f"tuneguard.data.PiiEngine unavailable ({exc.__class__.__name__}: {exc})"
    return _ENGINE


def pii_engine_error() -> str:
    pii_engine()
    return _ENGINE_ERROR


class _PiiGuard(Guard):
    max_span_chars: ClassVar[int] = 200

    def available(self) -> tuple[bool, str]:
        return (pii_engine() is not None, pii_engine_error())

    def find(self, text: str) -> list[Span]:
        engine = pii_engine()
        if engine is None or not text:
            return []
        return [
            Span(s.start, s.end, str(s.entity), float(getattr(s, "score", 1.0))) for s in engine.find(text)
        ]


@register_guard
class InputPiiGuard(_PiiGuard):
    """Personal data and secrets in prompts (emails, phone numbers, card numbers, API keys ...)."""

    name = "input_pii"
    direction = "input"


@register_guard
class OutputPiiGuard(_PiiGuard):
    """Personal data and secrets in model output; redacted to typed placeholders before the user sees them."""

    name = "output_pii"
    direction = "output"
