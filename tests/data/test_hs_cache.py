"""The on-disk cache of compiled Hyperscan databases: reused across processes, same matches as a fresh
compile, rejected files recompiled, nothing written without a TUNEGUARD_HOME."""
from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("hyperscan")

from tuneguard.data.pii import hs_cache, matcher  # noqa: E402
from tuneguard.data.pii.engine import PiiEngine  # noqa: E402

TEXT = "Mail a.b@example.com, card 4111 1111 1111 1111, 手机13812345678, AKIAIOSFODNN7EXAMPLE"
PROBE = (
    "import json, sys, time\n"
    "t = time.process_time()\n"
    "from tuneguard.data.pii.engine import PiiEngine\n"
    "e = PiiEngine()\n"
    "spans = [(s.entity, s.start, s.end) for s in e.find(sys.argv[1])]\n"
    "print(json.dumps({'spans': spans, 'backend': e.backend}))\n"
)


def _files(home: Path) -> list[Path]:
    return sorted(home.joinpath(*hs_cache.CACHE_DIR).glob("*" + hs_cache.SUFFIX))


def _run(home: Path) -> dict:
    import json
    import os

    env = {**os.environ, "TUNEGUARD_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", PROBE, TEXT], env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    return json.loads(out.stdout)


def test_second_process_loads_the_database_and_finds_the_same_spans(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    first = _run(home)
    files = _files(home)
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    for level in (home / "cache", home / "cache" / "hyperscan"):
        assert stat.S_IMODE(level.stat().st_mode) == 0o700
    written = files[0].stat().st_mtime_ns
    second = _run(home)
    assert second == first and first["backend"] == "hyperscan"
    assert {e for e, _, _ in first["spans"]} >= {"EMAIL_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER"}
    assert _files(home)[0].stat().st_mtime_ns == written  # loaded, not rewritten


def test_rejected_file_is_recompiled_and_replaced(tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TUNEGUARD_HOME", str(home))
    monkeypatch.setattr(matcher, "_COMPILED", {})
    reference = [(s.entity, s.start, s.end) for s in PiiEngine().find(TEXT)]
    (path,) = _files(home)
    good = path.read_bytes()
    path.write_bytes(good[:64] + bytes(len(good) - 64))  # a damaged body: Hyperscan's checksum fails
    monkeypatch.setattr(matcher, "_COMPILED", {})
    assert [(s.entity, s.start, s.end) for s in PiiEngine().find(TEXT)] == reference
    assert path.read_bytes() == good


def test_nothing_written_without_a_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TUNEGUARD_HOME", str(tmp_path / "absent"))
    monkeypatch.setattr(matcher, "_COMPILED", {})
    assert PiiEngine().find(TEXT)
    assert not (tmp_path / "absent").exists()


def test_key_changes_with_any_pattern_detail() -> None:
    base = hs_cache.cache_key("0.9.1", 1, [b"a+", b"b"], [0, 1], [8, 8])
    assert hs_cache.cache_key("0.9.1", 1, [b"a+", b"b"], [0, 1], [8, 8]) == base
    for other in (
        hs_cache.cache_key("0.9.2", 1, [b"a+", b"b"], [0, 1], [8, 8]),
        hs_cache.cache_key("0.9.1", 1, [b"a+", b"c"], [0, 1], [8, 8]),
        hs_cache.cache_key("0.9.1", 1, [b"a+", b"b"], [1, 0], [8, 8]),
        hs_cache.cache_key("0.9.1", 1, [b"a+", b"b"], [0, 1], [8, 9]),
        hs_cache.cache_key("0.9.1", 1, [b"a", b"+b"], [0, 1], [8, 8]),
    ):
        assert other != base
