"""Registry metadata on SQLAlchemy (SQLite by default, PostgreSQL by URL): versions, aliases, history, users.

A version row is inserted as `pending` before its blobs are written (which reserves its number: the unique
(name, version) constraint makes concurrent pushes pick distinct numbers) and flipped to `committed` in one
transaction after every blob is durable. Readers only see committed rows, so a push killed at any moment
leaves no visible version; its number is never reused and `gc` later removes its blobs.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

metadata = MetaData()

versions = Table(
    "registry_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("state", String(16), nullable=False),  # pending | committed | aborted
    Column("prefix", String(64), nullable=False, unique=True),
    Column("created", String(32), nullable=False),
    Column("committed", String(32)),
    Column("actor", String(200), nullable=False),
    Column("key_provider", String(32), nullable=False),
    Column("key_id", String(100), nullable=False),
    Column("wrapped_key", Text, nullable=False),
    Column("signer", String(100), nullable=False, default=""),
    Column(
        "digest", String(64), nullable=False, default=""
    ),  # sha256 of the signed manifest (file list + hashes)
    Column("files", Integer, nullable=False, default=0),
    Column("size", Integer, nullable=False, default=0),
    Column("lineage", Text, nullable=False, default="{}"),
    UniqueConstraint("name", "version", name="uq_name_version"),
)

aliases = Table(
    "registry_aliases",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("alias", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated", String(32), nullable=False),
)

alias_events = Table(
    "registry_alias_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("alias", String(100), nullable=False),
    Column("action", String(16), nullable=False),  # promote | rollback
    Column("from_version", Integer),
    Column("to_version", Integer, nullable=False),
    Column("time", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
)

users = Table(
    "registry_users",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("token_id", String(32), nullable=False, unique=True),
    Column("token_hash", Text, nullable=False),
    Column("created", String(32), nullable=False),
)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_engine(url: str | None, default_path: Path) -> Engine:
    if not url:
        default_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        url = f"sqlite:///{default_path}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own implicit BEGIN is turned off so the "begin" hook below decides the lock mode.
            dbapi_conn.isolation_level = None
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=60000"):
                dbapi_conn.execute(f"PRAGMA {pragma}")

        @event.listens_for(engine, "begin")
        def _immediate(conn: Any) -> None:
            # Take the write lock at BEGIN so two pushes never read the same "next version".
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        engine = create_engine(url, pool_pre_ping=True)
    _create_schema(engine)
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        if db.exists():
            os.chmod(db, 0o600)
    return engine


def _create_schema(engine: Engine) -> None:
    for attempt in range(20):
        try:
            metadata.create_all(engine)
            return
        except (OperationalError, IntegrityError):  # another process created it at the same moment
            time.sleep(0.05 * (attempt + 1))
    metadata.create_all(engine)


def reserve_version(engine: Engine, row: dict[str, Any]) -> int:
    """Insert a pending row with the next free number for row['name']; retried on a concurrent clash."""
    for attempt in range(200):
        try:
            with engine.begin() as conn:
                top = conn.execute(
                    select(func.max(versions.c.version)).where(versions.c.name == row["name"])
                ).scalar()
                number = (top or 0) + 1
                conn.execute(insert(versions).values(**row, version=number, state="pending", created=now()))
            return number
        except (IntegrityError, OperationalError):
            time.sleep(0.01 * (1 + attempt % 10))
    raise RuntimeError(f"could not reserve a version for {row['name']} after 200 attempts")


def commit_version(engine: Engine, prefix: str, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(versions)
            .where(and_(versions.c.prefix == prefix, versions.c.state == "pending"))
            .values(state="committed", committed=now(), **values)
        )


def version_row(engine: Engine, name: str, number: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(versions).where(
                    and_(
                        versions.c.name == name, versions.c.version == number, versions.c.state == "committed"
                    )
                )
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


def latest_version(engine: Engine, name: str) -> int | None:
    with engine.connect() as conn:
        return conn.execute(
            select(func.max(versions.c.version)).where(
                and_(versions.c.name == name, versions.c.state == "committed")
            )
        ).scalar()


def committed_rows(engine: Engine, name: str | None = None) -> list[dict[str, Any]]:
    query = select(versions).where(versions.c.state == "committed")
    if name is not None:
        query = query.where(versions.c.name == name)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(versions.c.name, versions.c.version)).mappings()]


def alias_map(engine: Engine, name: str | None = None) -> dict[tuple[str, str], int]:
    query = select(aliases)
    if name is not None:
        query = query.where(aliases.c.name == name)
    with engine.connect() as conn:
        return {(r["name"], r["alias"]): r["version"] for r in conn.execute(query).mappings()}


def alias_history(engine: Engine, name: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(alias_events).where(alias_events.c.name == name).order_by(alias_events.c.id)
            ).mappings()
        ]


def move_alias(engine: Engine, name: str, alias: str, to_version: int, action: str, actor: str) -> int | None:
    """Point alias at to_version and append the event; returns the previous target."""
    with engine.begin() as conn:
        current = conn.execute(
            select(aliases.c.version).where(and_(aliases.c.name == name, aliases.c.alias == alias))
        ).scalar()
        if current is None:
            conn.execute(insert(aliases).values(name=name, alias=alias, version=to_version, updated=now()))
        else:
            conn.execute(
                update(aliases)
                .where(and_(aliases.c.name == name, aliases.c.alias == alias))
                .values(version=to_version, updated=now())
            )
        conn.execute(
            insert(alias_events).values(
                name=name,
                alias=alias,
                action=action,
                from_version=current,
                to_version=to_version,
                time=now(),
                actor=actor,
            )
        )
    return current


def stale_pending(engine: Engine, older_than_s: float) -> list[dict[str, Any]]:
    cutoff = datetime.fromtimestamp(time.time() - older_than_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(versions).where(and_(versions.c.state == "pending", versions.c.created < cutoff))
            ).mappings()
        ]


def mark_aborted(engine: Engine, prefix: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(versions)
            .where(and_(versions.c.prefix == prefix, versions.c.state == "pending"))
            .values(state="aborted")
        )


def known_prefixes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(select(versions.c.prefix).where(versions.c.state != "aborted"))}


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
