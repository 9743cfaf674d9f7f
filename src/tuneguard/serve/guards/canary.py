"""Canary leakage: configured marker strings (planted in system prompts or training data) must never leave."""

from __future__ import annotations

import re
from typing import Any

from .base import Guard, Span, register_guard


@register_guard
class CanaryGuard(Guard):
    """Flags any configured canary in a response, case-insensitively."""

    name = "output_canary"
    direction = "output"

    def __init__(self, action: Any, canaries: list[str] | None = None, **options: Any) -> None:
        super().__init__(action, **options)
        self.canaries = [c for c in (canaries or []) if c]
        self._pattern = (
            re.compile(
                "|".join(re.escape(c) for c in sorted(self.canaries, key=len, reverse=True)), re.IGNORECASE
            )
            if self.canaries
            else None
        )
        self.max_span_chars = max((len(c) for c in self.canaries), default=0)

    def find(self, text: str) -> list[Span]:
        if self._pattern is None:
            return []
        return [Span(m.start(), m.end(), "CANARY") for m in self._pattern.finditer(text)]
