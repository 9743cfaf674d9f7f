"""The gateway: a FastAPI app that authenticates, rate-limits, guards, proxies, and audits."""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

import tuneguard
from tuneguard.core.policy import ServePolicy

from .anomaly import AnomalyDetector
from .dashboard import DASHBOARD_HTML
from .gateway import ApiError, Gateway, error_response
from .keys import ApiKey, KeyStore
from .openapi_schema import CHAT_BODY, COMPLETION_BODY, patch_schema
from .proxy import GuardedStream, UpstreamError, call_json, make_client, open_stream

log = logging.getLogger("tuneguard.serve")


def create_app(
    policy: ServePolicy | None = None,
    *,
    upstream: str | None = None,
    keys: KeyStore | None = None,
    ledger_path: Path | None = None,
    templates: tuple[str | Path, ...] = (),
    detector: AnomalyDetector | None = None,
    holdback: int = 256,
    policy_digest: str | None = None,
) -> FastAPI:
    """Build the gateway app. `upstream` defaults to the policy's; the keys and ledger to TUNEGUARD_HOME's."""
    policy = policy or ServePolicy()
    target = upstream or policy.upstream
    if not target:
        raise ValueError("no upstream: pass --upstream URL or set [serve] upstream in the policy")
    gw = Gateway(policy, target, keys or KeyStore(), ledger_path, templates, detector, holdback)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        gw.client = make_client(target, policy.upstream_timeout_s)
        gw.audit.start()
        missing = {name: why for name, (ok, why) in gw.guard_status.items() if not ok}
        for name, why in missing.items():
            log.error("guard %s is NOT active: %s", name, why)
        gw.audit.event(
            "gateway_start",
            {
                "upstream": target,
                "policy_sha256": policy_digest,
                "tool_version": tuneguard.__version__,
                "guards_unavailable": missing,
            },
        )
        try:
            yield
        finally:
            await gw.client.aclose()
            gw.audit.event("gateway_stop", {"requests": gw.audit.submitted})
            gw.audit.close()

    app = FastAPI(
        title="tuneguard gateway",
        version=tuneguard.__version__,
        lifespan=lifespan,
        docs_url="/docs" if policy.debug else None,
        redoc_url=None,
        openapi_url=None,
        debug=policy.debug,
    )
    app.state.gateway = gw

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    async def completion(request: Request, route: str, chat: bool) -> Response:
        started = time.perf_counter()
        key: ApiKey | None = None
        record: dict[str, Any] = {"request_id": uuid.uuid4().hex, "guards": []}
        status = 500
        try:
            key = gw.authenticate(request, ("user", "admin"))
            wait = gw.limiter.take(key.id)
            if wait > 0:
                raise ApiError(
                    429,
                    "rate_limit_exceeded",
                    "rate limit exceeded for this key",
                    {"retry-after": str(max(1, round(wait)))},
                )
            body = await gw.read_json(request)
            record["model"] = str(body.get("model"))[:200] if body.get("model") is not None else None
            stream = body.get("stream") is True
            record["stream"] = stream
            t_guard = time.perf_counter()
            record["_prompt"] = gw.guard_input(body, chat, record["guards"])
            gw.metrics.guard_latency.labels("input").observe(time.perf_counter() - t_guard)
            payload = orjson.dumps(body)
            path = "/v1/chat/completions" if chat else "/v1/completions"
            t_up = time.perf_counter()
            if stream:
                resp = await open_stream(gw.client, path, payload)
                gw.metrics.upstream_latency.labels(route).observe(time.perf_counter() - t_up)
                record["upstream_ms"] = round((time.perf_counter() - t_up) * 1000, 3)
                if resp.status != 200:
                    try:
                        content = await resp.read()
                    finally:
                        resp.release()
                    status = resp.status
                    return Response(content, status_code=status, media_type="application/json")

                def done(s: GuardedStream) -> None:
                    record["_response"] = s.output_text()
                    record["_usage"] = s.usage
                    for red in s.redactors.values():
                        gw._count(red.hits, record["guards"])
                    if s.error:
                        record["upstream_error"] = s.error
                    if s.blocked_by:
                        record["blocked_by"] = s.blocked_by
                    gw.finish(route, 502 if s.error else 200, key, started, record)

                status = -1  # finished by the stream's on_done
                return StreamingResponse(
                    GuardedStream(resp, gw.outputs, chat, gw.holdback, done).__aiter__(),
                    media_type="text/event-stream",
                    headers={"cache-control": "no-cache", "x-request-id": record["request_id"]},
                )
            code, content = await call_json(gw.client, "POST", path, payload)
            gw.metrics.upstream_latency.labels(route).observe(time.perf_counter() - t_up)
            record["upstream_ms"] = round((time.perf_counter() - t_up) * 1000, 3)
            status = code
            if code != 200:
                return Response(content, status_code=code, media_type="application/json")
            try:
                data = orjson.loads(content)
            except orjson.JSONDecodeError:
                raise ApiError(502, "upstream_error", "upstream returned a body that is not JSON") from None
            if not isinstance(data, dict):
                raise ApiError(502, "upstream_error", "upstream returned JSON that is not an object")
            t_guard = time.perf_counter()
            record["_response"], changed = gw.guard_output(data, chat, record["guards"])
            gw.metrics.guard_latency.labels("output").observe(time.perf_counter() - t_guard)
            record["_usage"] = data.get("usage")
            return Response(
                orjson.dumps(data) if changed else content,
                media_type="application/json",
                headers={"x-request-id": record["request_id"]},
            )
        except ApiError as exc:
            status = exc.status
            if exc.etype == "guard_blocked":
                record["blocked_by"] = exc.headers.get("x-tuneguard-blocked")
            return error_response(exc)
        except UpstreamError as exc:
            status = 502
            record["upstream_error"] = str(exc)
            return error_response(ApiError(502, "upstream_error", str(exc)))
        finally:
            if status != -1:
                gw.finish(route, status, key, started, record)

    @app.post("/v1/chat/completions", openapi_extra={"requestBody": CHAT_BODY}, tags=["openai"])
    async def chat_completions(request: Request) -> Response:
        """OpenAI chat completions, guarded (supports `stream: true`)."""
        return await completion(request, "chat", chat=True)

    @app.post("/v1/completions", openapi_extra={"requestBody": COMPLETION_BODY}, tags=["openai"])
    async def completions(request: Request) -> Response:
        """OpenAI text completions, guarded (supports `stream: true`)."""
        return await completion(request, "completions", chat=False)

    @app.get("/v1/models", tags=["openai"])
    async def models(request: Request) -> Response:
        started, key, status = time.perf_counter(), None, 500
        try:
            key = gw.authenticate(request, ("user", "admin"))
            status, content = await call_json(gw.client, "GET", "/v1/models", None)
            return Response(content, status_code=status, media_type="application/json")
        except ApiError as exc:
            status = exc.status
            return error_response(exc)
        except UpstreamError as exc:
            status = 502
            return error_response(ApiError(502, "upstream_error", str(exc)))
        finally:
            gw.finish("models", status, key, started, {"guards": []})

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, Any]:
        """Liveness, and which guards are active (no authentication)."""
        inactive = sorted(name for name, (ok, _) in gw.guard_status.items() if not ok)
        return {
            "status": "ok" if not inactive else "degraded",
            "guards_inactive": inactive,
            "audit_queue": gw.audit.depth(),
        }

    @app.get("/metrics", tags=["ops"])
    async def metrics(request: Request) -> Response:
        """Prometheus metrics (role admin or metrics)."""
        gw.authenticate(request, ("admin", "metrics"))
        gw.metrics.audit_queue.set(gw.audit.depth())
        gw.metrics.audit_shipped.set(gw.audit.shipped)
        return Response(gw.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/dashboard", response_class=HTMLResponse, tags=["ops"])
    async def dashboard(request: Request) -> HTMLResponse:
        """The admin dashboard (role admin; HTTP Basic with the key as password, or Bearer)."""
        gw.authenticate(request, ("admin",), basic=True)
        return HTMLResponse(
            DASHBOARD_HTML,
            headers={
                "cache-control": "no-store",
                "content-security-policy": "default-src 'self'; "
                "script-src 'unsafe-inline'; style-src 'unsafe-inline'",
            },
        )

    @app.get("/dashboard/data", tags=["ops"])
    async def dashboard_data(request: Request) -> Response:
        gw.authenticate(request, ("admin",), basic=True)
        snap = gw.live.snapshot()
        snap["guards_inactive"] = sorted(n for n, (ok, _) in gw.guard_status.items() if not ok)
        return Response(
            orjson.dumps(snap), media_type="application/json", headers={"cache-control": "no-store"}
        )

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        gw.authenticate(request, ("user", "admin", "metrics"))
        return JSONResponse(app.openapi())

    def _openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            app.openapi_schema = patch_schema(
                get_openapi(title=app.title, version=app.version, routes=app.routes)
            )
        return app.openapi_schema

    app.openapi = _openapi  # type: ignore[method-assign]
    return app
