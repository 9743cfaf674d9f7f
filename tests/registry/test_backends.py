"""The S3 blob store against moto's real S3 server on loopback, and the metadata on a real PostgreSQL.

PostgreSQL: scripts/start-postgres.sh exports TUNEGUARD_TEST_PG_URL; without it these tests skip, except under
CI=true where a missing database is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.registry.conftest import files_of, make_artifact
from tests.registry.test_crash import CHILD, REPO


@pytest.mark.slow
def test_s3_store_round_trip_ciphertext_only_and_tamper(
    s3_endpoint: str, s3_bucket, policy, tmp_path: Path, tg_home: Path
) -> None:
    from tuneguard.registry import Registry

    client, bucket = s3_bucket
    artifact = make_artifact(tmp_path / "a", big=400_000)
    with Registry.open(
        policy=policy, store_url=f"s3://{bucket}/models", store_options={"endpoint_url": s3_endpoint}
    ) as reg:
        assert reg.push(artifact, "bot") == "bot@v1"
        assert not (tg_home / "registry" / "objects").exists()  # nothing went to the local store
        assert files_of(reg.pull("bot@v1", tmp_path / "out")) == files_of(artifact)
        assert reg.verify("bot@v1").ok
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
        assert len(keys) == 7 and all(k.startswith("models/objects/") for k in keys)
        for key in keys:
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            assert b"PLAINTEXT-CANARY" not in body and b"tokenizer.json" not in body
        row, _k, manifest, _r = reg._open_version("bot@v1")
        weights = next(e for e in manifest["files"] if e["path"] == "model.safetensors")
        key = f"models/objects/{row['prefix']}/{weights['object']}"
        data = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        data[70_000] ^= 4
        client.put_object(Bucket=bucket, Key=key, Body=bytes(data))
        result = reg.verify("bot@v1")
        assert not result.ok and result.problems[0]["file"] == "model.safetensors"
        assert reg.gc(older_than_s=0) == {"aborted": 0, "removed_prefixes": 0}


@pytest.fixture
def pg_url(pg_database: str) -> str:
    return pg_database


@pytest.mark.slow
def test_postgres_metadata_versions_aliases_and_concurrent_pushes(
    pg_url: str, policy, tmp_path: Path, tg_home: Path
) -> None:
    from tuneguard.registry import Registry

    artifact = make_artifact(tmp_path / "a", big=100_000)
    with Registry.open(policy=policy, metadata_url=pg_url) as reg:
        assert reg.push(artifact, "bot") == "bot@v1"
        assert not (tg_home / "registry.db").exists()  # metadata went to PostgreSQL
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "TUNEGUARD_REGISTRY_DB": pg_url}
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, "none", str(artifact), "bot"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outs = [p.communicate(timeout=180) for p in procs]
        assert all(p.returncode == 0 for p in procs), [o[1][-800:] for o in outs]
        assert sorted(o[0].strip() for o in outs) == ["bot@v2", "bot@v3", "bot@v4"]
        reg.promote("bot@v2", "production")
        reg.promote("bot@v4", "production")
        assert reg.rollback("bot", "production")["to"] == 2
        assert reg.resolve("bot:production") == ("bot", 2)
        assert files_of(reg.pull("bot:production", tmp_path / "out")) == files_of(artifact)
        assert reg.verify("bot@v3").ok
        token = reg.add_user("erin", "deployer")
        from tuneguard.registry.access import authenticate

        assert authenticate(reg.engine, token).role == "deployer"


@pytest.mark.slow
def test_team_setup_s3_blobs_postgres_metadata_and_ledger(
    pg_url: str, s3_endpoint: str, s3_bucket, policy, tmp_path: Path, tg_home: Path, monkeypatch
) -> None:
    """The deployment guide's combination end to end: blobs on S3, metadata and ledger on one PostgreSQL."""
    from tuneguard.core import Ledger
    from tuneguard.core.ledger import LEDGER_URL_ENV
    from tuneguard.registry import Registry

    client, bucket = s3_bucket
    monkeypatch.setenv(LEDGER_URL_ENV, pg_url)
    monkeypatch.setenv("TUNEGUARD_S3_ENDPOINT", s3_endpoint)
    monkeypatch.setenv("TUNEGUARD_REGISTRY_STORE", f"s3://{bucket}/team")
    monkeypatch.setenv("TUNEGUARD_REGISTRY_DB", pg_url)
    artifact = make_artifact(tmp_path / "a", big=200_000)
    with Registry.open(policy=policy) as reg:
        assert reg.push(artifact, "bot") == "bot@v1"
        reg.promote("bot@v1", "staging")
        assert files_of(reg.pull("bot:staging", tmp_path / "out")) == files_of(artifact)
        assert reg.verify("bot@v1").ok
    assert not (tg_home / "registry.db").exists() and not (tg_home / "ledger.db").exists()
    assert not (tg_home / "registry" / "objects").exists()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys and all(k.startswith("team/objects/") for k in keys)
    with Ledger(readonly=True) as ledger:
        assert str(ledger.path).startswith("postgresql://")
        report = ledger.verify()
        operations = [e.payload.get("operation") for e in ledger.entries(stage="registry", kind="access")]
    assert report.ok and report.count >= 4
    assert {"push", "promote", "pull", "verify"} <= set(operations)
