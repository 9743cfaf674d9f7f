"""`tuneguard registry serve`: the registry over HTTP (FastAPI) for several users, with token auth and roles.

Every request, allowed or denied (including a missing or wrong token), is a ledger entry. Run it behind TLS
(`--ssl-certfile/--ssl-keyfile`, or a terminating proxy) whenever it listens beyond loopback.
"""

import hashlib
import hmac
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.background import BackgroundTask

from tuneguard.core import GateFailed, Ledger, UserError

from . import access
from .crypto import IntegrityError
from .registry import Registry
from .tarstream import extract_tar, iter_tar

TOKEN_CACHE_S = 60.0


class _TokenCache:
    """Argon2 costs ~50 ms, so a verified token is kept briefly by SHA-256 (compared in constant time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[bytes, access.Principal, float]] = {}

    def get(self, token: str) -> access.Principal | None:
        digest = hashlib.sha256(token.encode()).digest()
        key = digest[:8].hex()
        with self._lock:
            hit = self._entries.get(key)
        if hit and hmac.compare_digest(hit[0], digest) and hit[2] > time.monotonic():
            return hit[1]
        return None

    def put(self, token: str, principal: access.Principal) -> None:
        digest = hashlib.sha256(token.encode()).digest()
        with self._lock:
            self._entries[digest[:8].hex()] = (digest, principal, time.monotonic() + TOKEN_CACHE_S)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def create_app(registry: Registry) -> FastAPI:
    app = FastAPI(title="tuneguard registry", version="1")
    cache = _TokenCache()

    def caller(request: Request) -> Registry:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        principal = cache.get(token) if token else None
        if principal is None:
            principal = access.authenticate(registry.engine, token)
            if principal is None:
                with Ledger(registry.home / "ledger.db") as ledger:
                    ledger.append(
                        "registry",
                        {
                            "operation": request.url.path,
                            "allowed": False,
                            "reason": "missing or invalid token",
                        },
                        kind="access",
                        actor="anonymous",
                    )
                raise HTTPException(401, "missing or invalid token", headers={"WWW-Authenticate": "Bearer"})
            cache.put(token or "", principal)
        return registry.as_principal(principal)

    Caller = Annotated[Registry, Depends(caller)]

    @app.exception_handler(access.AccessDenied)
    async def _denied(_req: Request, exc: access.AccessDenied) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=403)

    @app.exception_handler(UserError)
    async def _user(_req: Request, exc: UserError) -> JSONResponse:
        status = 404 if "no such" in str(exc) else 400
        return JSONResponse({"error": str(exc)}, status_code=status)

    @app.exception_handler(GateFailed)
    async def _gate(_req: Request, exc: GateFailed) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=409)

    @app.exception_handler(IntegrityError)
    async def _integrity(_req: Request, exc: IntegrityError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=409)

    @app.get("/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/artifacts")
    def list_versions(reg: Caller) -> list[dict[str, Any]]:
        return reg.list()

    @app.get("/v1/artifacts/{name}/history")
    def history(name: str, reg: Caller) -> dict[str, Any]:
        return reg.history(name)

    @app.get("/v1/resolve")
    def resolve(ref: str, reg: Caller) -> dict[str, Any]:
        reg._authorize("list", ref)
        name, version = reg.resolve(ref)
        return {"name": name, "version": version, "ref": f"{name}@v{version}"}

    @app.post("/v1/verify")
    def verify(ref: str, reg: Caller) -> dict[str, Any]:
        return reg.verify(ref).to_dict()

    @app.post("/v1/promote")
    def promote(ref: str, alias: str, reg: Caller) -> dict[str, Any]:
        return reg.promote(ref, alias)

    @app.post("/v1/rollback")
    def rollback(name: str, alias: str, reg: Caller) -> dict[str, Any]:
        return reg.rollback(name, alias)

    @app.post("/v1/users")
    def add_user(name: str, role: str, reg: Caller) -> dict[str, str]:
        return {"name": name, "role": role, "token": reg.add_user(name, role)}

    @app.delete("/v1/users/{name}")
    def remove_user(name: str, reg: Caller) -> dict[str, str]:
        reg.remove_user(name)
        cache.clear()  # a removed user's cached token must stop working at once
        return {"removed": name}

    @app.get("/v1/audit")
    def audit(reg: Caller) -> list[dict[str, Any]]:
        return reg.audit()

    @app.post("/v1/push")
    async def push(
        request: Request, reg: Caller, name: str, kind: str = "model", lineage: str = "{}"
    ) -> dict[str, str]:
        import json

        if not reg.principal.allowed("push"):
            reg._authorize("push", name)  # records the denial and raises
        try:
            lineage_map = json.loads(lineage)
        except ValueError:
            raise UserError("lineage: not JSON") from None
        tmp = Path(tempfile.mkdtemp(prefix="upload-", dir=_tmp_root(reg)))
        try:
            body = tmp / "body.tar"
            with open(body, "wb") as fh:
                async for chunk in request.stream():
                    fh.write(chunk)
            folder = tmp / "artifact"
            folder.mkdir(mode=0o700)
            try:
                with open(body, "rb") as fh:
                    await run_in_threadpool(extract_tar, fh, folder)
            except (ValueError, OSError) as exc:
                raise UserError(f"upload: not an acceptable tar stream ({exc})") from None
            body.unlink()
            ref = await run_in_threadpool(reg.push, folder, name, kind, lineage_map)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return {"ref": ref}

    @app.get("/v1/pull")
    def pull(ref: str, reg: Caller) -> StreamingResponse:
        tmp = Path(tempfile.mkdtemp(prefix="serve-pull-", dir=_tmp_root(reg)))
        try:
            out = reg.pull(ref, tmp / "artifact")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

        def body() -> Iterator[bytes]:
            yield from iter_tar(out)

        return StreamingResponse(
            body(), media_type="application/x-tar", background=BackgroundTask(shutil.rmtree, tmp, True)
        )

    return app


def _tmp_root(reg: Registry) -> Path:
    root = reg.home / "tmp"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def serve(
    registry: Registry, host: str, port: int, ssl_certfile: str | None = None, ssl_keyfile: str | None = None
) -> None:
    import uvicorn

    uvicorn.run(
        create_app(registry),
        host=host,
        port=port,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        log_level="warning",
    )
