"""URL: only URLs that identify someone: embedded credentials or personal paths (home dirs, profiles,
e-mail)."""

from __future__ import annotations

import re

from .base import Pattern, Recognizer

_URL = (
    r"(?:https?|ftp|ssh|git|postgres(?:ql)?|mysql|mongodb(?:\+srv)?|redis|amqp|s3|sftp)://[^\s<>\"'，。）)]+"
)
_PERSONAL = re.compile(
    r"(?:/(?:users?|home|people|profiles?|members?|u|in|~)[/]|/~[A-Za-z]|[?&](?:e-?mail|user(?:name)?|name|phone|ssn)="
    r"|(?:facebook|instagram|twitter|x|linkedin|weibo|github|tiktok)\.com/[A-Za-z0-9_.]+)",
    re.IGNORECASE,
)


class UrlRecognizer(Recognizer):
    name = "url"
    entities = ("URL",)
    patterns = (
        Pattern(
            _URL,
            0.8,
            ignore_case=True,
            prefilter=r"(?:https?|ftp|ssh|git|postgres|mysql|mongodb|redis|amqp|s3|sftp)://",
        ),
        Pattern(r"(?<![A-Za-z0-9])(?:/home/|/Users/|C:\\Users\\)[A-Za-z][A-Za-z0-9._-]+", 0.6),
    )
    triggers = ("://", "/home/", "/Users/", "\\Users\\")
    method = "pattern: URLs with credentials or personal paths only"

    def validate(self, value, text, start, end):
        if not value.lower().startswith(("/", "c:")):
            netloc = value.split("://", 1)[1].split("/", 1)[0]
            if "@" in netloc and ":" in netloc.split("@", 1)[0]:
                return "URL", 1.2
            if not _PERSONAL.search(value):
                return None
        elif value.split("/")[-1].lower() in ("shared", "public", "admin", "root", "ubuntu"):
            return None
        return "URL", 1.0
