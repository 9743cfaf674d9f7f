"""Exceptions that carry the CLI exit code: 1 for a failed gate or tampering, 2 for bad usage or input."""
from __future__ import annotations


class TuneguardError(Exception):
    """Base class; `exit_code` is what the CLI returns when this reaches it."""

    exit_code = 2


class UserError(TuneguardError):
    """Bad usage or unreadable input. The message names the file, line or key at fault."""

    exit_code = 2


class GateFailed(TuneguardError):
    """A gate said no, or evidence was found to be tampered with."""

    exit_code = 1
