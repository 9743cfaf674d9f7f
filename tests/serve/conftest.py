"""Fixtures: a stub upstream and gateways served by uvicorn on free loopback ports, in threads."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from tuneguard.core.policy import ServePolicy

from .stub_upstream import make_stub


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    def __init__(self, app: Any, **config: Any) -> None:
        self.port = free_port()
        self.app = app
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", **config
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def upstream() -> Iterator[ServerThread]:
    server = ServerThread(make_stub()).start()
    yield server
    server.stop()


@dataclass
class Gw:
    url: str
    app: Any
    server: ServerThread
    keys: dict[str, str]

    def client(self, role: str = "user", **kw: Any) -> httpx.Client:
        headers = {"authorization": f"Bearer {self.keys[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, trust_env=False, **kw)

    @property
    def gateway(self) -> Any:
        return self.app.state.gateway


@pytest.fixture
def make_gateway(upstream: ServerThread, tg_home: Any) -> Iterator[Any]:
    """Start a gateway (policy overrides as keyword arguments); stopped at test end."""
    from tuneguard.serve.app import create_app
    from tuneguard.serve.keys import KeyStore

    started: list[ServerThread] = []

    def start(
        upstream_url: str | None = None, app_kwargs: dict[str, Any] | None = None, **overrides: Any
    ) -> Gw:
        policy = ServePolicy(**{"output_judge": "off", **overrides})
        store = KeyStore(tg_home / f"serve-keys-{len(started)}.json")
        keys = {role: store.create(f"{role}-key", role)[1] for role in ("user", "admin", "metrics")}
        app = create_app(policy, upstream=upstream_url or upstream.url, keys=store, **(app_kwargs or {}))
        server = ServerThread(app).start()
        started.append(server)
        return Gw(server.url, app, server, keys)

    yield start
    for server in started:
        server.stop()


def pii_engine_or_skip() -> None:
    try:
        from tuneguard.data import PiiEngine  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"tuneguard.data.PiiEngine (data gate, issue 3) not available: {exc}")
