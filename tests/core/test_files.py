import hashlib
import os
from pathlib import Path

import pytest

from tuneguard.core import atomic_write_bytes, atomic_writer, sha256_file


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_atomic_write_replaces_and_sets_mode(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "key"
    atomic_write_bytes(target, b"one", perms=0o600)
    atomic_write_bytes(target, b"two", perms=0o600)
    assert target.read_bytes() == b"two"
    assert target.stat().st_mode & 0o777 == 0o600


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("original")
    with pytest.raises(RuntimeError):
        with atomic_writer(target, "w") as fh:
            fh.write("partial")
            raise RuntimeError("boom")
    assert target.read_text() == "original"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_create_private_file_once_complete_and_private(tmp_path) -> None:
    import stat
    from concurrent.futures import ThreadPoolExecutor

    from tuneguard.core import create_private_file

    target = tmp_path / "keys" / "kek.key"
    payloads = [bytes([i]) * 4096 for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda d: create_private_file(target, d), payloads))
    assert won.count(True) == 1
    assert target.read_bytes() == payloads[won.index(True)]  # the winner's bytes, whole
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(target.parent).st_mode) == 0o700
    assert sorted(p.name for p in target.parent.iterdir()) == ["kek.key"]  # no temp files left
    assert create_private_file(target, b"other") is False and target.read_bytes() == payloads[won.index(True)]
