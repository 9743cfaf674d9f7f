"""SQLite response cache: makes runs resumable and re-judging free.

Keyed by SHA-256 over (target id, generation parameters, messages), so a different model, adapter,
decoding setting or prompt never reuses an answer. Only successful responses are stored; errors are
retried on the next run.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from tuneguard.core import canonical_json


def cache_key(target_id: str, gen_params: dict[str, Any], messages: list[dict[str, str]]) -> str:
    doc = {"target": target_id, "gen": gen_params, "messages": messages}
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, target TEXT NOT NULL, "
            "response TEXT NOT NULL, created REAL DEFAULT (unixepoch('subsec')))"
        )
        self._db.commit()

    def get_many(self, keys: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, response FROM responses WHERE key IN ({marks})",  # noqa: S608
                chunk,
            ).fetchall()
            out.update(dict(rows))
        return out

    def put_many(self, rows: list[tuple[str, str, str]]) -> None:
        """(key, target id, response) rows, committed together so a crash loses at most one chunk."""
        if rows:
            self._db.executemany(
                "INSERT OR REPLACE INTO responses (key, target, response) VALUES (?, ?, ?)", rows
            )
            self._db.commit()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        self._db.close()
