"""Registry fixtures: a small multi-segment artifact folder and a registry with 64 KiB segments."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from tuneguard.core import Policy
from tuneguard.core.policy import RegistryPolicy

SEGMENT = 65536


def make_artifact(folder: Path, seed: int = 0, big: int = 300_000) -> Path:
    """Files of several shapes: multi-segment, one segment, empty, nested, and a secret-looking config."""
    import random

    rnd = random.Random(seed)
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(rnd.randbytes(big))
    (folder / "one-segment.bin").write_bytes(rnd.randbytes(SEGMENT - 40))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "nested" / "deeper").mkdir(parents=True)
    (folder / "nested" / "deeper" / "tokenizer.json").write_text('{"vocab": ["hello", "world"]}')
    (folder / "config.json").write_text('{"api_key": "PLAINTEXT-CANARY-7f3a9", "hidden_size": 576}')
    return folder


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def policy() -> Policy:
    return Policy(registry=RegistryPolicy(segment_size=SEGMENT, require_gates_for_promotion=False))


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    return make_artifact(tmp_path / "artifact")


@pytest.fixture
def registry(tg_home: Path, policy: Policy):
    from tuneguard.registry import Registry

    reg = Registry.open(policy=policy)
    yield reg
    reg.close()


def stored_objects(home: Path) -> list[Path]:
    return sorted(p for p in (home / "registry" / "objects").rglob("*") if p.is_file())


def flip_bit(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch):
    import boto3

    for var, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    bucket = f"tg-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    return client, bucket
