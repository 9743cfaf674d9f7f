"""Target wrapping a Python callable, for library users: fn(messages) -> str, sync or async."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from .base import Generation, Messages


class CallableTarget:
    preferred_batch = 16

    def __init__(self, fn: Callable[[Messages], Any], name: str | None = None, **gen_params: Any) -> None:
        self.fn = fn
        self.id = f"callable:{name or getattr(fn, '__qualname__', 'fn')}"
        self.gen_params = dict(gen_params)

    def describe(self) -> dict[str, Any]:
        return {"kind": "callable", "name": self.id, **self.gen_params}

    async def aclose(self) -> None:
        return None

    async def agenerate(self, prompts: list[Messages]) -> list[Generation]:
        return list(await asyncio.gather(*(self._one(p) for p in prompts)))

    async def _one(self, messages: Messages) -> Generation:
        t0 = time.perf_counter()
        try:
            out = self.fn(messages)
            if inspect.isawaitable(out):
                out = await out
            if not isinstance(out, str):
                return Generation("", error=f"callable returned {type(out).__name__}, not str")
            return Generation(out, latency_s=time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - a failing callable is a per-item error
            return Generation(
                "", error=f"callable raised {type(exc).__name__}", latency_s=time.perf_counter() - t0
            )
