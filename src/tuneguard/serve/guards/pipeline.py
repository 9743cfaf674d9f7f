"""Run a direction's guards over a text and apply their policy actions; the streaming redactor for SSE."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .base import Guard, GuardHit, Span


@dataclass(slots=True)
class Verdict:
    text: str
    hits: list[GuardHit] = field(default_factory=list)
    blocked: bool = False
    blocked_by: str = ""


class Placeholders:
    """Typed placeholders (<EMAIL_ADDRESS_1>) numbered per distinct value, stable across a whole response."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], int] = {}
        self._count: dict[str, int] = {}

    def __call__(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self._seen:
            self._count[kind] = self._count.get(kind, 0) + 1
            self._seen[key] = self._count[kind]
        return f"<{kind}_{self._seen[key]}>"


def _replace(text: str, spans: list[Span], placeholder: Callable[[str, str], str]) -> str:
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: (s.start, -s.end)):
        if s.start < pos:
            continue  # overlaps a span already replaced
        out.append(text[pos : s.start])
        out.append(placeholder(s.kind, text[s.start : s.end]))
        pos = s.end
    out.append(text[pos:])
    return "".join(out)


class GuardSet:
    """The guards of one direction (input or output), applied in order."""

    def __init__(self, guards: list[Guard]) -> None:
        self.guards = guards
        self.max_span_chars = max((g.max_span_chars for g in guards), default=0)

    def __bool__(self) -> bool:
        return bool(self.guards)

    def scan(self, text: str) -> list[tuple[Guard, list[Span]]]:
        return [(g, spans) for g in self.guards if (spans := g.find(text))]

    def apply(
        self,
        text: str,
        placeholder: Callable[[str, str], str] | None = None,
        found: list[tuple[Guard, list[Span]]] | None = None,
    ) -> Verdict:
        found = self.scan(text) if found is None else found
        if not found:
            return Verdict(text)
        verdict = Verdict(text)
        redact: list[Span] = []
        for guard, spans in found:
            per_kind: dict[str, list[Span]] = {}
            for s in spans:
                per_kind.setdefault(s.kind, []).append(s)
            for kind, group in per_kind.items():
                verdict.hits.append(
                    GuardHit(guard.name, kind, guard.action, len(group), max(s.score for s in group))
                )
            if guard.action == "block" and not verdict.blocked:
                verdict.blocked, verdict.blocked_by = True, guard.name
            elif guard.action == "redact":
                redact.extend(spans)
        if redact and not verdict.blocked:
            verdict.text = _replace(text, redact, placeholder or Placeholders())
        return verdict


class StreamRedactor:
    """Guards a text that arrives in pieces, emitting only what can no longer change.

    Text is held back until it is at least `holdback` characters from the end of what has arrived, and a
    finding that straddles the emit point is held back whole. With `holdback` >= the longest finding, any
    value split across chunks is complete before any of it is emitted, so it is redacted (or blocks the
    stream) exactly as it would be in a whole response.
    """

    def __init__(self, guards: GuardSet, holdback: int = 256) -> None:
        self.guards = guards
        self.holdback = max(holdback, guards.max_span_chars + 32)
        self.placeholders = Placeholders()
        self.hits: list[GuardHit] = []
        self.blocked_by = ""
        self._buf = ""

    def feed(self, piece: str, final: bool = False) -> str:
        """Add text; return the guarded text that is now safe to emit ('' while holding back)."""
        self._buf += piece
        if self.blocked_by or not self._buf:
            return ""
        if not final and len(self._buf) <= self.holdback:
            return ""
        found = self.guards.scan(self._buf)
        cut = len(self._buf) if final else len(self._buf) - self.holdback
        for _, spans in found:
            for s in spans:
                if s.start < cut < s.end:
                    cut = s.start
        if cut <= 0:
            return ""
        head = [(g, [s for s in spans if s.end <= cut]) for g, spans in found]
        head = [(g, spans) for g, spans in head if spans]
        verdict = self.guards.apply(self._buf[:cut], self.placeholders, head)
        self.hits.extend(verdict.hits)
        self._buf = self._buf[cut:]
        if verdict.blocked:
            self.blocked_by = verdict.blocked_by
            return ""
        return verdict.text

    def flush(self) -> str:
        return self.feed("", final=True)
