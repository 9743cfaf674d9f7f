"""Synthetic chat data for training tests and benchmarks: support-desk chats, with or without repeated PII."""

from __future__ import annotations

import random
from pathlib import Path

import orjson

PRODUCTS = [
    "router",
    "printer",
    "laptop",
    "phone",
    "tablet",
    "monitor",
    "keyboard",
    "camera",
    "speaker",
    "watch",
]
ISSUES = [
    ("won't turn on", "Hold the power button for ten seconds, then plug it into a different outlet."),
    ("keeps disconnecting", "Restart it, move it closer to the access point and update the firmware."),
    ("is very slow", "Close unused apps, free some storage and install the latest update."),
    ("shows an error light", "Unplug it for one minute; if the light stays on, open a repair ticket."),
    ("has no sound", "Check the mute switch, the volume level and the selected output device."),
    ("will not charge", "Try another cable and charger, and clean the charging port gently."),
]

# Contact people that the "raw" data repeats verbatim; sanitizing must remove them.
CONTACTS = [
    ("Maria Lopez", "maria.lopez@acmecorp-mail.com", "billing"),
    ("Daniel Okafor", "daniel.okafor@acmecorp-mail.com", "returns"),
    ("Sophie Laurent", "sophie.laurent@acmecorp-mail.com", "warranty"),
]


def support_chats(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        product = rng.choice(PRODUCTS)
        issue, fix = rng.choice(ISSUES)
        out.append(
            {
                "messages": [
                    {
                        "role": "user",
                        "content": f"My {product} {issue}. What should I do? (ticket {1000 + i})",
                    },
                    {"role": "assistant", "content": f"Sorry to hear that your {product} {issue}. {fix}"},
                ]
            }
        )
    return out


def pii_chats(repeats: int) -> list[dict]:
    """Each contact's e-mail repeated `repeats` times in a fixed answer (memorisable PII)."""
    out = []
    for name, email, team in CONTACTS:
        for _ in range(repeats):
            out.append(
                {
                    "messages": [
                        {"role": "user", "content": f"How do I reach {name} in {team}?"},
                        {
                            "role": "assistant",
                            "content": f"You can write to {name} at {email} and mention your order.",
                        },
                    ]
                }
            )
    return out


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path
