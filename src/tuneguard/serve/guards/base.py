"""The guard extension point: one small class per guard, registered by name, each finding spans in text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

Action = Literal["block", "redact", "log"]
Direction = Literal["input", "output"]


@dataclass(frozen=True, slots=True)
class Span:
    """A region a guard flagged; `kind` is the entity or signal type (EMAIL_ADDRESS, ignore_instructions)."""

    start: int
    end: int
    kind: str
    score: float = 1.0


@dataclass(frozen=True, slots=True)
class GuardHit:
    """One guard decision about one text, as counted in metrics and written to the audit log (no raw text)."""

    guard: str
    kind: str
    action: str
    count: int = 1
    score: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "guard": self.guard,
            "kind": self.kind,
            "action": self.action,
            "count": self.count,
            "score": round(self.score, 3),
        }


class Guard:
    """Base class. Subclasses set `name` and `direction` and implement `find`.

    `available()` lets a guard whose backend (the data gate's PII engine, the probe judges) is missing
    say so instead of silently passing everything.
    """

    name: ClassVar[str] = ""
    direction: ClassVar[Direction] = "input"
    # Longest text a single finding can span; the streaming redactor holds back at least this much.
    max_span_chars: ClassVar[int] = 0

    def __init__(self, action: Action, **options: Any) -> None:
        if action not in ("block", "redact", "log"):
            raise ValueError(f"guard {self.name}: unknown action {action!r}")
        self.action: Action = action
        self.options = options

    def available(self) -> tuple[bool, str]:
        return True, ""

    def find(self, text: str) -> list[Span]:  # pragma: no cover - abstract
        raise NotImplementedError


GUARDS: dict[str, type[Guard]] = {}


def register_guard(cls: type[Guard]) -> type[Guard]:
    if not cls.name or cls.name in GUARDS:
        raise ValueError(f"guard class {cls.__name__}: missing or duplicate name {cls.name!r}")
    GUARDS[cls.name] = cls
    return cls
