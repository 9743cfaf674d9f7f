"""Target for any OpenAI-compatible chat endpoint (vLLM, Ollama, TGI, llama.cpp server, hosted APIs).

httpx async with a semaphore for bounded concurrency, a per-request timeout, and retries with
exponential backoff (honouring Retry-After) on 429, 5xx and transport errors. Anything else —
4xx, a body that is not the expected JSON — becomes a per-item error, never an exception that stops the run.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from typing import Any

from tuneguard.core import UserError

from .base import Generation, Messages

RETRY_STATUS = {429, 500, 502, 503, 504}


class OpenAITarget:
    preferred_batch = 64

    def __init__(
        self,
        base_url: str,
        model: str = "default",
        *,
        api_key_env: str | None = None,
        concurrency: int = 8,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_new_tokens: int = 96,
        temperature: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.concurrency, self.timeout, self.retries, self.backoff = concurrency, timeout, retries, backoff
        self.gen_params = {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed}
        self.id = f"openai:{self.base_url}#{model}"
        self._client: Any = None
        self._sem: asyncio.Semaphore | None = None
        self._api_key: str | None = None
        if api_key_env:
            self._api_key = os.environ.get(api_key_env)
            if not self._api_key:
                raise UserError(f"target {self.id}: environment variable {api_key_env} (API key) is not set")

    @classmethod
    def from_spec(cls, spec: str, **kwargs: Any) -> OpenAITarget:
        rest = spec[len("openai:") :] if spec.startswith("openai:") else spec
        url, _, model = rest.partition("#")
        if not url.startswith(("http://", "https://")):
            raise UserError(f"target {spec}: expected openai:http(s)://HOST[:PORT]/v1[#model]")
        return cls(url, model or "default", **kwargs)

    def describe(self) -> dict[str, Any]:
        return {"kind": "openai", "url": self.base_url, "model": self.model, **self.gen_params}

    def _ensure(self) -> None:
        if self._client is None:
            import httpx

            headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
            limits = httpx.Limits(
                max_connections=self.concurrency, max_keepalive_connections=self.concurrency
            )
            try:
                # httpx's own async pool costs ~2-5 ms of CPU per request under concurrency; the aiohttp
                # transport keeps the httpx API at about 2.5x the throughput (bench/probe_runner.py).
                from httpx_aiohttp import HttpxAiohttpClient as client_cls
            except ImportError:
                client_cls = httpx.AsyncClient
            self._client = client_cls(timeout=self.timeout, headers=headers, limits=limits)
            self._sem = asyncio.Semaphore(self.concurrency)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def agenerate(self, prompts: list[Messages]) -> list[Generation]:
        self._ensure()
        return list(await asyncio.gather(*(self._one(p) for p in prompts)))

    async def _one(self, messages: Messages) -> Generation:
        import httpx

        assert self._sem is not None
        body = {
            "model": self.model,
            "messages": messages,
            "max_tokens": self.gen_params["max_new_tokens"],
            "temperature": self.gen_params["temperature"],
            "seed": self.gen_params["seed"],
        }
        url = f"{self.base_url}/chat/completions"
        last = "no attempt"
        t0 = time.perf_counter()
        async with self._sem:
            for attempt in range(self.retries + 1):
                try:
                    resp = await asyncio.wait_for(self._client.post(url, json=body), self.timeout)
                except (httpx.TransportError, TimeoutError) as exc:
                    last = _transport_error(exc, self.timeout)
                else:
                    if resp.status_code == 200:
                        return _parse(resp, time.perf_counter() - t0, attempt)
                    last = f"HTTP {resp.status_code}"
                    if resp.status_code not in RETRY_STATUS:
                        break
                    if attempt < self.retries:
                        await asyncio.sleep(_delay(resp.headers.get("retry-after"), self.backoff, attempt))
                        continue
                    break
                if attempt < self.retries:
                    await asyncio.sleep(_delay(None, self.backoff, attempt))
        return Generation("", error=last, latency_s=time.perf_counter() - t0)


def _transport_error(exc: BaseException, timeout: float) -> str:
    """'timeout after Ns' or 'unreachable: <kind>', looking through the aiohttp transport's exception mapping
    (it reports a refused connection as a ConnectTimeout)."""
    if isinstance(exc, asyncio.TimeoutError):
        return f"timeout after {timeout:g}s"
    cause = exc.__cause__ or exc
    name = type(cause).__name__
    if isinstance(cause, asyncio.TimeoutError) or "Timeout" in name:
        return f"timeout after {timeout:g}s"
    return f"unreachable: {name}"


def _delay(retry_after: str | None, base: float, attempt: int) -> float:
    if retry_after:
        try:
            return min(float(retry_after), 30.0)
        except ValueError:
            pass
    return base * (2**attempt) * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not crypto


def _parse(resp: Any, latency: float, attempt: int) -> Generation:
    try:
        doc = resp.json()
        content = doc["choices"][0]["message"]["content"]
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise TypeError("content is not a string")
    except Exception as exc:  # noqa: BLE001 - any malformed body is a per-item error
        return Generation("", error=f"malformed response: {type(exc).__name__}", latency_s=latency)
    return Generation(content, latency_s=latency, meta={"attempts": attempt + 1})
