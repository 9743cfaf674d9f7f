"""The guarded completion routes as plain ASGI, answered before the FastAPI app (the per-request hot path).

Every proxied request takes this path, and on a CPU-bound gateway FastAPI's middleware stack (its native
telemetry check, body-limit and exception layers), routing, dependency solving, Request and Response objects
were a measurable share of it, so these two routes are served here with raw ASGI messages (app.GatewayApp
sends them here first); every other route is FastAPI's. The OpenAPI schema documents them by hand
(openapi_schema.completion_paths), so fuzzing and clients see the same contract as before.
"""

from __future__ import annotations

import os
import time
from typing import Any

import orjson
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from .gateway import ApiError, ClientGone, Gateway
from .keys import ApiKey
from .proxy import GuardedStream, UpstreamError, call_json, open_stream

ROUTES: dict[str, tuple[str, bool]] = {
    "/v1/chat/completions": ("chat", True),
    "/v1/completions": ("completions", False),
}
_JSON = (b"content-type", b"application/json")
_ROLES = ("user", "admin")


async def send_json(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [_JSON, (b"content-length", b"%d" % len(body)), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, exc: ApiError) -> None:
    body = orjson.dumps({"error": {"type": exc.etype, "message": exc.message}})
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()]
    await send_json(send, exc.status, body, headers)


class CompletionRoutes:
    """The ASGI app of the paths in ROUTES: POST is a guarded completion, any other method 405."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = ROUTES[scope["path"]]
        if scope["method"] != "POST":
            exc = ApiError(405, "invalid_request_error", "method not allowed", {"allow": "POST"})
            await send_error(send, exc)
        else:
            await self.completion(scope, receive, send, scope["path"], *route)

    async def completion(
        self, scope: Scope, receive: Receive, send: Send, path: str, route: str, chat: bool
    ) -> None:
        gw = self.gw
        started = time.perf_counter()
        gw.metrics.inflight += 1  # finish() takes it off
        key: ApiKey | None = None
        # os.urandom rather than uuid4(): same 128 random bits without building a UUID object
        request_id = os.urandom(16).hex()
        record: dict[str, Any] = {"request_id": request_id, "guards": []}
        status = 500
        auth, declared = "", None
        for name, value in scope["headers"]:
            if name == b"authorization":
                auth = value.decode("latin-1")
            elif name == b"content-length":
                declared = value
        try:
            key = gw.authorize(auth, _ROLES)
            wait = gw.limiter.take(key.id)
            if wait > 0:
                raise ApiError(
                    429,
                    "rate_limit_exceeded",
                    "rate limit exceeded for this key",
                    {"retry-after": str(max(1, round(wait)))},
                )
            body = await gw.read_json(declared, receive)
            model = body.get("model")
            record["model"] = str(model)[:200] if model is not None else None
            stream = body.get("stream") is True
            record["stream"] = stream
            t_guard = time.perf_counter()
            record["_prompt"] = gw.guard_input(body, chat, record["guards"])
            m = gw.metrics
            m.child(m.guard_latency, "input").observe(time.perf_counter() - t_guard)
            # Always re-serialised, never forwarded as received: the upstream then parses exactly the JSON the
            # guards saw (no duplicate keys or other parser differentials to slip a prompt past them).
            payload = orjson.dumps(body)
            if stream:
                t_up = time.perf_counter()
                resp = await open_stream(gw.client, path, payload)
                up_s = time.perf_counter() - t_up
                m.child(m.upstream_latency, route).observe(up_s)
                record["upstream_ms"] = round(up_s * 1000, 3)
                if resp.status != 200:
                    status = resp.status
                    try:
                        content = await resp.read()
                    finally:
                        resp.release()
                    await send_json(send, status, content, [])
                    return
                status = -1  # from here the relay does the bookkeeping, on every path
                await self._relay(scope, receive, send, resp, route, chat, key, started, record)
                return
            t_up = time.perf_counter()
            code, content = await call_json(gw.client, "POST", path, payload)
            up_s = time.perf_counter() - t_up
            m.child(m.upstream_latency, route).observe(up_s)
            record["upstream_ms"] = round(up_s * 1000, 3)
            status = code
            if code != 200:
                await send_json(send, code, content, [])
                return
            try:
                data = orjson.loads(content)
            except orjson.JSONDecodeError:
                raise ApiError(502, "upstream_error", "upstream returned a body that is not JSON") from None
            if not isinstance(data, dict):
                raise ApiError(502, "upstream_error", "upstream returned JSON that is not an object")
            t_guard = time.perf_counter()
            record["_response"], changed = gw.guard_output(data, chat, record["guards"])
            m.child(m.guard_latency, "output").observe(time.perf_counter() - t_guard)
            record["_usage"] = data.get("usage")
            out = orjson.dumps(data) if changed else content
            await send_json(send, 200, out, [(b"x-request-id", request_id.encode())])
        except ApiError as exc:
            status = exc.status
            if exc.etype == "guard_blocked":
                record["blocked_by"] = exc.headers.get("x-tuneguard-blocked")
            await send_error(send, exc)
        except UpstreamError as exc:
            status = 502
            record["upstream_error"] = str(exc)
            await send_error(send, ApiError(502, "upstream_error", str(exc)))
        except ClientGone:
            status = 499  # nginx's "client closed request": nothing to answer
        finally:
            if status != -1:
                gw.finish(route, status, key, started, record)

    async def _relay(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        resp: Any,
        route: str,
        chat: bool,
        key: ApiKey,
        started: float,
        record: dict[str, Any],
    ) -> None:
        """Relay a guarded SSE stream; `finish` runs exactly once, however the relay ends."""
        gw = self.gw
        finished = False

        def done(s: GuardedStream) -> None:
            nonlocal finished
            finished = True
            record["_response"] = s.output_text()
            record["_usage"] = s.usage
            for red in s.redactors.values():
                gw._count(red.hits, record["guards"])
            if s.error:
                record["upstream_error"] = s.error
            if s.blocked_by:
                record["blocked_by"] = s.blocked_by
            gw.finish(route, 502 if s.error else 200, key, started, record)

        # Starlette's StreamingResponse: it also stops the relay when the client disconnects mid-stream.
        relay = GuardedStream(resp, gw.outputs, chat, gw.holdback, done).__aiter__()
        response = StreamingResponse(
            relay,
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-request-id": record["request_id"]},
        )
        try:
            await response(scope, receive, send)
        finally:
            if not finished:
                await relay.aclose()  # a relay cut short: its own cleanup releases and records
            if not finished:  # the client left before the relay started: nothing ran yet
                resp.release()
                gw.finish(route, 499, key, started, record)
