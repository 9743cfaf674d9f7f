"""The local registry end to end: round trips, ciphertext only, every corruption named, versions, aliases."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.registry.conftest import files_of, flip_bit, make_artifact, stored_objects
from tuneguard.core import GateFailed, Ledger, UserError


def test_round_trip_is_byte_exact(registry, artifact: Path, tmp_path: Path) -> None:
    ref = registry.push(artifact, "bot", kind="model", lineage={"run_id": "r1"})
    assert ref == "bot@v1"
    out = registry.pull(ref, tmp_path / "pulled")
    assert files_of(out) == files_of(artifact)
    assert registry.verify("bot").ok
    assert not list(tmp_path.glob(".pulled.pull-*")), "staging folder left behind"
    assert not any((registry.home / "tmp").iterdir()), "private temp not wiped"


def test_store_and_metadata_hold_no_plaintext(registry, artifact: Path, tg_home: Path) -> None:
    registry.push(artifact, "bot")
    needles = [
        b"PLAINTEXT-CANARY-7f3a9",
        b"tokenizer.json",
        b"model.safetensors",
        b"hidden_size",
        b"nested",
        (artifact / "model.safetensors").read_bytes()[1000:1032],
    ]
    stored = stored_objects(tg_home)
    assert len(stored) == 7  # 5 files + signature + manifest, names all random
    for path in [*stored, tg_home / "registry.db"]:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, f"{needle[:20]!r} in plaintext in {path}"
    for path in stored:
        assert path.stat().st_mode & 0o077 == 0
    assert (tg_home / "keys" / "registry.kek").stat().st_mode & 0o777 == 0o600
    assert (tg_home / "keys" / "registry-signing.pem").stat().st_mode & 0o777 == 0o600


def test_versions_are_automatic_and_immutable(registry, artifact: Path, tmp_path: Path) -> None:
    other = make_artifact(tmp_path / "other", seed=1)
    assert [registry.push(artifact, "bot"), registry.push(other, "bot"), registry.push(artifact, "x")] == [
        "bot@v1",
        "bot@v2",
        "x@v1",
    ]
    assert registry.resolve("bot") == ("bot", 2)
    assert files_of(registry.pull("bot@v1", tmp_path / "v1")) == files_of(artifact)
    assert files_of(registry.pull("bot@v2", tmp_path / "v2")) == files_of(other)
    with pytest.raises(UserError, match="bot@v3: no such version"):
        registry.resolve("bot@v3")
    with pytest.raises(UserError, match="nope: no such artifact"):
        registry.verify("nope")
    with pytest.raises(UserError, match="already exists"):
        registry.pull("bot@v1", tmp_path / "v1")


def _object_roles(registry, name: str = "bot", version: int = 1) -> dict[str, str]:
    """Stored object id -> what it holds (file path, 'signature', 'manifest'), read through the registry."""
    row, _key, manifest, _reader = registry._open_version(f"{name}@v{version}")
    roles = {e["object"]: e["path"] for e in manifest["files"]}
    roles[manifest["signature"]["object"]] = "signature"
    roles["manifest"] = "manifest"
    return roles


def test_a_flipped_bit_in_any_stored_object_is_named(
    registry, artifact: Path, tg_home: Path, tmp_path: Path
) -> None:
    registry.push(artifact, "bot")
    roles = _object_roles(registry)
    for path in stored_objects(tg_home):
        original = path.read_bytes()
        for offset in (0, 5, len(original) // 2, len(original) - 1):
            if not original:
                continue
            flip_bit(path, offset)
            result = registry.verify("bot@v1")
            assert not result.ok
            assert roles[path.name] in {p["file"] for p in result.problems}, (
                roles[path.name],
                result.problems,
            )
            with pytest.raises(GateFailed, match=roles[path.name].split("/")[-1]):
                registry.pull("bot@v1", tmp_path / "out")
            assert not (tmp_path / "out").exists()
            path.write_bytes(original)
    assert registry.verify("bot@v1").ok


def test_swapped_truncated_appended_and_moved_blobs_are_named(
    registry, artifact: Path, tg_home: Path, tmp_path: Path
) -> None:
    registry.push(artifact, "bot")
    registry.push(artifact, "bot")
    roles = _object_roles(registry)
    by_role = {role: obj for obj, role in roles.items()}
    objects = {p.name: p for p in stored_objects(tg_home)}
    weights = objects[by_role["model.safetensors"]]
    original = weights.read_bytes()
    seg = 65536 + 16
    header, body = original[:40], original[40:]

    def expect(name: str) -> None:
        result = registry.verify("bot@v1")
        assert not result.ok and name in {p["file"] for p in result.problems}, result.problems
        weights.write_bytes(original)

    first, second = body[: seg - 40], body[seg - 40 : 2 * seg - 40]
    weights.write_bytes(header + second + first + body[2 * seg - 40 :])  # swapped segments
    expect("model.safetensors")
    weights.write_bytes(original[:-100])  # truncated
    expect("model.safetensors")
    weights.write_bytes(original[: len(original) // 2])  # truncated at half
    expect("model.safetensors")
    weights.write_bytes(original + body[-(len(body) % seg or seg) :])  # appended copy of the last segment
    expect("model.safetensors")
    weights.write_bytes(objects[by_role["one-segment.bin"]].read_bytes())  # another file's blob
    expect("model.safetensors")
    v2 = _object_roles(registry, version=2)
    v2_weights = next(p for p in stored_objects(tg_home) if v2.get(p.name) == "model.safetensors")
    weights.write_bytes(v2_weights.read_bytes())  # same file, same content, but from version 2
    expect("model.safetensors")
    weights.unlink()  # deleted
    expect("model.safetensors")
    assert registry.verify("bot@v1").ok


def test_wrong_key_encryption_key_fails_clearly(registry, artifact: Path, tg_home: Path) -> None:
    registry.push(artifact, "bot")
    kek = tg_home / "keys" / "registry.kek"
    original = kek.read_bytes()
    kek.write_bytes(os.urandom(32))
    registry.keys._cached = None
    result = registry.verify("bot@v1")
    assert not result.ok and "wrong key-encryption key" in result.problems[0]["message"]
    kek.write_bytes(original)
    registry.keys._cached = None
    assert registry.verify("bot@v1").ok


def test_metadata_row_swapped_between_versions_is_detected(
    registry, artifact: Path, tg_home: Path, tmp_path: Path
) -> None:
    """Pointing v1's row at v2's blobs and wrapped key (a database edit) breaks the bound associated data."""
    registry.push(artifact, "bot")
    registry.push(make_artifact(tmp_path / "b", seed=3), "bot")
    db = sqlite3.connect(tg_home / "registry.db")
    v2 = db.execute("SELECT prefix, wrapped_key, digest FROM registry_versions WHERE version=2").fetchone()
    db.execute("UPDATE registry_versions SET prefix='x' WHERE version=2")
    db.execute("UPDATE registry_versions SET prefix=?, wrapped_key=?, digest=? WHERE version=1", v2)
    db.commit()
    db.close()
    result = registry.verify("bot@v1")
    assert not result.ok and "data key cannot be unwrapped" in result.problems[0]["message"]


def test_forged_content_with_the_data_key_fails_the_signature(
    registry, artifact: Path, tg_home: Path
) -> None:
    """An attacker holding a version's data key (but not the signing key) re-encrypts a changed file."""
    from tuneguard.registry.blobs import associated_data
    from tuneguard.registry.crypto import encrypt_stream

    registry.push(artifact, "bot")
    row, key, manifest, _reader = registry._open_version("bot@v1")
    entry = next(e for e in manifest["files"] if e["path"] == "config.json")
    blob = tg_home / "registry" / "objects" / row["prefix"] / entry["object"]
    forged = b'{"api_key": "PLAINTEXT-CANARY-7f3a9", "hidden_size": 577}'
    import io

    with open(blob, "wb") as dst:
        encrypt_stream(
            key,
            associated_data("bot", 1, entry["object"]),
            io.BytesIO(forged),
            dst,
            segment_size=manifest["segment_size"],
        )
    result = registry.verify("bot@v1")
    assert not result.ok
    assert [p["file"] for p in result.problems] == ["config.json"]
    assert "does not match its signed hash" in result.problems[0]["message"]


