"""The ledger's PostgreSQL store: one hash chain shared by every machine of a team (TUNEGUARD_LEDGER_URL).

Appends take `LOCK TABLE ... IN EXCLUSIVE MODE` inside a READ COMMITTED transaction before reading the head:
the lock conflicts with itself and with every INSERT, so exactly one writer at a time reads the head and
extends it, whichever machine it runs on, while readers (verify, export, reports) are never blocked. The
primary key on seq and the UNIQUE prev_hash are a second line of defence: a writer that somehow skipped the
lock could not commit a fork, only fail. Rows are stored as text exactly as the SQLite store keeps them, so
verification and export give the same bytes. psycopg is imported only when this store is used.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .errors import UserError

TABLE = "tuneguard_ledger"
_INSERT = ("INSERT INTO tuneguard_ledger(seq, time, actor, stage, kind, payload, prev_hash, hash)"
           " VALUES (%s,%s,%s,%s,%s,%s,%s,%s)")
_SELECT = "SELECT seq, time, actor, stage, kind, payload, prev_hash, hash FROM tuneguard_ledger"
_HEAD = "SELECT seq, hash FROM tuneguard_ledger ORDER BY seq DESC LIMIT 1"
_SCHEMA_LOCK = 0x7467_6C65_6467  # pg_advisory_xact_lock key: "tgledg"; serialises CREATE TABLE IF NOT EXISTS
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    seq       bigint PRIMARY KEY,
    time      text NOT NULL,
    actor     text NOT NULL,
    stage     text NOT NULL,
    kind      text NOT NULL,
    payload   text NOT NULL,
    prev_hash text NOT NULL UNIQUE,
    hash      text NOT NULL
);
CREATE INDEX IF NOT EXISTS {TABLE}_stage ON {TABLE}(stage, kind);
"""


def redact(url: str) -> str:
    """The URL without its password, for messages and reports."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class PgLedgerDb:
    """The rows of one ledger in a PostgreSQL database (table tuneguard_ledger)."""

    def __init__(self, url: str, readonly: bool) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise UserError(
                f"TUNEGUARD_LEDGER_URL is a PostgreSQL URL but psycopg is not installed "
                f"(pip install 'tuneguard[registry]'): {exc}"
            ) from None
        self._psycopg = psycopg
        self.url, self.readonly = url.replace("postgres://", "postgresql://", 1), readonly
        self.where = redact(self.url)
        self._conn: Any = None
        self._connect()
        if readonly:
            exists = self._conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()[0]
            if exists is None:
                self.close()
                raise UserError(f"no ledger at {self.where} (table {TABLE} missing; run a stage first)")
        else:
            with self._conn.transaction():
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                self._conn.execute(_SCHEMA)

    def _connect(self) -> None:
        try:
            # A default connect timeout, unless the URL sets its own (a keyword argument would override it).
            params = self._psycopg.conninfo.conninfo_to_dict(self.url)
            extra = {} if "connect_timeout" in params else {"connect_timeout": 15}
            self._conn = self._psycopg.connect(self.url, autocommit=True, **extra)
        except (self._psycopg.OperationalError, self._psycopg.ProgrammingError) as exc:
            raise UserError(f"cannot connect to the ledger database {self.where}: {exc}") from None
        # Mirror SQLite's 60 s busy timeout: a writer waits for the lock rather than failing at once.
        self._conn.execute("SET lock_timeout = '60s'")
        if self.readonly:
            self._conn.execute("SET default_transaction_read_only = on")

    def _live(self) -> Any:
        # A long-lived writer (the gateway's audit process) reconnects after a database restart instead of
        # failing every later batch. A failed append is never retried here: its commit may have happened.
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._connect()
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def append(self, extend: Callable[[int, str], list[tuple]]) -> None:
        conn = self._live()
        with conn.transaction():
            conn.execute("LOCK TABLE tuneguard_ledger IN EXCLUSIVE MODE")
            seq, prev = self._head(conn)  # read after the lock: READ COMMITTED sees the last committed head
            with conn.cursor() as cur:
                cur.executemany(_INSERT, extend(seq, prev))

    def select(self, stage: str | None, kind: str | None, since: int) -> list[tuple]:
        sql, args = _SELECT + " WHERE seq >= %s", [since]
        if stage:
            sql, args = sql + " AND stage = %s", [*args, stage]
        if kind:
            sql, args = sql + " AND kind = %s", [*args, kind]
        return self._live().execute(sql + " ORDER BY seq", args).fetchall()

    def raw(self) -> list[tuple]:
        # The identity column is insertion order (assigned under the table lock), like SQLite's rowid.
        return self._live().execute(_SELECT + " ORDER BY id").fetchall()

    def head(self) -> tuple[int, str]:
        return self._head(self._live())

    @staticmethod
    def _head(conn: Any) -> tuple[int, str]:
        from .ledger import GENESIS_HASH

        row = conn.execute(_HEAD).fetchone()
        return (int(row[0]), row[1]) if row else (0, GENESIS_HASH)
