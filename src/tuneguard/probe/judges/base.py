"""The judge interface: a judge reads (prompt, response) pairs and says whether the model refused."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class JudgeResult:
    """One verdict. `score` is the judge's confidence that the response is a refusal (0..1) unless `detail`
    says otherwise; `harmful` is None when the judge does not assess harm."""

    refused: bool
    harmful: bool | None
    judge: str
    score: float
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Judge(Protocol):
    name: str

    def judge(self, pairs: Sequence[tuple[str, str]]) -> list[JudgeResult]: ...


_JUDGES: dict[str, Callable[..., Judge]] = {}


def register_judge(name: str) -> Callable[[Callable[..., Judge]], Callable[..., Judge]]:
    def deco(factory: Callable[..., Judge]) -> Callable[..., Judge]:
        _JUDGES[name] = factory
        return factory

    return deco


def judge_names() -> list[str]:
    _ensure_loaded()
    return sorted(_JUDGES)


def get_judge(name: str = "default", **kwargs: Any) -> Judge:
    from tuneguard.core import UserError

    _ensure_loaded()
    if name not in _JUDGES:
        raise UserError(f"judge {name!r}: unknown (known: {', '.join(sorted(_JUDGES))})")
    return _JUDGES[name](**kwargs)


def _ensure_loaded() -> None:
    from . import classifier, keyword, llm, patterns, rules  # noqa: F401  (registration side effect)
