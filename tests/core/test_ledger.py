import multiprocessing as mp
import sqlite3
from pathlib import Path

import orjson
import pytest

from tuneguard.core import Finding, Ledger, Severity, StageResult, Verdict, verify_export
from tuneguard.core.ledger import GENESIS_HASH, read_export


def _fill(ledger: Ledger, n: int = 5) -> None:
    for i in range(n):
        ledger.append("data", {"i": i, "text": f"entry {i}", "nested": {"b": 2, "a": [1, 2]}})


def test_append_and_verify_round_trip(tg_home: Path) -> None:
    with Ledger() as ledger:
        _fill(ledger)
        report = ledger.verify()
        assert report.ok and report.count == 5
        seq, head = ledger.head()
        assert seq == 5 and head == report.head and head != GENESIS_HASH
        entries = list(ledger.entries())
        assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
        assert entries[0].prev_hash == GENESIS_HASH
        assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:]))
        assert ledger.verify(expected_head=head).ok


def test_stage_result_record_and_query(tg_home: Path) -> None:
    result = StageResult(stage="data", verdict=Verdict.PASS, summary="ok", requirements=["DP-1"],
                         findings=[Finding(check="data.pii", severity=Severity.HIGH, message="email",
                                           requirements=["DP-1"], evidence={"count": 3})])
    with Ledger() as ledger:
        ledger.record(result)
        ledger.append("model", {"x": 1})
        found = ledger.find_latest("data", lambda r: r.verdict == Verdict.PASS)
    assert found is not None
    entry, back = found
    assert entry.kind == "stage_result" and back.findings[0].severity is Severity.HIGH
    assert back.worst_severity() is Severity.HIGH and back.count_at_least("medium") == 1


def _tamper(path: Path, sql: str, *args) -> None:
    conn = sqlite3.connect(path)
    conn.execute(sql, args)
    conn.commit()
    conn.close()


@pytest.mark.parametrize("attack, bad_seq", [
    ("edit", 3), ("delete", 4), ("reorder", 2), ("edit_time", 5), ("rehash_only", 4)])
def test_tampering_detected(tg_home: Path, attack: str, bad_seq: int) -> None:
    with Ledger() as ledger:
        _fill(ledger, 6)
        path = ledger.path
        entries = list(ledger.entries())
    if attack == "edit":
        _tamper(path, "UPDATE entries SET payload = ? WHERE seq = 3", '{"i":99}')
    elif attack == "delete":
        _tamper(path, "DELETE FROM entries WHERE seq = 3")
    elif attack == "reorder":
        # swap the contents of entries 2 and 3 while keeping seq numbers in place
        a, b = entries[1], entries[2]
        conn = sqlite3.connect(path)
        for src, dst in ((a, b.seq), (b, a.seq)):
            conn.execute("UPDATE entries SET payload=?, time=?, prev_hash=?, hash=? WHERE seq=?",
                         (orjson.dumps(src.payload).decode(), src.time, src.prev_hash, src.hash, dst))
        conn.commit()
        conn.close()
    elif attack == "edit_time":
        _tamper(path, "UPDATE entries SET time = '2000-01-01T00:00:00.000000Z' WHERE seq = 5")
    elif attack == "rehash_only":
        # an attacker who edits an entry and recomputes its own hash still breaks the next link
        from tuneguard.core.ledger import entry_hash
        e = entries[2]
        body = {**e.body(), "payload": {"i": 1000}}
        conn = sqlite3.connect(path)
        conn.execute("UPDATE entries SET payload=?, hash=? WHERE seq=3",
                     (orjson.dumps(body["payload"]).decode(), entry_hash(e.prev_hash, body)))
        conn.commit()
        conn.close()
    with Ledger(readonly=True) as ledger:
        report = ledger.verify()
    assert not report.ok
    assert report.bad_seq == bad_seq, report.reason


def test_truncation_detected_only_with_head(tg_home: Path) -> None:
    with Ledger() as ledger:
        _fill(ledger, 4)
        _, head = ledger.head()
    _tamper(tg_home / "ledger.db", "DELETE FROM entries WHERE seq = 4")
    with Ledger(readonly=True) as ledger:
        assert ledger.verify().ok  # a shorter chain is still internally consistent
        report = ledger.verify(expected_head=head)
    assert not report.ok and "expected head" in report.reason


def _writer(home: str, worker: int, n: int) -> None:
    import os
    os.environ["TUNEGUARD_HOME"] = home
    with Ledger(Path(home) / "ledger.db") as ledger:
        for i in range(n):
            ledger.append("serve", {"worker": worker, "i": i})


def test_concurrent_processes_never_fork(tg_home: Path) -> None:
    tg_home.mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tg_home), w, 25)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with Ledger() as ledger:
        report = ledger.verify()
        pairs = {(e.payload["worker"], e.payload["i"]) for e in ledger.entries()}
    assert report.ok and report.count == 100
    assert pairs == {(w, i) for w in range(4) for i in range(25)}


def test_export_verifies_offline_and_detects_edits(tg_home: Path, tmp_path: Path) -> None:
    with Ledger() as ledger:
        _fill(ledger, 5)
        out = tmp_path / "export.jsonl"
        ledger.export(out)
        _, head = ledger.head()
    assert verify_export(out, head).ok
    header, entries = read_export(out)
    assert header["count"] == 5 and len(entries) == 5
    lines = out.read_text().splitlines()
    lines[3] = lines[3].replace('"entry 2"', '"entry X"')
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    report = verify_export(bad)
    assert not report.ok and report.bad_seq == 3
    dropped = tmp_path / "dropped.jsonl"
    dropped.write_text("\n".join(lines[:1] + lines[1:3] + lines[4:]) + "\n")
    assert not verify_export(dropped).ok


def test_payload_must_be_json(tg_home: Path) -> None:
    with Ledger() as ledger, pytest.raises(ValueError):
        ledger.append("data", {"x": float("nan")})
    with Ledger() as ledger:
        assert ledger.verify().count == 0