def test_tampered_signature_is_named(registry, artifact: Path, tg_home: Path) -> None:
    from tuneguard.registry.blobs import associated_data, object_key
    from tuneguard.registry.crypto import seal

    registry.push(artifact, "bot")
    row, key, manifest, reader = registry._open_version("bot@v1")
    sig_id = manifest["signature"]["object"]
    bundle = json.loads(reader.small(key, "bot", 1, row["prefix"], sig_id, "sig"))
    envelope = bundle["dsseEnvelope"]
    raw = bytearray(__import__("base64").b64decode(envelope["signatures"][0]["sig"]))
    raw[10] ^= 1
    envelope["signatures"][0]["sig"] = __import__("base64").b64encode(bytes(raw)).decode()
    path = tg_home / "registry" / object_key(row["prefix"], sig_id)
    path.write_bytes(seal(key, associated_data("bot", 1, sig_id), json.dumps(bundle).encode()))
    result = registry.verify("bot@v1")
    assert not result.ok and result.problems[0]["file"] == "signature"
    db = sqlite3.connect(
        tg_home / "registry.db"
    )  # even with the recorded digest updated, the ECDSA check fails
    db.execute(
        "UPDATE registry_versions SET digest=?",
        (__import__("hashlib").sha256(json.dumps(bundle).encode()).hexdigest(),),
    )
    db.commit()
    db.close()
    result = registry.verify("bot@v1")
    assert not result.ok and result.problems[0]["file"] == "signature"
    assert "signature" in result.problems[0]["message"]


