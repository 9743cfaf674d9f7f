"""`sanitize_dataset`: planted values gone, non-PII bytes identical, manifest accounting, ledger evidence,
and every supported format (JSONL, gzip, zstd, CSV, Parquet) round-trips."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tuneguard.core import Ledger, Policy, UserError, sha256_file
from tuneguard.core.policy import DataPolicy
from tuneguard.data.checks import parse_checks
from tuneguard.data.sanitize import manifest_path, sanitize_dataset
from tuneguard.data.synth import Sample

from .conftest import chat_records

NO_POISON = parse_checks(["pii", "secrets", "clean"])


def _run(src: Path, dst: Path, policy: Policy | None = None, **kw) -> dict:
    return sanitize_dataset(src, dst, policy or Policy(), NO_POISON, **kw)


def test_planted_values_removed_and_other_bytes_identical(
    chat_jsonl: Path, tmp_path: Path, samples: list[Sample]
) -> None:
    out = tmp_path / "clean.jsonl"
    manifest = _run(chat_jsonl, out)
    text = out.read_text("utf-8")
    planted = [p.value for s in samples for p in s.spans]
    assert planted and [v for v in planted if v in text] == []
    assert manifest["verdict"] == "pass" and manifest["residual_gate_count"] == 0
    in_lines = chat_jsonl.read_bytes().splitlines()
    out_lines = out.read_bytes().splitlines()
    assert len(in_lines) == len(out_lines)
    for sample, before, after in zip(samples, in_lines, out_lines, strict=True):
        if not sample.spans:
            assert before == after  # unchanged records are written verbatim
            continue
        # every character outside the planted spans survives in order
        original = sample.text
        rec = orjson.loads(after)
        new = rec.get("input") or rec.get("prompt") or rec["messages"][1]["content"]
        pieces, pos = [], 0
        for p in sorted(sample.spans, key=lambda p: p.start):
            pieces.append(original[pos : p.start])
            pos = p.end
        pieces.append(original[pos:])
        cursor = 0
        for piece in pieces:
            found = new.find(piece, cursor)
            assert found >= 0, (piece, new)
            cursor = found + len(piece)


def test_manifest_accounts_for_every_line_and_ledger_records_the_gate(tmp_path: Path) -> None:
    src = tmp_path / "mixed.jsonl"
    lines = [
        json.dumps({"text": "contact bob@example.com"}),
        "{not json",
        "",
        json.dumps({"text": "hello world"}),
        json.dumps({"text": "hello world"}),
        json.dumps([1, 2]),
        json.dumps({"text": "card 4111 1111 1111 1111"}),
    ]
    src.write_text("\n".join(lines) + "\n", "utf-8")
    policy = Policy(data=DataPolicy(drop_duplicates=True, operators={"CREDIT_CARD": "drop-record"}))
    out = tmp_path / "out.jsonl"
    m = _run(src, out, policy)
    rec = m["records"]
    assert rec["input_lines"] == 7 and rec["kept"] + rec["changed"] + rec["dropped"] == 7
    assert rec["dropped_by_reason"] == {
        "blank_line": 1,
        "exact_duplicate": 1,
        "malformed_json": 1,
        "not_an_object": 1,
        "pii:CREDIT_CARD": 1,
    }
    assert m["lines"]["changed"] == "1" and m["lines"]["dropped"]["exact_duplicate"] == "5"
    assert m["entities_before"] == {"CREDIT_CARD": 1, "EMAIL_ADDRESS": 1} and m["entities_after"] == {}
    on_disk = json.loads(manifest_path(out).read_text())
    assert on_disk["output"]["sha256"] == sha256_file(out) and on_disk["input"]["sha256"] == sha256_file(src)
    assert on_disk["config_sha256"] == policy.digest() and on_disk["tool_version"]
    with Ledger(readonly=True) as ledger:
        [entry] = list(ledger.entries(stage="data"))
    roles = {a["role"]: a for a in entry.payload["artifacts"]}
    assert entry.payload["verdict"] == "pass" and set(roles) == {"input", "sanitized_dataset", "manifest"}
    assert roles["sanitized_dataset"]["sha256"] == sha256_file(out)
    assert "bob@example.com" not in json.dumps(entry.payload) and "4111" not in json.dumps(entry.payload)


def test_keep_operator_fails_the_gate(tmp_path: Path) -> None:
    src = tmp_path / "a.jsonl"
    src.write_text(json.dumps({"text": "SSN 536-22-1384"}) + "\n")
    m = _run(src, tmp_path / "b.jsonl", Policy(data=DataPolicy(operators={"US_SSN": "keep"})), record=False)
    assert m["entities_after"] == {"US_SSN": 1}
    # kept values are an explicit policy choice: they do not count as residual findings
    assert m["verdict"] == "pass"
    m = _run(src, tmp_path / "c.jsonl", Policy(data=DataPolicy(default_operator="keep")), record=False)
    assert m["verdict"] == "pass"


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zst", ".csv", ".parquet"])
def test_formats_round_trip(tmp_path: Path, samples: list[Sample], suffix: str) -> None:
    records = [{"id": i, "text": s.text} for i, s in enumerate(samples[:60])]
    src = tmp_path / f"in{suffix}"
    if suffix == ".jsonl.gz":
        src.write_bytes(gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in records)))
    elif suffix == ".jsonl.zst":
        import zstandard

        src.write_bytes(
            zstandard.ZstdCompressor().compress(b"".join(orjson.dumps(r) + b"\n" for r in records))
        )
    elif suffix == ".csv":
        with open(src, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, ["id", "text"])
            w.writeheader()
            w.writerows(records)
    else:
        pq.write_table(pa.Table.from_pylist(records), src)
    out = tmp_path / f"out{suffix}"
    m = _run(src, out, record=False)
    assert m["records"]["output_records"] == 60 and m["verdict"] == "pass"
    if suffix == ".parquet":
        rows = pq.read_table(out).to_pylist()
        assert pq.read_schema(out) == pq.read_schema(src)
    elif suffix == ".csv":
        rows = list(csv.DictReader(open(out, encoding="utf-8", newline="")))
    else:
        import zstandard

        raw = (
            gzip.decompress(out.read_bytes())
            if suffix.endswith(".gz")
            else zstandard.ZstdDecompressor().stream_reader(out.read_bytes()).read()
        )
        rows = [orjson.loads(x) for x in raw.splitlines()]
    assert [str(r["id"]) for r in rows] == [str(r["id"]) for r in records]
    text = "\n".join(r["text"] for r in rows)
    assert not [p.value for s in samples[:60] for p in s.spans if p.value in text]


def test_failure_leaves_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chat_jsonl: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    import tuneguard.data.sanitize as mod

    def boom(*a, **k):
        yield from ()
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(mod, "iter_outcomes", boom)
    with pytest.raises(RuntimeError):
        _run(chat_jsonl, out)
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_bad_inputs(tmp_path: Path, chat_jsonl: Path) -> None:
    with pytest.raises(UserError, match="unsupported dataset format"):
        _run(tmp_path / "x.txt", tmp_path / "y.txt") if (tmp_path / "x.txt").write_text("a") else None
    with pytest.raises(UserError, match="must be jsonl"):
        _run(chat_jsonl, tmp_path / "o.csv")
    with pytest.raises(UserError, match="overwrite the input"):
        _run(chat_jsonl, chat_jsonl)
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(UserError, match="bad.jsonl.gz"):
        _run(bad, tmp_path / "o.jsonl.gz")


def test_workers_give_the_same_result(chat_jsonl: Path, tmp_path: Path) -> None:
    one = _run(chat_jsonl, tmp_path / "one.jsonl", record=False)
    two = _run(chat_jsonl, tmp_path / "two.jsonl", workers=2, record=False)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert one["entities_before"] == two["entities_before"] and one["records"] == two["records"]


def test_pool_workers_use_the_current_homes_keys(chat_jsonl: Path, tmp_path: Path, monkeypatch) -> None:
    """Pseudonyms come from the key of the home in effect at each run, also when one process runs pools
    under two homes (the pool's parent builds the processor its workers inherit)."""
    policy = Policy(data=DataPolicy(default_operator="pseudonym"))
    outputs = {}
    for home in ("h1", "h2"):
        monkeypatch.setenv("TUNEGUARD_HOME", str(tmp_path / home))
        for workers in (2, 1):
            out = tmp_path / home / f"out{workers}.jsonl"
            _run(chat_jsonl, out, policy, workers=workers, record=False)
            outputs[home, workers] = out.read_bytes()
    assert outputs["h1", 2] == outputs["h1", 1] and outputs["h2", 2] == outputs["h2", 1]
    assert outputs["h1", 1] != outputs["h2", 1]  # each home has its own pseudonym key


def test_presidio_synth_structured_values_removed(datasets: Path, tmp_path: Path) -> None:
    data = json.loads((datasets / "presidio_synth_pii" / "synth_dataset_v2.json").read_text())
    src = tmp_path / "presidio.jsonl"
    src.write_text("".join(json.dumps({"text": r["full_text"]}) + "\n" for r in data))
    out = tmp_path / "presidio.clean.jsonl"
    _run(src, out, record=False)
    text = out.read_text()
    structured = {"EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS"}
    values = [s["entity_value"] for r in data for s in r["spans"] if s["entity_type"] in structured]
    left = [v for v in values if v in text]
    assert len(values) > 200 and left == []


def test_chat_records_helper_covers_all_shapes(samples: list[Sample]) -> None:
    shapes = {tuple(sorted(r)) for r in chat_records(samples[:3])}
    assert len(shapes) == 3


def test_values_under_empty_and_odd_keys_are_replaced(tmp_path: Path) -> None:
    src = tmp_path / "odd.jsonl"
    records = [
        {"": {"note": "mail john.doe@example.com now"}},
        {"": {"": {"x": "card 4111 1111 1111 1111"}}, "k": {"": "ssn 536-22-8741 here"}},
        {"a": [{"": "call +1 415 555 0100"}], "": "ip 10.1.2.3 at the desk"},
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    out = tmp_path / "odd.clean.jsonl"
    manifest = _run(src, out)
    text = out.read_text("utf-8")
    for raw in ("john.doe@example.com", "4111 1111 1111 1111", "536-22-8741", "+1 415 555 0100", "10.1.2.3"):
        assert raw not in text
    assert manifest["verdict"] == "pass" and manifest["residual_gate_count"] == 0
