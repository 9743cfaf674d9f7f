"""The gateway: a FastAPI app that authenticates, rate-limits, guards, proxies, and audits.

The two completion routes, which every proxied request takes, are plain ASGI (completions.py) that
GatewayApp answers before FastAPI's own stack; the other routes are ordinary FastAPI routes.
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send

import tuneguard
from tuneguard.core.policy import ServePolicy

from .anomaly import AnomalyDetector
from .completions import ROUTES, CompletionRoutes
from .dashboard import DASHBOARD_HTML
from .gateway import ApiError, Gateway, error_response
from .keys import KeyStore
from .openapi_schema import completion_paths, patch_schema
from .proxy import UpstreamError, call_json, make_client

log = logging.getLogger("tuneguard.serve")


class GatewayApp(FastAPI):
    """FastAPI, except that the completion paths go straight to CompletionRoutes (see completions.py)."""

    completions: CompletionRoutes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in ROUTES:
            await self.completions(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


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
) -> GatewayApp:
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

    app = GatewayApp(
        title="tuneguard gateway",
        version=tuneguard.__version__,
        lifespan=lifespan,
        docs_url="/docs" if policy.debug else None,
        redoc_url=None,
        openapi_url=None,
        debug=policy.debug,
    )
    app.state.gateway = gw
    app.completions = CompletionRoutes(gw)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.get("/v1/models", tags=["openai"])
    async def models(request: Request) -> Response:
        started, key, status = time.perf_counter(), None, 500
        gw.metrics.inflight += 1  # finish() takes it off
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

            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schema["paths"] = {**completion_paths(), **schema.get("paths", {})}
            app.openapi_schema = patch_schema(schema)
        return app.openapi_schema

    app.openapi = _openapi  # type: ignore[method-assign]
    return app
