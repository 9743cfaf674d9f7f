"""The gateway's own keep-alive HTTP/1.1 client (serve/upstream_pool.py) against raw-socket servers."""

from __future__ import annotations

import asyncio
import gzip

import pytest

from tuneguard.serve.upstream_pool import PoolError, UpstreamPool


async def _serve(handler) -> tuple[asyncio.AbstractServer, str, list[bytes]]:  # type: ignore[no-untyped-def]
    """A server answering each request with handler(request_head_and_body) -> raw response bytes (or None)."""
    seen: list[bytes] = []
    connections = [0]

    async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[0] += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                req = head + (await reader.readexactly(length) if length else b"")
                seen.append(req)
                out = await handler(req)
                if out is None:
                    writer.close()
                    return
                writer.write(out)
                await writer.drain()
                if b"connection: close" in out.lower():
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.connections = connections  # type: ignore[attr-defined]
    return server, f"http://127.0.0.1:{port}/base", seen


def _ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def test_keep_alive_framing_and_headers() -> None:
    async def main() -> None:
        replies = iter(
            [
                _ok(b'{"a":1}'),
                b'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\n{"b\r\n4\r\n":2}\r\n0\r\n\r\n',
                _ok(gzip.compress(b'{"c":3}'), b"content-encoding: gzip\r\n"),
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}",
                b'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{"d":4}',  # delimited by the close
                _ok(b'{"e":5}'),
            ]
        )

        async def handler(req: bytes) -> bytes:
            return next(replies)

        server, url, seen = await _serve(handler)
        pool = UpstreamPool(url, 5.0, {"Authorization": "Bearer up"})
        got = [await pool.request("POST", "/v1/x", b'{"q":1}') for _ in range(5)]
        got.append(await pool.request("GET", "/v1/models", None))
        await pool.aclose()
        server.close()
        assert got == [
            (200, b'{"a":1}'),
            (200, b'{"b":2}'),
            (200, b'{"c":3}'),
            (404, b"{}"),
            (200, b'{"d":4}'),
            (200, b'{"e":5}'),
        ]
        assert server.connections[0] == 2  # one reused for four calls, a new one after the close
        assert seen[0].startswith(b"POST /base/v1/x HTTP/1.1\r\n") and seen[0].endswith(b'\r\n\r\n{"q":1}')
        assert b"authorization: Bearer up\r\n" in seen[0] and b"content-length: 7\r\n" in seen[0]
        assert seen[-1].startswith(b"GET /base/v1/models HTTP/1.1\r\n")

    asyncio.run(main())


def test_failures_are_pool_errors_and_connections_recover() -> None:
    async def main() -> None:
        plan = iter(["sleep", "drop", "garbage", "ok"])

        async def handler(req: bytes) -> bytes | None:
            step = next(plan)
            if step == "sleep":
                await asyncio.sleep(1.0)
                return _ok(b"late")
            if step == "drop":
                return None
            if step == "garbage":
                return b"NOT HTTP AT ALL\r\n\r\n"
            return _ok(b"{}")

        server, url, _ = await _serve(handler)
        pool = UpstreamPool(url, 0.2, {})
        kinds = []
        for _ in range(3):
            with pytest.raises(PoolError) as err:
                await pool.request("POST", "/x", b"{}")
            kinds.append(err.value.kind)
        assert kinds == ["timeout", "protocol", "protocol"]
        assert await pool.request("POST", "/x", b"{}") == (200, b"{}")
        assert pool._open == 1  # the failed connections were not kept
        await pool.aclose()
        server.close()
        dead = UpstreamPool(url, 1.0, {})
        with pytest.raises(PoolError) as err:
            await dead.request("POST", "/x", b"{}")
        assert err.value.kind == "connect"

    asyncio.run(main())


def test_connection_limit_queues_callers() -> None:
    async def main() -> None:
        async def handler(req: bytes) -> bytes:
            await asyncio.sleep(0.05)
            return _ok(b"{}")

        server, url, _ = await _serve(handler)
        pool = UpstreamPool(url, 5.0, {}, limit=2)
        results = await asyncio.gather(*(pool.request("POST", "/x", b"{}") for _ in range(8)))
        assert results == [(200, b"{}")] * 8 and server.connections[0] == 2
        await pool.aclose()
        server.close()

    asyncio.run(main())
