"""The ledger on a real PostgreSQL: 8 writer processes never fork or lose an entry; verify, tamper detection
and export match the SQLite ledger byte for byte.

scripts/start-postgres.sh exports TUNEGUARD_TEST_PG_URL; without it these tests skip, except under CI=true
where a missing database is a failure.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
from pathlib import Path

import orjson
import pytest

from tuneguard.core import Ledger, verify_export
from tuneguard.core.ledger import LEDGER_URL_ENV, read_export

WRITERS, PER_WRITER = 8, 40


@pytest.fixture
def pg_ledger_url(pg_database: str) -> str:
    return pg_database


def _writer(url: str, worker: int, n: int, start: mp.Event) -> None:
    # Through the environment variable, as a team's machines would be configured.
    os.environ[LEDGER_URL_ENV] = url
    with Ledger() as ledger:
        start.wait(60)  # all writers connected first, then they race
        for i in range(n):
            if i % 5 == 4:
                batch = [("serve", "request", {"worker": worker, "i": i, "part": p}) for p in (0, 1)]
                ledger.append_many(batch)
            else:
                ledger.append("serve", {"worker": worker, "i": i, "part": 0}, kind="request")


def test_eight_concurrent_writers_never_fork_or_lose(pg_ledger_url: str, tg_home: Path) -> None:
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(pg_ledger_url, w, PER_WRITER, start)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(240)
        assert p.exitcode == 0
    batches = PER_WRITER // 5
    with Ledger(pg_ledger_url, readonly=True) as ledger:
        report = ledger.verify()
        entries = list(ledger.entries())
        assert ledger.head() == (report.count, report.head)
    expected = WRITERS * (PER_WRITER + batches)
    assert report.ok and report.count == expected, report.reason
    assert [e.seq for e in entries] == list(range(1, expected + 1))
    assert len({e.prev_hash for e in entries}) == expected  # no two entries extend the same predecessor
    triples = [(e.payload["worker"], e.payload["i"], e.payload["part"]) for e in entries]
    assert len(set(triples)) == expected
    assert {(w, i) for w, i, _ in triples} == {(w, i) for w in range(WRITERS) for i in range(PER_WRITER)}
    # The writers really raced: the chain alternates between them, not one writer after another.
    switches = sum(a.payload["worker"] != b.payload["worker"] for a, b in zip(entries, entries[1:]))
    assert switches > 2 * WRITERS, switches
    # A batch is one transaction: its two entries are adjacent in the chain.
    for e, nxt in zip(entries, entries[1:]):
        if e.payload["part"] == 0 and e.payload["i"] % 5 == 4:
            assert (nxt.payload["worker"], nxt.payload["i"], nxt.payload["part"]) == (
                e.payload["worker"], e.payload["i"], 1)


def _fill(ledger: Ledger) -> None:
    for i in range(5):
        ledger.append("data", {"i": i, "text": f"entry {i} é", "nested": {"b": 2, "a": [1, 2.5, None]}},
                      actor="alice")


def test_env_url_replaces_home_ledger_and_export_matches_sqlite(
    pg_ledger_url: str, tg_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LEDGER_URL_ENV, pg_ledger_url)
    with Ledger() as ledger:
        assert "postgresql://" in str(ledger.path) and ":" + "@" not in str(ledger.path)
        _fill(ledger)
        pg_export = tmp_path / "pg.jsonl"
        report = ledger.export(pg_export)
    assert report.ok and report.count == 5
    assert not (tg_home / "ledger.db").exists()  # the home ledger went to PostgreSQL
    assert verify_export(pg_export, report.head).ok
    # The same rows in a SQLite ledger give the same export, line for line (the header differs only in time).
    import psycopg

    header, _ = read_export(pg_export)
    with psycopg.connect(pg_ledger_url) as pg:
        rows = pg.execute("SELECT seq, time, actor, stage, kind, payload, prev_hash, hash"
                          " FROM tuneguard_ledger ORDER BY id").fetchall()
    sqlite_path = tmp_path / "copy.db"
    Ledger(sqlite_path).close()
    conn = sqlite3.connect(sqlite_path)
    conn.executemany(
        "INSERT INTO entries(seq, time, actor, stage, kind, payload, prev_hash, hash)"
        " VALUES (?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.commit()
    conn.close()
    with Ledger(sqlite_path, readonly=True) as copy:
        sqlite_report = copy.verify()
        copy.export(tmp_path / "sqlite.jsonl")
    assert (sqlite_report.ok, sqlite_report.count, sqlite_report.head) == (True, 5, report.head)
    pg_lines = pg_export.read_bytes().splitlines()
    sqlite_lines = (tmp_path / "sqlite.jsonl").read_bytes().splitlines()
    assert pg_lines[1:] == sqlite_lines[1:]
    strip = lambda line: {k: v for k, v in orjson.loads(line).items() if k != "exported"}  # noqa: E731
    assert strip(pg_lines[0]) == strip(sqlite_lines[0]) and header["head"] == report.head
    # An explicit file path stays SQLite even with the URL set.
    with Ledger(tmp_path / "other.db") as other:
        other.append("data", {"x": 1})
    assert (tmp_path / "other.db").exists()


def test_tampering_in_postgres_detected(pg_ledger_url: str) -> None:
    import psycopg

    with Ledger(pg_ledger_url) as ledger:
        _fill(ledger)
        head = ledger.head()[1]
    with psycopg.connect(pg_ledger_url, autocommit=True) as conn:
        conn.execute("UPDATE tuneguard_ledger SET payload = %s WHERE seq = 3", ('{"i":99}',))
    with Ledger(pg_ledger_url, readonly=True) as ledger:
        report = ledger.verify()
    assert not report.ok and report.bad_seq == 3 and "edited" in report.reason
    with psycopg.connect(pg_ledger_url, autocommit=True) as conn:
        conn.execute("DELETE FROM tuneguard_ledger WHERE seq >= 3")
    with Ledger(pg_ledger_url, readonly=True) as ledger:
        assert ledger.verify().ok
        truncated = ledger.verify(expected_head=head)
    assert not truncated.ok and "removed from the end" in truncated.reason


def test_readonly_missing_ledger_is_a_user_error(pg_ledger_url: str) -> None:
    from tuneguard.core import UserError

    with pytest.raises(UserError, match="no ledger at"):
        Ledger(pg_ledger_url, readonly=True)
