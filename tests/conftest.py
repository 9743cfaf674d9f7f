"""Shared test fixtures: every test gets its own TUNEGUARD_HOME so state never leaks between tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TUNEGUARD_SHARED", REPO.parent / "shared"))
DATASETS = SHARED / "datasets"


@pytest.fixture(autouse=True)
def tg_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "tghome"
    monkeypatch.setenv("TUNEGUARD_HOME", str(home))
    monkeypatch.delenv("TUNEGUARD_CONFIG", raising=False)
    # A developer's shared PostgreSQL ledger must never receive test entries (its own tests pass the URL).
    monkeypatch.delenv("TUNEGUARD_LEDGER_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run the CLI in-process; returns (exit_code, stdout, stderr)."""
    from tuneguard.cli.main import main

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.skip(f"shared datasets not found at {DATASETS}")
    return DATASETS


MODEL_CACHE = REPO / ".tuneguard-test-cache" / "models"


@pytest.fixture(autouse=True)
def shared_model_cache(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Convert the embedded GGUF once per machine, not once per test home."""
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("TUNEGUARD_MODEL_CACHE", str(MODEL_CACHE))
    return MODEL_CACHE


@pytest.fixture(scope="session")
def embedded_folder() -> Path:
    """The embedded SmolLM2 as a safetensors folder (converted on first use, ~30 s)."""
    import os

    os.environ["TUNEGUARD_MODEL_CACHE"] = str(MODEL_CACHE)
    from tuneguard.core.hfmodels import materialize_model

    return materialize_model("embedded")


@pytest.fixture
def pg_database():
    """A fresh database on the PostgreSQL that scripts/start-postgres.sh started (TUNEGUARD_TEST_PG_URL),
    dropped afterwards. Skips locally without one; fails under CI, where .ci/run always starts one."""
    base = os.environ.get("TUNEGUARD_TEST_PG_URL")
    if not base:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("TUNEGUARD_TEST_PG_URL is not set under CI (run scripts/start-postgres.sh)")
        pytest.skip('TUNEGUARD_TEST_PG_URL not set (eval "$(scripts/start-postgres.sh)")')
    import uuid

    import psycopg

    name = f"tg_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield base.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
