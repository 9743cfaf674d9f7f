"""`--engine ray` against the local engine on the same input: same findings, same sanitized bytes, same
manifest, with duplicates and poisoned examples spread over many shards so the corpus-level steps are checked
across shard boundaries. The tests start one private local Ray instance (2 CPUs) for the module.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

pytest.importorskip("ray.data", reason="Ray is not installed (pip install 'tuneguard[ray]')")

from tuneguard.core import Policy  # noqa: E402
from tuneguard.core.policy import DataPolicy  # noqa: E402
from tuneguard.data.checks import parse_checks  # noqa: E402
from tuneguard.data.pipeline import iter_outcomes, process_config, scan_dataset  # noqa: E402
from tuneguard.data.records import DatasetReader  # noqa: E402
from tuneguard.data.sanitize import manifest_path, sanitize_dataset  # noqa: E402
from tuneguard.data.synth import CorpusBuilder  # noqa: E402

from .conftest import chat_records  # noqa: E402

pytestmark = pytest.mark.slow
RUN_ONLY = {"seconds", "records_per_s", "mb_per_s", "poison_seconds", "engine", "workers"}  # how, not what


@pytest.fixture(scope="module")
def ray_local():
    from tuneguard.data import ray_engine

    ray_engine.connect(None, 2)
    yield
    ray_engine.shutdown()


def _dataset(path: Path) -> Path:
    """PII records, exact and near duplicates far apart, malformed lines and a planted backdoor."""
    from tests.data.poison.synth import TRIGGERS, Generator

    records = chat_records(CorpusBuilder(7).corpus(240))
    pairs = Generator(seed=21).clean(500)
    Generator(seed=22).plant(pairs, TRIGGERS[0], 12)
    records += [{"instruction": p, "output": r} for p, r in pairs]
    lines = [orjson.dumps(r) for r in records]
    lines[600] = lines[3]  # exact duplicate of a record hundreds of lines (many shards) earlier
    lines[5], lines[700] = _near_pair()
    lines[650] = b'{"prompt": "broken'
    lines[651] = b""
    lines[652] = b"[1, 2]"
    lines[653] = b'{"prompt": "caf\xe9 on 555-0100"}'  # invalid UTF-8
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _near_pair() -> tuple[bytes, bytes]:
    """Two records one word apart that the MinHash LSH flags (64 hashes in 3 bands: not every such pair)."""
    from tuneguard.data.clean import DuplicateIndex, minhash_values
    from tuneguard.data.fields import record_text

    words = [f"ticket{i % 17} refund{i % 5} order{i}" for i in range(60)]
    first = {"prompt": " ".join(words), "completion": "ok"}
    for k in range(len(words)):
        second = {"prompt": " ".join(words[:k] + ["changed"] + words[k + 1:]), "completion": "ok"}
        index = DuplicateIndex(0.9)
        index.near(minhash_values(record_text(first)), 1)
        if index.near(minhash_values(record_text(second)), 2) == 1:
            return orjson.dumps(first), orjson.dumps(second)
    raise AssertionError("no near-duplicate pair found")


def _without(d: dict, keys: set[str]) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


def test_scan_same_findings_and_stats(ray_local, tmp_path: Path) -> None:
    src = _dataset(tmp_path / "train.jsonl")
    selection = parse_checks([])  # every default check, poisoning included
    local = scan_dataset(str(src), DataPolicy(), selection, workers=1)
    ray = scan_dataset(str(src), DataPolicy(), selection, workers=2, engine="ray")
    assert ray["findings"] == local["findings"]
    assert _without(ray["stats"], RUN_ONLY) == _without(local["stats"], RUN_ONLY)
    checks = local["stats"]["by_check"]
    assert checks.get("data.clean.exact_duplicate") and checks.get("data.clean.near_duplicate")
    assert any(k.startswith("data.poison.") for k in checks), checks
    assert ray["stats"]["engine"] == "ray"


def test_sanitize_same_bytes_and_manifest(ray_local, tmp_path: Path) -> None:
    src = _dataset(tmp_path / "train.jsonl")
    # Pseudonyms and tokens need the keys under TUNEGUARD_HOME on the workers too.
    policy = Policy(data=DataPolicy(operators={"EMAIL_ADDRESS": "pseudonym", "PHONE_NUMBER": "tokenize"},
                                    drop_duplicates=True))
    selection = parse_checks([])
    (tmp_path / "local").mkdir()
    (tmp_path / "ray").mkdir()
    local = sanitize_dataset(src, tmp_path / "local" / "out.jsonl", policy, selection, record=False)
    ray = sanitize_dataset(src, tmp_path / "ray" / "out.jsonl", policy, selection, workers=2, engine="ray",
                           record=False)
    local_bytes = (tmp_path / "local" / "out.jsonl").read_bytes()
    assert (tmp_path / "ray" / "out.jsonl").read_bytes() == local_bytes
    assert ray["output"]["sha256"] == local["output"]["sha256"]
    assert ray["input"] == local["input"]
    files = [orjson.loads(manifest_path(tmp_path / d / "out.jsonl").read_bytes()) for d in ("local", "ray")]
    for m in files:
        m.pop("created")
        m.pop("throughput")
        m["output"].pop("path")
    assert files[0] == files[1]
    assert local["records"]["dropped_by_reason"].get("exact_duplicate", 0) >= 1
    assert ray["residual"] == local["residual"] and ray["poison_findings"] == local["poison_findings"]


def _key(o) -> tuple:
    return (o.line, o.nbytes, o.parsed, o.issues, o.findings, dict(o.entities), o.dup_key,
            None if o.minhash is None else list(o.minhash), o.example, o.raw, o.out_record, o.changed, o.drop,
            o.residual, dict(o.entities_after))


def test_many_small_shards_keep_input_order(ray_local, tmp_path: Path) -> None:
    src = _dataset(tmp_path / "train.jsonl")
    config = process_config(DataPolicy(), parse_checks([]), "sanitize")
    local = [_key(o) for o in iter_outcomes(DatasetReader(src), config, 1)]
    # Shards of 8 x 3 records: about 30 shards, four windows of 8 shards (two in flight at once).
    ray = [_key(o) for o in iter_outcomes(DatasetReader(src), config, 2, batch_size=3, engine="ray")]
    assert len(ray) == len(local) and ray == local


def test_scan_batches_from_many_small_shards_tally_like_local(ray_local, tmp_path: Path) -> None:
    from tuneguard.data.pipeline import Tally, iter_scan_batches

    src = _dataset(tmp_path / "train.jsonl")
    selection = parse_checks([])
    config = process_config(DataPolicy(), selection, "scan")
    tallies = []
    for engine in ("local", "ray"):
        tally = Tally(DataPolicy(), selection, keep_findings=40)  # the cap falls inside some shard
        for batch in iter_scan_batches(DatasetReader(src), config, 2, batch_size=3, engine=engine):
            tally.add_batch(batch)
        tallies.append((tally.records, tally.parsed, tally.findings, tally.truncated, dict(tally.by_check),
                        dict(tally.entities), tally.examples, tally.gate_count))
    assert tallies[0] == tallies[1] and tallies[0][3]


def test_a_failing_window_raises_instead_of_hanging(ray_local, tmp_path: Path, monkeypatch) -> None:
    from tuneguard.data import ray_engine

    real = ray_engine._stream_window
    calls = []

    def second_window_fails(shards, *args):
        calls.append(shards[0][0])
        if len(calls) == 2:
            raise RuntimeError("worker node lost")
        return real(shards, *args)

    monkeypatch.setattr(ray_engine, "_stream_window", second_window_fails)
    src = _dataset(tmp_path / "train.jsonl")
    config = process_config(DataPolicy(), parse_checks([]), "scan")
    with pytest.raises(RuntimeError, match="worker node lost"):
        list(iter_outcomes(DatasetReader(src), config, 2, batch_size=3, engine="ray"))


def test_cli_engine_flags(ray_local, tmp_path: Path, cli) -> None:
    src = _dataset(tmp_path / "train.jsonl")
    code_local, _, _ = cli("data", "scan", str(src), "--json", str(tmp_path / "local.json"))
    code_ray, _, err = cli("data", "scan", str(src), "--engine", "ray", "--workers", "2",
                           "--json", str(tmp_path / "ray.json"))
    assert code_ray == code_local, err
    local, ray = (json.loads((tmp_path / f).read_text()) for f in ("local.json", "ray.json"))
    assert ray["findings"] == local["findings"]
    code, _, err = cli("data", "scan", str(src), "--address", "127.0.0.1:6379")
    assert code == 2 and "--engine ray" in err
    code, _, err = cli("data", "scan", str(src), "--engine", "spark")
    assert code == 2 and "local or ray" in err
