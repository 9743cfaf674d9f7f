"""The cache of compiled Hyperscan databases: reused across processes with the same matches as a fresh
compile; damaged files recompiled; files in a folder others can write are never loaded."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

hyperscan = pytest.importorskip("hyperscan")

from tuneguard.data.pii import hs_cache, matcher  # noqa: E402
from tuneguard.data.pii.engine import PiiEngine  # noqa: E402

TEXT = "Mail a.b@example.com, card 4111 1111 1111 1111, 手机13812345678, AKIAIOSFODNN7EXAMPLE"
PROBE = (
    "import json, sys\n"
    "from tuneguard.data.pii.engine import PiiEngine\n"
    "e = PiiEngine()\n"
    "print(json.dumps({'spans': [(s.entity, s.start, s.end) for s in e.find(sys.argv[1])],"
    " 'backend': e.backend}))\n"
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv(hs_cache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(matcher, "_COMPILED", {})  # this process's own memo would hide the files
    return tmp_path / "cache" / "hyperscan"


def _spans(engine: PiiEngine) -> list[tuple[str, int, int]]:
    return [(s.entity, s.start, s.end) for s in engine.find(TEXT)]


def _run() -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, TEXT], env=dict(os.environ), capture_output=True,
                         text=True, check=True, timeout=120)
    return json.loads(out.stdout)


def test_second_process_loads_the_database_and_finds_the_same_spans(cache: Path) -> None:
    first = _run()
    (path,) = cache.glob("*" + hs_cache.SUFFIX)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(cache.stat().st_mode) == 0o700
    written = path.stat().st_mtime_ns
    assert _run() == first and first["backend"] == "hyperscan"
    assert {e for e, _, _ in first["spans"]} >= {"EMAIL_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER"}
    assert path.stat().st_mtime_ns == written  # loaded, not rewritten


def test_damaged_file_is_recompiled_and_replaced(cache: Path, monkeypatch) -> None:
    reference = _spans(PiiEngine())
    (path,) = cache.glob("*" + hs_cache.SUFFIX)
    good = path.read_bytes()
    path.write_bytes(good[:64] + bytes(len(good) - 64))  # a damaged body: Hyperscan's checksum fails
    monkeypatch.setattr(matcher, "_COMPILED", {})
    assert _spans(PiiEngine()) == reference
    assert path.read_bytes() == good


def _decoy() -> bytes:
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(expressions=[b"zzzzqqqq"], ids=[0], elements=1, flags=[0])
    return hyperscan.dumpb(db)


def test_file_in_a_folder_others_can_write_is_not_loaded(cache: Path, monkeypatch) -> None:
    reference = _spans(PiiEngine())
    assert {e for e, _, _ in reference} >= {"EMAIL_ADDRESS", "CREDIT_CARD"}
    (path,) = cache.glob("*" + hs_cache.SUFFIX)
    path.write_bytes(_decoy())  # a database that matches nothing would make every scan come back clean
    cache.chmod(0o777)
    monkeypatch.setattr(matcher, "_COMPILED", {})
    assert _spans(PiiEngine()) == reference
    cache.chmod(0o700)
    path.chmod(0o666)
    monkeypatch.setattr(matcher, "_COMPILED", {})
    assert _spans(PiiEngine()) == reference


def test_the_state_folder_is_not_a_cache(tmp_path: Path, cache: Path, monkeypatch) -> None:
    """A dataset folder can carry ./.tuneguard: nothing under TUNEGUARD_HOME is read as a database."""
    home = tmp_path / "home"
    monkeypatch.setenv("TUNEGUARD_HOME", str(home))
    reference = _spans(PiiEngine())
    (path,) = cache.glob("*" + hs_cache.SUFFIX)
    planted = home / "cache" / "hyperscan" / path.name
    planted.parent.mkdir(parents=True, mode=0o700)
    planted.write_bytes(_decoy())
    path.unlink()
    monkeypatch.setattr(matcher, "_COMPILED", {})
    assert _spans(PiiEngine()) == reference


def test_key_changes_with_any_pattern_detail() -> None:
    base = hs_cache.cache_key("0.9.1", 1, [b"a+", b"b"], [0, 1], [8, 8])
    assert hs_cache.cache_key("0.9.1", 1, [b"a+", b"b"], [0, 1], [8, 8]) == base
    for other in (
        hs_cache.cache_key("0.9.2", 1, [b"a+", b"b"], [0, 1], [8, 8]),
        hs_cache.cache_key("0.9.1", 2, [b"a+", b"b"], [0, 1], [8, 8]),
        hs_cache.cache_key("0.9.1", 1, [b"a+", b"c"], [0, 1], [8, 8]),
        hs_cache.cache_key("0.9.1", 1, [b"a+", b"b"], [1, 0], [8, 8]),
        hs_cache.cache_key("0.9.1", 1, [b"a+", b"b"], [0, 1], [8, 9]),
        hs_cache.cache_key("0.9.1", 1, [b"a", b"+b"], [0, 1], [8, 8]),
    ):
        assert other != base
