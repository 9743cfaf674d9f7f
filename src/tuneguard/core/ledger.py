"""The evidence ledger: an append-only, hash-chained log (SQLite, or PostgreSQL for a team) that every stage
writes and reports read.

Each entry's hash is SHA-256 over the previous entry's hash and the canonical JSON of the entry's
body (seq, time, actor, stage, kind, payload). Editing, deleting or reordering any entry breaks the
chain at that entry; truncating the tail is caught by checking against a head hash kept elsewhere.

Storage is a small seam (`_SqliteDb` here, `PgLedgerDb` in ledger_pg.py): the database only keeps rows and
serialises appends; hashing, verification and export live in `Ledger`, so both stores chain and export alike.
TUNEGUARD_LEDGER_URL=postgresql://... moves TUNEGUARD_HOME's ledger to PostgreSQL; a ledger opened at an
explicit other file path stays SQLite.
"""
from __future__ import annotations

import getpass
import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from .canonical import canonical_json
from .errors import UserError
from .files import atomic_writer
from .findings import StageResult
from .home import ledger_path

LEDGER_URL_ENV = "TUNEGUARD_LEDGER_URL"
GENESIS_HASH = "0" * 64
EXPORT_FORMAT = "tuneguard-ledger-export"
EXPORT_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq       INTEGER PRIMARY KEY,
    time      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    stage     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    payload   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_stage ON entries(stage, kind);
