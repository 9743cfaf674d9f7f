"""kill -9 during a push at several points leaves no visible partial version; concurrent pushes get distinct
numbers. Pushes run in real subprocesses so the kill and the races are real."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.registry.conftest import files_of, make_artifact

REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import os, signal, sys
    from tuneguard.core import Policy
    from tuneguard.core.policy import RegistryPolicy
    from tuneguard.registry import Registry, blobs, meta, registry as regmod

    point, folder, name = sys.argv[1], sys.argv[2], sys.argv[3]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "signing":
        regmod.EcKeySigner.sign = lambda *a, **k: die()
    elif point == "after_reserve":
        original = meta.reserve_version
        meta.reserve_version = lambda *a, **k: (original(*a, **k), die())[0]
    elif point == "mid_blob":
        original_put = blobs.encrypt_stream
        def killing(key, ad, src, dst, **kw):
            class Dst:
                n = 0
                def write(self, data):
                    Dst.n += 1
                    if Dst.n == 3:
                        die()
                    return dst.write(data)
            return original_put(key, ad, src, Dst(), **kw)
        blobs.encrypt_stream = killing
    elif point == "before_commit":
        meta.commit_version = lambda *a, **k: die()
    elif point == "after_commit":
        original_commit = meta.commit_version
        meta.commit_version = lambda *a, **k: (original_commit(*a, **k), die())
    reg = Registry.open(policy=Policy(registry=RegistryPolicy(segment_size=65536)))
    print(reg.push(folder, name), flush=True)
""")


def _child(point: str, folder: Path, name: str = "bot") -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, point, str(folder), name],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _assert_consistent(registry) -> list[str]:
    refs = [r["ref"] for r in registry.list()]
    for ref in refs:
        result = registry.verify(ref)
        assert result.ok, (ref, result.problems)
    return refs


@pytest.mark.slow
def test_kill_9_at_every_stage_of_a_push(registry, tmp_path: Path) -> None:
    folder = make_artifact(tmp_path / "a", big=600_000)
    used = []
    for point in ("signing", "after_reserve", "mid_blob", "before_commit", "after_commit"):
        proc = _child(point, folder)
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, (point, err[-2000:])
        refs = _assert_consistent(registry)
        if point == "after_commit":
            assert refs[-1] not in used  # committed before the kill: visible, intact and new
        else:
            assert refs == used, f"{point}: a killed push became visible"
        used = refs
    ref = registry.push(folder, "bot")  # the next push works and never reuses a reserved number
    assert ref == "bot@v5", ref  # v1 after_reserve, v2 mid_blob, v3 before_commit reserved; v4 committed
    assert files_of(registry.pull(ref, tmp_path / "out")) == files_of(folder)
    # after_reserve died before writing any blob, so only two pending pushes left blobs behind
    assert registry.gc(older_than_s=0) == {"aborted": 3, "removed_prefixes": 2}
    assert len(registry.store.prefixes()) == 2
    assert [r["ref"] for r in registry.list()] == ["bot@v4", "bot@v5"]
    assert all(registry.verify(r).ok for r in ("bot@v4", "bot@v5"))


@pytest.mark.slow
def test_kill_9_at_random_moments(registry, tmp_path: Path) -> None:
    folder = make_artifact(tmp_path / "a", big=8_000_000)
    rnd = random.Random(7)
    for _ in range(3):
        proc = _child("none", folder)
        time.sleep(rnd.uniform(0.5, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        _assert_consistent(registry)
    ref = registry.push(folder, "bot")
    assert files_of(registry.pull(ref, tmp_path / "out")) == files_of(folder)


@pytest.mark.slow
def test_concurrent_pushes_get_distinct_versions(registry, tmp_path: Path) -> None:
    folders = [make_artifact(tmp_path / f"a{i}", seed=i, big=200_000) for i in range(4)]
    registry.list()  # schema and keys exist before the race, as on any used registry
    procs = [_child("none", f) for f in folders]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-1000:] for o in outs]
    refs = sorted(o[0].strip() for o in outs)
    assert refs == ["bot@v1", "bot@v2", "bot@v3", "bot@v4"]
    by_ref = {o[0].strip(): f for o, f in zip(outs, folders)}
    for ref, folder in by_ref.items():
        assert files_of(registry.pull(ref, tmp_path / f"out-{ref}")) == files_of(folder)
