"""Where tuneguard keeps its state: TUNEGUARD_HOME (default ./.tuneguard): the ledger, registry and keys."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "TUNEGUARD_HOME"
DEFAULT_HOME = ".tuneguard"


def tuneguard_home(create: bool = False) -> Path:
    """The state directory; created with owner-only permissions when `create` is set."""
    home = Path(os.environ.get(HOME_ENV) or DEFAULT_HOME).expanduser()
    if create:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return home


def ledger_path() -> Path:
    return tuneguard_home() / "ledger.db"


def registry_path() -> Path:
    return tuneguard_home() / "registry"


def keys_path() -> Path:
    return tuneguard_home() / "keys"


def private_file_ok(path: Path) -> bool:
    """True when a key file is readable by its owner only (no group or other bits)."""
    return (path.stat().st_mode & 0o077) == 0
