"""Early hashing: a started job gives the file's real digest and full progress to its claimant, and is never
used for a file that changed, a second claimant or a file below the size floor."""
import hashlib
import os
from pathlib import Path

import pytest

from tuneguard.core.early_hash import EarlyHashes


def _write(path: Path, mib: int, seed: int = 1) -> bytes:
    data = hashlib.shake_256(str(seed).encode()).digest(1 << 20) * mib
    path.write_bytes(data)
    return data


def test_claimed_job_gives_the_real_digest_and_all_progress(tmp_path: Path) -> None:
    big = tmp_path / "w.bin"
    data = _write(big, 40)
    hashes = EarlyHashes()
    assert hashes.start([tmp_path], min_bytes=1 << 20) == 1
    seen: list[int] = []
    future = hashes.claim(big, seen.append)
    assert future is not None
    assert future.result(timeout=60) == hashlib.sha256(data).hexdigest()
    assert sum(seen) == len(data)  # bytes hashed before the claim are reported too
    assert hashes.claim(big) is None  # claimed once only


def test_small_changed_or_unknown_files_are_hashed_by_the_caller(tmp_path: Path) -> None:
    small, big = tmp_path / "small.bin", tmp_path / "big.bin"
    _write(small, 1)
    _write(big, 3)
    hashes = EarlyHashes()
    assert hashes.start([small, big, tmp_path / "missing"], min_bytes=2 << 20) == 1
    assert hashes.claim(small) is None
    assert hashes.claim(tmp_path / "other") is None
    # The file is replaced after the job started: its identity no longer matches, the job is not used.
    replacement = tmp_path / "new.bin"
    _write(replacement, 3, seed=2)
    os.replace(replacement, big)
    assert hashes.claim(big) is None


def test_job_error_reaches_the_claimant(tmp_path: Path, monkeypatch) -> None:
    import tuneguard.core.early_hash as early

    def failing(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(early, "sha256_file", failing)
    big = tmp_path / "w.bin"
    _write(big, 2)
    hashes = EarlyHashes()
    hashes.start([big], min_bytes=1)
    future = hashes.claim(big)
    assert future is not None
    with pytest.raises(OSError, match="Input/output error"):
        future.result(timeout=60)


def test_switch_interval_is_short_while_jobs_run_and_restored_after(tmp_path: Path, monkeypatch) -> None:
    import sys
    import threading

    import tuneguard.core.early_hash as early

    release = threading.Event()
    real = early.sha256_file
    seen: list[float] = []

    def gated(*args, **kwargs):
        seen.append(sys.getswitchinterval())
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(early, "sha256_file", gated)
    _write(tmp_path / "a.bin", 2)
    _write(tmp_path / "b.bin", 3)
    before = sys.getswitchinterval()
    hashes = EarlyHashes()
    assert hashes.start([tmp_path], min_bytes=1 << 20, workers=2) == 2
    short = pytest.approx(early.HANDOFF_SWITCH_INTERVAL)  # the interpreter keeps whole microseconds
    assert sys.getswitchinterval() == short and short != before
    release.set()
    for name in ("a.bin", "b.bin"):
        future = hashes.claim(tmp_path / name)
        assert future is not None
        future.result(timeout=60)
    # The last worker restores the interval as it exits, just after setting the last result.
    for _ in range(500):
        if sys.getswitchinterval() == before:
            break
        threading.Event().wait(0.01)
    assert sys.getswitchinterval() == before
    assert seen == [short, short]


def test_overlapping_job_groups_restore_the_original_interval(tmp_path: Path, monkeypatch) -> None:
    import sys
    import threading

    import tuneguard.core.early_hash as early

    gates = {"a.bin": threading.Event(), "b.bin": threading.Event()}
    real = early.sha256_file

    def gated(path, *args, **kwargs):
        gates[Path(path).name].wait(30)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(early, "sha256_file", gated)
    for name in gates:
        _write(tmp_path / name, 2)
    before = sys.getswitchinterval()
    short = pytest.approx(early.HANDOFF_SWITCH_INTERVAL)
    first, second = EarlyHashes(), EarlyHashes()
    assert first.start([tmp_path / "a.bin"], min_bytes=1 << 20) == 1
    assert second.start([tmp_path / "b.bin"], min_bytes=1 << 20) == 1
    gates["a.bin"].set()  # the first group ends while the second still runs
    first.claim(tmp_path / "a.bin").result(timeout=60)
    threading.Event().wait(0.2)
    assert sys.getswitchinterval() == short
    gates["b.bin"].set()
    second.claim(tmp_path / "b.bin").result(timeout=60)
    for _ in range(500):
        if sys.getswitchinterval() == before:
            break
        threading.Event().wait(0.01)
    assert sys.getswitchinterval() == before
