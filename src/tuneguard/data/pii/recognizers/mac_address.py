"""MAC_ADDRESS: six hex octets with colons or dashes, or Cisco's three dotted groups."""

from __future__ import annotations

from .base import Pattern, Recognizer

_EDGE_B, _EDGE_A = r"(?<![0-9A-Za-z:-])", r"(?![0-9A-Za-z:-])"


class MacAddressRecognizer(Recognizer):
    name = "mac_address"
    entities = ("MAC_ADDRESS",)
    patterns = (
        Pattern(
            _EDGE_B + r"[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}" + _EDGE_A,
            0.85,
            prefilter=_EDGE_B + r"[0-9A-Fa-f]{2}[:-](?:[0-9A-Fa-f]{2}[:-]){4}[0-9A-Fa-f]{2}" + _EDGE_A,
        ),
        Pattern(r"(?<![0-9A-Za-z.])[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}(?![0-9A-Za-z.])", 0.7),
    )

    def validate(self, value, text, start, end):
        hexdigits = "".join(c for c in value if c not in ":-.")
        if len(set(hexdigits)) < 3 or not any(c.isdigit() for c in hexdigits):
            return None
        return "MAC_ADDRESS", 1.0
