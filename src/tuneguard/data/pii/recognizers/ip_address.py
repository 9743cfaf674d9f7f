"""IP_ADDRESS: dotted-quad IPv4 and IPv6 candidates, kept only when `ipaddress` parses them."""

from __future__ import annotations

import functools
import ipaddress

from .base import Pattern, Recognizer

_V4 = r"(?<![0-9A-Za-z.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9A-Za-z]|\.[0-9])"
_V6 = r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:[0-9]{1,3}\.){3}[0-9]{1,3})?(?![0-9A-Za-z:])"  # noqa: E501


class IpAddressRecognizer(Recognizer):
    name = "ip_address"
    entities = ("IP_ADDRESS",)
    patterns = (
        Pattern(_V4, 0.85, prefilter=r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"),
        Pattern(_V6, 0.85, prefilter=r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}"),
    )
    context = ("ip", "address", "server", "host", "地址", "服务器")
    negative_context = ("version", "v.", "release", "版本", "build")
    context_window = 24
    context_boost = 0.1

    def __init__(self) -> None:
        super().__init__()
        # `ipaddress` parsing is slow (an exception on every timestamp-like candidate) and depends on the
        # value only: verdicts are memoized per instance, like the phone verdicts.
        self._is_ip = functools.lru_cache(maxsize=16384)(_is_ip)

    def reset_memos(self) -> None:
        self._is_ip.cache_clear()

    def validate(self, value, text, start, end):
        if start > 0 and text[start - 1] in "vV":
            return None
        return ("IP_ADDRESS", 1.0) if self._is_ip(value) else None


def _is_ip(value: str) -> bool:
    """Whether `value` is an IPv4 or IPv6 address worth reporting."""
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return False
    if addr.version == 6 and (value.count(":") < 3 and "::" not in value or value in ("::", "::1")):
        return False
    return not (addr.version == 4 and value.startswith("0."))
