"""Compiled Hyperscan databases kept in the user's cache directory, so a process loads the recognizers'
database in ~0.1 ms instead of compiling it for ~0.35 s of CPU (every `data scan`, pool worker started
without fork, and Ray worker pays that once per process otherwise).

Where: $TUNEGUARD_CACHE_DIR/hyperscan, else $XDG_CACHE_HOME/tuneguard/hyperscan, else
~/.cache/tuneguard/hyperscan. Deliberately not under TUNEGUARD_HOME, which defaults to ./.tuneguard: a
dataset repository could ship a crafted database there, and a database that matches nothing would make
every scan come back clean. A file is only loaded when it and its folder belong to this user and nobody
else can write them (the folder is created 0700, files 0600); Hyperscan then checks what it deserializes
(version, platform, checksum), and a probe scan must succeed, else the database is compiled again. A file is
named by the SHA-256 of everything that determines it (Hyperscan version, mode, every expression with its id
and flags), so a changed pattern set never meets an old file.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from tuneguard.core import atomic_write_bytes

CACHE_ENV = "TUNEGUARD_CACHE_DIR"
SUFFIX = ".hsdb"


def cache_dir() -> Path:
    base = os.environ.get(CACHE_ENV)
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = os.path.join(xdg or os.path.join(os.path.expanduser("~"), ".cache"), "tuneguard")
    return Path(base) / "hyperscan"


def cache_key(hs_version: str, mode: int, exprs: Sequence[bytes], ids: Sequence[int],
              flags: Sequence[int]) -> str:
    digest = hashlib.sha256(f"hyperscan {hs_version} mode {mode} n {len(exprs)}\n".encode())
    for expr, sid, flag in zip(exprs, ids, flags, strict=True):
        digest.update(b"%d %d %d\n" % (sid, flag, len(expr)))
        digest.update(expr)
    return digest.hexdigest()


def _private(st: os.stat_result) -> bool:
    """Owned by this user and not writable by group or others."""
    owner_ok = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    return owner_ok and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def load(hs, key: str, mode: int):
    """The cached database for `key`, or None (no file, not private, rejected by Hyperscan, or failing a
    probe scan)."""
    folder = cache_dir()
    path = folder / (key + SUFFIX)
    try:
        entry = path.lstat()
        if not (stat.S_ISREG(entry.st_mode) and _private(entry) and _private(folder.stat())):
            return None
        data = path.read_bytes()
    except OSError:
        return None
    try:
        db = hs.loadb(data, mode)
        db.scan(b"tuneguard probe 0123456789 a@b.co", match_event_handler=_ignore, scratch=hs.Scratch(db))
    except (hs.error, TypeError, ValueError):
        return None
    return db


def _ignore(*_args) -> None:
    return None


def store(hs, key: str, db) -> bool:
    """Write the serialized database (0600 in a 0700 folder); True when written. A cache that cannot be
    written (read-only home, full disk, a folder that is not private) only costs the next process a
    compile."""
    folder = cache_dir()
    try:
        folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.mkdir(exist_ok=True, mode=0o700)
        if not _private(folder.stat()):
            return False
        atomic_write_bytes(folder / (key + SUFFIX), hs.dumpb(db), perms=0o600)
    except (OSError, hs.error):
        return False
    return True