"""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    seq: int
    time: str
    actor: str
    stage: str
    kind: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "actor": self.actor, "stage": self.stage,
                "kind": self.kind, "payload": self.payload}

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "prev_hash": self.prev_hash, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    count: int
    head: str
    bad_seq: int | None = None
    reason: str = ""


def entry_hash(prev_hash: str, body: dict[str, Any]) -> str:
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical_json(body).encode("utf-8"))
    return digest.hexdigest()


def default_actor() -> str:
    actor = os.environ.get("TUNEGUARD_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def verify_entries(entries: Iterable[LedgerEntry], expected_head: str | None = None) -> VerifyReport:
    """Walk a chain in seq order; report the first entry that was edited, deleted or moved."""
    prev, count, expected_seq = GENESIS_HASH, 0, 1
    for entry in entries:
        if entry.seq != expected_seq:
            return VerifyReport(False, count, prev, entry.seq,
                                f"entry seq {entry.seq}: expected seq {expected_seq}"
                                " (entry missing or reordered)")
        if entry.prev_hash != prev:
            return VerifyReport(False, count, prev, entry.seq,
                                f"entry seq {entry.seq}: prev_hash does not match entry {entry.seq - 1}"
                                " (an earlier entry was changed, removed or reordered)")
        if entry_hash(prev, entry.body()) != entry.hash:
            return VerifyReport(False, count, prev, entry.seq,
                                f"entry seq {entry.seq}: content does not match its hash (entry was edited)")
        prev, count, expected_seq = entry.hash, count + 1, expected_seq + 1
    if expected_head is not None and expected_head != prev:
        return VerifyReport(False, count, prev, None,
                            f"chain ends at {prev} after {count} entries, not at the expected head"
                            f" {expected_head} (entries were removed from the end or the chain was replaced)")
    return VerifyReport(True, count, prev)


# A stored row in column order: seq, time, actor, stage, kind, payload (canonical JSON text), prev_hash, hash.
Row = tuple[int, str, str, str, str, str, str, str]
_INSERT = ("INSERT INTO entries(seq, time, actor, stage, kind, payload, prev_hash, hash)"
           " VALUES (?,?,?,?,?,?,?,?)")
_SELECT = "SELECT seq, time, actor, stage, kind, payload, prev_hash, hash FROM entries"


class _SqliteDb:
    """One SQLite file; BEGIN IMMEDIATE serialises appends across processes on this machine."""

    def __init__(self, path: Path, readonly: bool) -> None:
        self.where = str(path)
        if readonly:
            if not path.exists():
                raise UserError(f"no ledger at {path} (set TUNEGUARD_HOME or run a stage first)")
            uri = f"file:{path}?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
            os.chmod(path, 0o600)
        self._conn.execute("PRAGMA busy_timeout=60000")

    def close(self) -> None:
        self._conn.close()

    def append(self, extend: Callable[[int, str], list[Row]]) -> None:
        # BEGIN IMMEDIATE takes SQLite's write lock before the head is read, so two writers can never both
        # extend the same head (which would fork the chain).
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            seq, prev = self.head()
            self._conn.executemany(_INSERT, extend(seq, prev))
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def select(self, stage: str | None, kind: str | None, since: int) -> list[Row]:
        sql, args = _SELECT + " WHERE seq >= ?", [since]
        if stage:
            sql, args = sql + " AND stage = ?", [*args, stage]
        if kind:
            sql, args = sql + " AND kind = ?", [*args, kind]
        return self._conn.execute(sql + " ORDER BY seq", args).fetchall()

    def raw(self) -> list[Row]:
        # rowid is insertion order, so a row whose seq was rewritten still shows up where it was stored.
        return self._conn.execute(_SELECT + " ORDER BY rowid").fetchall()

    def head(self) -> tuple[int, str]:
        row = self._conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS_HASH)


def _is_url(path: object) -> bool:
    return isinstance(path, str) and path.startswith(("postgresql://", "postgres://"))


def _open_db(path: str | os.PathLike[str] | None, readonly: bool) -> tuple[Path | str, Any]:
    url = str(path) if _is_url(path) else os.environ.get(LEDGER_URL_ENV)
    default = ledger_path()
    if url and (_is_url(path) or path is None or os.path.abspath(path) == os.path.abspath(default)):
        from .ledger_pg import PgLedgerDb

        db = PgLedgerDb(url, readonly)
        return db.where, db
    file = Path(path) if path is not None else default
    return file, _SqliteDb(file, readonly)


class Ledger:
    """One ledger database. Safe to share between threads; many processes (and, on PostgreSQL, many
    machines) may append at once."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, readonly: bool = False) -> None:
        # `path` is a Path for SQLite; for PostgreSQL it is the URL without its password (for messages).
        self.path, self._db = _open_db(path, readonly)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------
    def append(self, stage: str, payload: dict[str, Any], *, kind: str = "event",
               actor: str | None = None) -> LedgerEntry:
        return self.append_many([(stage, kind, payload)], actor=actor)[0]

    def append_many(self, items: Iterable[tuple[str, str, dict[str, Any]]], *,
                    actor: str | None = None) -> list[LedgerEntry]:
        """Append several (stage, kind, payload) entries in one transaction.

        The store calls `extend` with the head it read while holding its write lock, so the entries
        chain onto the true head even when other processes or machines append at the same time.
        """
        who = actor or default_actor()
        normalised = [(stage, kind, orjson.loads(canonical_json(payload))) for stage, kind, payload in items]
        written: list[LedgerEntry] = []

        def extend(seq: int, prev: str) -> list[Row]:
            written.clear()  # a store may retry the transaction; only the last attempt counts
            rows: list[Row] = []
            for stage, kind, payload in normalised:
                seq += 1
                body = {"seq": seq, "time": utc_now(), "actor": who, "stage": stage,
                        "kind": kind, "payload": payload}
                digest = entry_hash(prev, body)
                rows.append((seq, body["time"], who, stage, kind, canonical_json(payload), prev, digest))
                written.append(LedgerEntry(seq, body["time"], who, stage, kind, payload, prev, digest))
                prev = digest
            return rows

        with self._lock:
            self._db.append(extend)
        return written

    def record(self, result: StageResult, *, actor: str | None = None) -> LedgerEntry:
        """Store a stage's result; its verdict and artifact digests become queryable evidence."""
        return self.append(result.stage, result.to_payload(), kind="stage_result", actor=actor)

    # -- reading -----------------------------------------------------------------------------
    def entries(self, *, stage: str | None = None, kind: str | None = None,
                since: int = 0) -> Iterator[LedgerEntry]:
        with self._lock:
            rows = self._db.select(stage, kind, since)
        for seq, time, actor, stg, knd, payload, prev, digest in rows:
            yield LedgerEntry(seq, time, actor, stg, knd, orjson.loads(payload), prev, digest)

    def head(self) -> tuple[int, str]:
        with self._lock:
            return self._db.head()

    def get(self, seq: int) -> LedgerEntry | None:
        return next(self.entries(since=seq), None) if seq > 0 else None

    def stage_results(self, stage: str | None = None) -> Iterator[tuple[LedgerEntry, StageResult]]:
        for entry in self.entries(stage=stage, kind="stage_result"):
            yield entry, StageResult.from_payload(entry.payload)

    def find_latest(
        self, stage: str, predicate: Callable[[StageResult], bool]
    ) -> tuple[LedgerEntry, StageResult] | None:
        found = None
        for entry, result in self.stage_results(stage):
            if predicate(result):
                found = (entry, result)
        return found

    def verify(self, expected_head: str | None = None) -> VerifyReport:
        return verify_entries(self._raw_entries(), expected_head)

    def _raw_entries(self) -> Iterator[LedgerEntry]:
        # Verification must see rows as stored, so payload text is parsed without normalising.
        with self._lock:
            rows = self._db.raw()
        for seq, time, actor, stage, kind, payload, prev, digest in rows:
            try:
                body = orjson.loads(payload)
            except orjson.JSONDecodeError:
                body = {"__unparseable__": payload}
            yield LedgerEntry(seq, time, actor, stage, kind, body, prev, digest)

    def export(self, out: str | os.PathLike[str]) -> VerifyReport:
        """Write a self-contained JSONL copy (header line, then one entry per line) that verifies offline."""
        report = self.verify()
        with atomic_writer(out, "wb") as fh:
            header = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "count": report.count,
                      "head": report.head, "exported": utc_now(), "source_ok": report.ok}
            fh.write(orjson.dumps(header) + b"\n")
            for entry in self._raw_entries():
                fh.write(orjson.dumps(entry.to_dict()) + b"\n")
        return report


def read_export(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[LedgerEntry]]:
    """Parse an export file; a malformed line is a user error naming the line."""
    header: dict[str, Any] = {}
    entries: list[LedgerEntry] = []
    try:
        lines = Path(path).read_bytes().splitlines()
    except OSError as exc:
        raise UserError(f"cannot read ledger export {path}: {exc.strerror}") from exc
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
            if lineno == 1 and obj.get("format") == EXPORT_FORMAT:
                header = obj
                continue
            entries.append(LedgerEntry(int(obj["seq"]), obj["time"], obj["actor"], obj["stage"], obj["kind"],
                                       obj["payload"], obj["prev_hash"], obj["hash"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UserError(f"{path}:{lineno}: not a ledger entry ({exc.__class__.__name__}: {exc})") from exc
    if not header:
        raise UserError(f"{path}:1: missing export header (format '{EXPORT_FORMAT}')")
    return header, entries


def verify_export(path: str | os.PathLike[str], expected_head: str | None = None) -> VerifyReport:
    header, entries = read_export(path)
    report = verify_entries(entries, expected_head)
    if report.ok and (header.get("head") != report.head or header.get("count") != report.count):
        return VerifyReport(False, report.count, report.head, None,
                            f"export header says {header.get('count')} entries ending at"
                            f" {header.get('head')}, but the chain has {report.count} ending at"
                            f" {report.head}")
    return report
