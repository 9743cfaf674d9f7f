"""Compiled Hyperscan databases kept under TUNEGUARD_HOME/cache/hyperscan, so a process loads the recognizers'
database in ~0.1 ms instead of compiling it for ~0.35 s of CPU (every `data scan`, pool worker started
without fork, and Ray worker pays that once per process otherwise).

A file is named by the SHA-256 of everything that determines the database (Hyperscan version, mode, every
expression with its id and flags), so a changed pattern set never meets an old file. Hyperscan checks the
bytes it deserializes (version, platform, checksum); a file it rejects is ignored and rewritten. Files are
only written where TUNEGUARD_HOME already exists: a cache never creates the state directory by itself. The
cache is as trusted as the rest of TUNEGUARD_HOME (keys, ledger): whoever can write there can change the
evidence anyway.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from tuneguard.core import atomic_write_bytes
from tuneguard.core.home import tuneguard_home

CACHE_DIR = ("cache", "hyperscan")
SUFFIX = ".hsdb"


def cache_key(hs_version: str, mode: int, exprs: Sequence[bytes], ids: Sequence[int],
              flags: Sequence[int]) -> str:
    digest = hashlib.sha256(f"hyperscan {hs_version} mode {mode} n {len(exprs)}\n".encode())
    for expr, sid, flag in zip(exprs, ids, flags, strict=True):
        digest.update(b"%d %d %d\n" % (sid, flag, len(expr)))
        digest.update(expr)
    return digest.hexdigest()


def _path(key: str) -> Path:
    return tuneguard_home().joinpath(*CACHE_DIR, key + SUFFIX)


def load(hs, key: str, mode: int):
    """The cached database for `key`, or None (no home, no file, or a file Hyperscan rejects)."""
    try:
        data = _path(key).read_bytes()
    except OSError:
        return None
    try:
        return hs.loadb(data, mode)
    except (hs.error, TypeError, ValueError):
        return None


def store(hs, key: str, db) -> bool:
    """Write the serialized database (0600) if TUNEGUARD_HOME exists; True when written. Failures to write
    (read-only home, full disk) only cost the next process a compile."""
    home = tuneguard_home()
    if not home.is_dir():
        return False
    path = _path(key)
    try:
        folder = home
        for part in CACHE_DIR:  # each level owner-only (mkdir's parents=True would use the umask for them)
            folder = folder / part
            folder.mkdir(exist_ok=True, mode=0o700)
        atomic_write_bytes(path, hs.dumpb(db), perms=0o600)
    except (OSError, hs.error):
        return False
    return True

