"""A small keep-alive HTTP/1.1 client for the gateway's non-streaming upstream calls (its hot path).

aiohttp builds a request object, a URL, header multidicts, timers and a response object for every call; for
the gateway's JSON-in, JSON-out exchange over a pooled connection that was most of its upstream cost. Here
a call is one pre-formatted header block plus the body, written at once, and the response is parsed by
httptools (the C parser uvicorn uses). Streaming responses still go through aiohttp (proxy.py).

Like aiohttp and Go's net/http, a POST is never retried: a connection that dies mid-call is an error. To
keep that rare, an idle connection is reused only while the server has not closed it and for at most
IDLE_S seconds, below the 5 s keep-alive of uvicorn-based model servers (vLLM among them).
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from collections import deque
from urllib.parse import urlsplit

import httptools

IDLE_S = 4.0
CONNECT_S = 5.0
MAX_BODY = 256 << 20


class PoolError(Exception):
    """A failed call; `kind` is "connect", "timeout" or "protocol" (proxy.describe words it)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


class _Conn(asyncio.Protocol):
    """One connection; carries one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._body: list[bytes] = []
        self._size = 0
        self._framed = False  # Content-Length or chunked: the parser sees the end; else the close is the end
        self._encoding = b""
        self._headers_done = False
        self._last_data = 0.0

    # -- asyncio.Protocol --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: the connection's framing can't be trusted
            self.closed = True
            if self.transport is not None:
                self.transport.close()
            return
        self._last_data = self.loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(PoolError("protocol", f"malformed response ({exc.__class__.__name__})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._headers_done and not self._framed:
            self._done()  # a response delimited by the end of the connection
        else:
            waiter.set_exception(PoolError("protocol", "connection closed before the response ended"))

    # -- httptools callbacks -----------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-length" or (name == b"transfer-encoding" and b"chunked" in value.lower()):
            self._framed = True
        elif name == b"content-encoding":
            self._encoding = value.strip().lower()

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self._status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_BODY:
            self._fail(PoolError("protocol", f"response body over {MAX_BODY} bytes"))
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if not self._parser.should_keep_alive():
            self.closed = True
            if self.transport is not None:
                self.transport.close()
        self._done()

    # -- the exchange ------------------------------------------------------------------------------
    def _done(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        body = b"".join(self._body)
        if self._encoding in (b"gzip", b"deflate"):  # not asked for, but a server may send it anyway
            try:
                body = zlib.decompress(body, 47)  # 47: gzip or zlib header, detected
            except zlib.error:
                waiter.set_exception(PoolError("protocol", "undecodable compressed response"))
                return
        elif self._encoding not in (b"", b"identity"):
            waiter.set_exception(PoolError("protocol", "unsupported content-encoding"))
            return
        waiter.set_result((self._status, body))

    def _fail(self, exc: PoolError) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def _check_timeout(self, timeout: float) -> None:
        """Inactivity timeout (as aiohttp's sock_read): re-armed while bytes keep arriving."""
        if self._waiter is None or self._waiter.done():
            return
        left = self._last_data + timeout - self.loop.time()
        if left > 0:
            self._timer = self.loop.call_later(left, self._check_timeout, timeout)
        else:
            self._fail(PoolError("timeout", "read timeout"))

    async def exchange(self, data: bytes, timeout: float) -> tuple[int, bytes]:
        assert self.transport is not None
        self._reset()
        self._waiter = self.loop.create_future()
        self._last_data = self.loop.time()
        self._timer = self.loop.call_later(timeout, self._check_timeout, timeout)
        try:
            self.transport.write(data)
            return await self._waiter
        except asyncio.CancelledError:
            self._fail(PoolError("protocol", "cancelled"))  # a half-read response: the connection is unusable
            raise
        finally:
            self._timer.cancel()
            self._waiter = None


class UpstreamPool:
    """Keep-alive connections to one base URL, at most `limit` open; `request` is one call."""

    def __init__(self, base_url: str, timeout_s: float, headers: dict[str, str], limit: int = 256) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream {base_url!r}: need http(s)://host[:port][/path]")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self.prefix = parts.path.rstrip("/")
        self.timeout_s = timeout_s
        self.limit = limit
        hostport = parts.netloc.rpartition("@")[2]
        fixed = {"host": hostport, "user-agent": "tuneguard", **{k.lower(): v for k, v in headers.items()}}
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode("latin-1")
        self._idle: deque[_Conn] = deque()
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Conn(loop),
                    self.host,
                    self.port,
                    ssl=self.ssl,
                    server_hostname=self.host if self.ssl else None,
                ),
                CONNECT_S,
            )
        except (TimeoutError, OSError) as exc:
            raise PoolError("connect", exc.__class__.__name__) from None
        return conn

    async def _acquire(self) -> _Conn:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()  # the most recently used: the least likely to be closed by the server
            if not conn.closed and now - conn.idle_since < IDLE_S:
                return conn
            self._discard(conn)
        while self._open >= self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken, then cancelled: pass the free slot on
                raise
            if self._idle:
                return await self._acquire()
        self._open += 1
        try:
            return await self._connect()
        except BaseException:
            self._open -= 1
            self._wake()
            raise

    def _discard(self, conn: _Conn) -> None:
        if conn.transport is not None:
            conn.transport.close()
        self._open -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _release(self, conn: _Conn, reusable: bool) -> None:
        if reusable and not conn.closed:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
            self._wake()
        else:
            self._discard(conn)

    async def request(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        """(status, body) of one call; PoolError when it could not be made or completed."""
        head = f"{method} {self.prefix}{path} HTTP/1.1\r\n".encode("latin-1") + self._fixed
        if body is not None:
            data = head + b"content-length: %d\r\n\r\n" % len(body) + body
        else:
            data = head + b"\r\n"
        conn = await self._acquire()
        reusable = False
        try:
            result = await conn.exchange(data, self.timeout_s)
            reusable = True
            return result
        finally:
            self._release(conn, reusable)

    async def aclose(self) -> None:
        while self._idle:
            self._discard(self._idle.pop())
