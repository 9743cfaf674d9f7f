"""The target interface: something that turns chat messages into a response, asynchronously, in batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

Messages = list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class Generation:
    """One response; `error` is set (and `text` empty) when the target failed for this item."""

    text: str
    error: str | None = None
    latency_s: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)


class Target(Protocol):
    """A model under test. `id` and `gen_params` key the response cache, so they must change whenever
    the weights or the decoding settings do."""

    id: str
    gen_params: dict[str, Any]
    preferred_batch: int

    async def agenerate(self, prompts: list[Messages]) -> list[Generation]: ...

    async def aclose(self) -> None: ...

    def describe(self) -> dict[str, Any]: ...


def as_messages(prompt: str | Messages, system: str | None = None) -> Messages:
    if isinstance(prompt, str):
        msgs: Messages = [{"role": "user", "content": prompt}]
    else:
        msgs = list(prompt)
    if system and not any(m.get("role") == "system" for m in msgs):
        msgs = [{"role": "system", "content": system}, *msgs]
    return msgs
