"""`serve --model`: a registry version pulled to a private temp dir (wiped at once), behind the gateway."""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx
import pytest

from tuneguard.core.policy import ServePolicy

from .conftest import ServerThread


def _private_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("tuneguard-serve-*")}


@pytest.mark.slow
def test_registry_version_served_through_gateway(embedded_folder: Path, tg_home: Path) -> None:
    registry = pytest.importorskip("tuneguard.registry")
    from tuneguard.serve.app import create_app
    from tuneguard.serve.keys import KeyStore
    from tuneguard.serve.local_model import start_model_upstream

    reg = registry.Registry.open()
    try:
        ref = reg.push(embedded_folder, "smol")
    finally:
        reg.close()
    before = _private_dirs()
    url, model_server = start_model_upstream(ref)
    try:
        assert _private_dirs() == before  # decrypted files are gone once the weights are in memory
        store = KeyStore()
        key = store.create("u", "user")[1]
        gw = ServerThread(create_app(ServePolicy(output_judge="off"), upstream=url, keys=store)).start()
        try:
            with httpx.Client(
                base_url=gw.url, headers={"authorization": f"Bearer {key}"}, timeout=120, trust_env=False
            ) as c:
                assert c.get("/v1/models").json()["data"][0]["id"] == ref
                r = c.post(
                    "/v1/chat/completions",
                    json={
                        "model": ref,
                        "max_tokens": 8,
                        "messages": [{"role": "user", "content": "Say hello."}],
                    },
                )
                assert r.status_code == 200, r.text
                assert r.json()["choices"][0]["message"]["content"].strip()
                assert r.json()["usage"]["completion_tokens"] > 0
        finally:
            gw.stop()
    finally:
        model_server.should_exit = True