def test_signing_key_replaced_is_detected(registry, artifact: Path, tg_home: Path) -> None:
    registry.push(artifact, "bot")
    for name in ("registry-signing.pem", "registry-signing.pub.pem"):
        (tg_home / "keys" / name).unlink()
    registry.signer.ensure_keys()  # a new key pair, as an attacker with write access might install
    result = registry.verify("bot@v1")
    assert not result.ok and result.problems[0]["file"] == "signature"


def test_alias_promote_rollback_history(registry, artifact: Path) -> None:
    for _ in range(3):
        registry.push(artifact, "bot")
    assert registry.promote("bot@v1", "production") == {
        "name": "bot",
        "alias": "production",
        "from": None,
        "to": 1,
    }
    registry.promote("bot@v2", "production")
    registry.promote("bot@v3", "production")
    registry.promote("bot@v2", "staging")
    assert registry.resolve("bot:production") == ("bot", 3)
    assert registry.rollback("bot", "production")["to"] == 2
    assert registry.resolve("bot:production") == ("bot", 2)
    assert registry.rollback("bot", "production")["to"] == 1
    with pytest.raises(UserError, match="no earlier target"):
        registry.rollback("bot", "production")
    with pytest.raises(UserError, match="no such alias"):
        registry.rollback("bot", "canary")
    hist = registry.history("bot")
    assert hist["aliases"] == {"production": 1, "staging": 2}
    assert [(e["alias"], e["action"], e["from_version"], e["to_version"]) for e in hist["alias_events"]] == [
        ("production", "promote", None, 1),
        ("production", "promote", 1, 2),
        ("production", "promote", 2, 3),
        ("staging", "promote", None, 2),
        ("production", "rollback", 3, 2),
        ("production", "rollback", 2, 1),
    ]
    listed = {r["ref"]: r["aliases"] for r in registry.list()}
    assert listed == {"bot@v1": ["production"], "bot@v2": ["staging"], "bot@v3": []}


def test_promotion_requires_passed_gates_when_policy_says_so(registry, artifact: Path, tg_home: Path) -> None:
    from tuneguard.core import StageResult, Verdict

    registry.policy.registry.require_gates_for_promotion = True
    with Ledger(tg_home / "ledger.db") as ledger:
        passed = ledger.record(StageResult(stage="data", verdict=Verdict.PASS)).seq
        failed = ledger.record(StageResult(stage="probe", verdict=Verdict.FAIL)).seq
    registry.push(artifact, "bot")
    registry.push(artifact, "bot", lineage={"gates": f"{passed},{failed}"})
    registry.push(artifact, "bot", lineage={"gates": str(passed)})
    with pytest.raises(GateFailed, match="no recorded gates"):
        registry.promote("bot@v1", "production")
    with pytest.raises(GateFailed, match=f"seq {failed} \\(probe\\) did not pass"):
        registry.promote("bot@v2", "production")
    assert registry.promote("bot@v3", "production")["to"] == 3


