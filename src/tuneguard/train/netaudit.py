"""Outbound network auditing during training: one process-wide audit hook that is inert outside a run.

`sys.addaudithook` hooks can never be removed, so the hook is installed once and does nothing unless a
`NetworkAudit` is active. While one is, every `socket.connect`, `socket.getaddrinfo` and `socket.sendto`
is recorded with its destination (the connection itself is not blocked: this is an audit, and the
finding says who tried to reach what).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any

_EVENTS = frozenset({"socket.connect", "socket.getaddrinfo", "socket.sendto"})
_install_lock = threading.Lock()
_installed = False
_active: list[NetworkAudit] = []  # the stack of active audits; empty = hook is inert


@dataclass(frozen=True, slots=True)
class NetworkAttempt:
    event: str
    host: str
    port: int | None
    family: str

    def destination(self) -> str:
        return f"{self.host}:{self.port}" if self.port is not None else self.host

    def is_loopback(self) -> bool:
        return self.host in {"localhost", "::1"} or self.host.startswith("127.") or self.family == "AF_UNIX"


def _describe(event: str, args: tuple[Any, ...]) -> NetworkAttempt:
    if event == "socket.getaddrinfo":
        host, port = args[0], args[1]
        host = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
        return NetworkAttempt(event, host, int(port) if isinstance(port, int) else None, "resolve")
    sock, address = args[0], args[1]
    family = getattr(getattr(sock, "family", None), "name", "unknown")
    if isinstance(address, tuple) and address:
        host = address[0].decode("ascii", "replace") if isinstance(address[0], bytes) else str(address[0])
        port = address[1] if len(address) > 1 and isinstance(address[1], int) else None
        return NetworkAttempt(event, host, port, family)
    return NetworkAttempt(event, str(address), None, family)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    # Called for every audited event in the process: keep the common path to one truth test.
    if not _active or event not in _EVENTS:
        return
    try:
        attempt = _describe(event, args)
    except Exception:  # noqa: BLE001 - an audit hook must never break the caller
        attempt = NetworkAttempt(event, "<unparsed>", None, "unknown")
    for audit in tuple(_active):
        audit._record(attempt)


def _ensure_installed() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True


class NetworkAudit:
    """Context manager: collects outbound network attempts made by this process while active."""

    def __init__(self, limit: int = 1000) -> None:
        self.attempts: list[NetworkAttempt] = []
        self.dropped = 0
        self._limit = limit
        self._lock = threading.Lock()

    def _record(self, attempt: NetworkAttempt) -> None:
        with self._lock:
            if len(self.attempts) < self._limit:
                self.attempts.append(attempt)
            else:
                self.dropped += 1

    def start(self) -> NetworkAudit:
        _ensure_installed()
        if self not in _active:
            _active.append(self)
        return self

    def stop(self) -> None:
        if self in _active:
            _active.remove(self)

    @property
    def active(self) -> bool:
        return self in _active

    def __enter__(self) -> NetworkAudit:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
