"""What `Registry.verify` returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class VerifyResult:
    ref: str
    ok: bool
    files: int
    problems: list[dict[str, str]] = field(default_factory=list)  # {"file": ..., "message": ...}

    def to_dict(self) -> dict:
        return asdict(self)
