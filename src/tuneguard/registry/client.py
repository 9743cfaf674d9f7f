"""`--remote URL`: the same operations as `Registry`, over HTTP to `tuneguard registry serve`, token from
TUNEGUARD_TOKEN."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import httpx

from tuneguard.core import GateFailed, UserError

from .access import AccessDenied
from .result import VerifyResult
from .tarstream import IterReader, extract_tar, iter_tar

TOKEN_ENV = "TUNEGUARD_TOKEN"  # noqa: S105 (the variable's name, not a secret)


class RemoteRegistry:
    def __init__(self, url: str, token: str | None = None, timeout: float = 600.0) -> None:
        token = token or os.environ.get(TOKEN_ENV)
        if not token:
            raise UserError(f"--remote needs an API token in {TOKEN_ENV}")
        self.url = url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.url, timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RemoteRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, resp: httpx.Response) -> httpx.Response:
        if resp.status_code < 400:
            return resp
        try:
            message = resp.json().get("error") or resp.json().get("detail") or resp.text
        except ValueError:
            message = resp.text
        if resp.status_code in (401, 403):
            raise AccessDenied(f"{self.url}: {message}")
        if resp.status_code == 409:
            raise GateFailed(str(message))
        raise UserError(f"{self.url}: {message}")

    def _json(self, method: str, path: str, **params: Any) -> Any:
        return self._check(self._client.request(method, path, params=params)).json()

    def push(
        self,
        folder: str | os.PathLike[str],
        name: str,
        kind: str = "model",
        lineage: dict[str, Any] | None = None,
    ) -> str:
        resp = self._client.post(
            "/v1/push",
            params={"name": name, "kind": kind, "lineage": json.dumps(lineage or {})},
            content=iter_tar(Path(folder)),
            headers={"Content-Type": "application/x-tar"},
        )
        return self._check(resp).json()["ref"]

    def pull(self, ref: str, out_dir: str | os.PathLike[str]) -> Path:
        out = Path(out_dir)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UserError(f"{out}: already exists and is not an empty folder")
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.pull-", dir=out.parent))
        try:
            with self._client.stream("GET", "/v1/pull", params={"ref": ref}) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    self._check(resp)
                extract_tar(IterReader(resp.iter_bytes(1 << 20)), staging)
            os.chmod(staging, 0o755)  # noqa: S103 (a normal folder for the user, like mkdir)
            if out.exists():
                out.rmdir()
            os.replace(staging, out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return out

    def verify(self, ref: str) -> VerifyResult:
        return VerifyResult(**self._json("POST", "/v1/verify", ref=ref))

    def resolve(self, ref: str) -> tuple[str, int]:
        data = self._json("GET", "/v1/resolve", ref=ref)
        return data["name"], data["version"]

    def list(self) -> list[dict[str, Any]]:
        return self._json("GET", "/v1/artifacts")

    def history(self, name: str) -> dict[str, Any]:
        return self._json("GET", f"/v1/artifacts/{name}/history")

    def promote(self, ref: str, alias: str) -> dict[str, Any]:
        return self._json("POST", "/v1/promote", ref=ref, alias=alias)

    def rollback(self, name: str, alias: str) -> dict[str, Any]:
        return self._json("POST", "/v1/rollback", name=name, alias=alias)

    def add_user(self, name: str, role: str) -> str:
        return self._json("POST", "/v1/users", name=name, role=role)["token"]

    def remove_user(self, name: str) -> None:
        self._json("DELETE", f"/v1/users/{name}")

    def audit(self) -> list[dict[str, Any]]:
        return self._json("GET", "/v1/audit")