def test_every_access_is_in_the_ledger(registry, artifact: Path, tg_home: Path, tmp_path: Path) -> None:
    registry.push(artifact, "bot")
    registry.pull("bot", tmp_path / "o")
    registry.verify("bot")
    registry.list()
    with Ledger(tg_home / "ledger.db", readonly=True) as ledger:
        entries = list(ledger.entries(stage="registry"))
        assert ledger.verify().ok
    ops = [e.payload["operation"] for e in entries if e.kind == "access"]
    assert ops == ["push", "pull", "verify", "list"]
    results = [e.payload for e in entries if e.kind == "stage_result"]
    assert results[0]["artifacts"][0]["path"] == "bot@v1" and results[1]["verdict"] == "pass"


def test_lineage_is_read_from_the_training_sidecar(registry, artifact: Path) -> None:
    (artifact / "tuneguard-adapter.json").write_text(
        json.dumps(
            {"base": "embedded", "base_sha256": "ab" * 32, "dataset_sha256": "cd" * 32, "run_id": "run-7"}
        )
    )
    registry.push(artifact, "bot", kind="adapter", lineage={"probe_report": "42"})
    lineage = registry.history("bot")["versions"][0]["lineage"]
    assert lineage == {
        "base": "embedded",
        "base_sha256": "ab" * 32,
        "dataset_sha256": "cd" * 32,
        "run_id": "run-7",
        "probe_report": "42",
    }


def test_bad_input_is_refused_before_anything_is_stored(registry, tmp_path: Path, tg_home: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    with pytest.raises(UserError, match="no files"):
        registry.push(folder, "bot")
    (folder / "a").write_text("x")
    os.symlink("/etc/passwd", folder / "link")
    with pytest.raises(UserError, match="symbolic links"):
        registry.push(folder, "bot")
    with pytest.raises(UserError, match="--name"):
        registry.push(folder, "../evil")
    with pytest.raises(UserError, match="--kind"):
        registry.push(folder, "bot", kind="pickle")
    assert registry.list() == []
    shutil.rmtree(folder)


def test_a_failed_push_leaves_nothing_and_its_number_is_not_reused(
    registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuneguard.registry.blobs import BlobWriter

    def broken(*_a, **_k):
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(BlobWriter, "put_small", broken)
        with pytest.raises(OSError, match="disk full"):
            registry.push(artifact, "bot")
    assert registry.list() == [] and registry.store.prefixes() == []
    assert registry.push(artifact, "bot") == "bot@v2"


def test_versions_wrapped_by_another_provider_still_open(
    registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tuneguard.registry.crypto import EnvKeyProvider

    registry.push(artifact, "bot")
    monkeypatch.setenv("TUNEGUARD_REGISTRY_KEK", os.urandom(32).hex())
    registry.keys = EnvKeyProvider()
    registry.push(artifact, "bot")
    assert registry.verify("bot@v1").ok and registry.verify("bot@v2").ok
    assert [r["key_id"] != "" for r in registry.list()] == [True, True]


def test_gate_seqs_as_tuneguard_run_records_them(registry, artifact: Path, tg_home: Path) -> None:
    """`tuneguard run` records {stage: first ledger seq of the stage's run}; its result follows it."""
    from tuneguard.core import StageResult, Verdict

    registry.policy.registry.require_gates_for_promotion = True
    with Ledger(tg_home / "ledger.db") as ledger:
        data_first = ledger.append("data", {"note": "scan started"}).seq
        ledger.record(StageResult(stage="data", verdict=Verdict.PASS))
        probe_first = ledger.append("probe", {"note": "probe started"}).seq
        ledger.record(StageResult(stage="probe", verdict=Verdict.FAIL))
    registry.push(artifact, "bot", lineage={"gate_seqs": {"data": data_first, "serve-check": None}})
    registry.push(artifact, "bot", lineage={"gate_seqs": {"data": data_first, "evaluate": probe_first}})
    assert registry.promote("bot@v1", "staging")["to"] == 1
    with pytest.raises(GateFailed, match="\\(probe\\) did not pass"):
        registry.promote("bot@v2", "staging")
