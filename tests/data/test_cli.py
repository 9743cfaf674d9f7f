"""`tuneguard data` end to end: JSON shape, exit codes, masked output, progress, help text, poisoning hook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuneguard.data.synth import Sample


def test_scan_json_shape_and_exit_1(cli, chat_jsonl: Path, tmp_path: Path, samples: list[Sample]) -> None:
    out = tmp_path / "scan.json"
    code, stdout, _ = cli(
        "data", "scan", str(chat_jsonl), "--json", str(out), "--checks", "pii,secrets,clean"
    )
    assert code == 1
    result = json.loads(out.read_text())
    assert set(result) == {"findings", "stats"}
    f = next(x for x in result["findings"] if x["field"] == "messages[1].content")
    for key in ("line", "field", "start", "end", "entity", "severity", "score", "recognizer", "check"):
        assert key in f
    assert f["check"].startswith(("data.pii.", "data.secret."))
    record = json.loads(chat_jsonl.read_text().splitlines()[f["line"] - 1])
    field_text = record["messages"][1]["content"]
    assert any(p.value == field_text[f["start"] : f["end"]] for s in samples for p in s.spans)
    planted = {p.value for s in samples for p in s.spans}
    blob = out.read_text() + stdout
    assert not [v for v in planted if len(v) > 6 and v in blob]  # masked previews only
    assert result["stats"]["records"] == 300 and result["stats"]["mb_per_s"] > 0


def test_scan_clean_file_exits_0(cli, tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text(
        json.dumps(
            {"messages": [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4"}]}
        )
        + "\n"
    )
    code, stdout, _ = cli("data", "scan", str(path), "--checks", "pii,secrets,clean")
    assert code == 0 and "PASS" in stdout


def test_sanitize_then_rescan_passes(cli, chat_jsonl: Path, tmp_path: Path) -> None:
    out = tmp_path / "clean.jsonl"
    code, stdout, _ = cli(
        "data", "sanitize", str(chat_jsonl), "-o", str(out), "--checks", "pii,secrets,clean", "--workers", "2"
    )
    assert code == 0 and out.exists() and Path(str(out) + ".manifest.json").exists()
    code, _, _ = cli("data", "scan", str(out), "--checks", "pii,secrets")
    assert code == 0
    code, stdout, _ = cli("ledger", "show", "--stage", "data", "--json")
    [entry] = json.loads(stdout)
    assert entry["payload"]["verdict"] == "pass"


def test_sanitize_with_policy_file_and_tokenize_round_trip(cli, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": "write to ann@example.com"}) + "\n")
    policy = tmp_path / "tuneguard.toml"
    policy.write_text('[data]\ndefault_operator = "tokenize"\n')
    code, _, _ = cli(
        "data",
        "sanitize",
        str(src),
        "-o",
        str(tmp_path / "tok.jsonl"),
        "--policy",
        str(policy),
        "--checks",
        "pii",
    )
    assert code == 0 and "ann@example.com" not in (tmp_path / "tok.jsonl").read_text()
    code, _, _ = cli("data", "detokenize", str(tmp_path / "tok.jsonl"), "-o", str(tmp_path / "back.jsonl"))
    assert (
        code == 0 and json.loads((tmp_path / "back.jsonl").read_text())["text"] == "write to ann@example.com"
    )


def test_bad_usage_exits_2(cli, tmp_path: Path) -> None:
    assert cli("data", "scan", str(tmp_path / "missing.jsonl"))[0] == 2
    (tmp_path / "a.txt").write_text("x")
    code, _, err = cli("data", "scan", str(tmp_path / "a.txt"))
    assert code == 2 and "a.txt" in err
    (tmp_path / "arr.json").write_text('[{"text": "a"}]')
    code, _, err = cli("data", "scan", str(tmp_path / "arr.json"))
    assert code == 2 and "JSON array" in err
    (tmp_path / "b.jsonl").write_text("{}\n")
    assert cli("data", "scan", str(tmp_path / "b.jsonl"), "--checks", "bogus")[0] == 2
    (tmp_path / "p.toml").write_text('[data]\ndefault_operator = "shred"\n')
    assert (
        cli(
            "data",
            "sanitize",
            str(tmp_path / "b.jsonl"),
            "-o",
            str(tmp_path / "o.jsonl"),
            "--policy",
            str(tmp_path / "p.toml"),
        )[0]
        == 2
    )


@pytest.mark.parametrize("command", ["scan", "sanitize", "detokenize", "entities"])
def test_help_has_example(cli, command: str) -> None:
    code, stdout, _ = cli("data", command, "--help")
    assert code == 0 and "Example:" in stdout


def test_entities_lists_what_cannot_be_found(cli) -> None:
    code, stdout, _ = cli("data", "entities", "--json", "-")
    caps = json.loads(stdout)
    assert code == 0 and "CN_USCC" in caps["can"] and "PERSON (free text)" in caps["cannot"]


def test_poisoning_findings_join_the_scan(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate calls data.poison.scan_poisoning with TuningExamples built from every record shape."""

    poison = pytest.importorskip("tuneguard.data.poison")
    seen = {}

    class Fake:
        check, score, severity, message, evidence = (
            "data.poison.backdoor_trigger",
            0.9,
            "high",
            "trigger",
            {"trigger": "cf", "example_lines": [2]},
        )

        def to_dict(self) -> dict:
            return {
                "check": self.check,
                "score": self.score,
                "severity": self.severity,
                "message": self.message,
                "evidence": self.evidence,
            }

    def fake_scan(examples, checks=None, threads=1):
        seen["examples"], seen["checks"], seen["threads"] = list(examples), checks, threads
        return [Fake()]

    monkeypatch.setattr(poison, "scan_poisoning", fake_scan)
    path = tmp_path / "t.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(
                    {"messages": [{"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1"}]}
                ),
                json.dumps({"instruction": "i2", "input": "x2", "output": "o2"}),
                json.dumps({"prompt": "p3", "completion": "c3"}),
                json.dumps({"text": "no tuning shape"}),
            ]
        )
        + "\n"
    )
    out = tmp_path / "s.json"
    code, _, _ = cli(
        "data", "scan", str(path), "--json", str(out), "--checks", "data.poison.backdoor_trigger"
    )
    assert code == 1
    ex = seen["examples"]
    assert [(e.line, e.prompt, e.response) for e in ex] == [
        (1, "u1", "a1"),
        (2, "i2\nx2", "o2"),
        (3, "p3", "c3"),
    ]
    assert seen["checks"] == {"data.poison.backdoor_trigger"} and seen["threads"] == 1
    cli("data", "scan", str(path), "--json", str(out), "--checks", "data.poison.backdoor_trigger",
        "--workers", "2")
    assert seen["threads"] == 2 and [e.line for e in seen["examples"]] == [1, 2, 3]
    [f] = [x for x in json.loads(out.read_text())["findings"] if x["check"] == "data.poison.backdoor_trigger"]
    assert f["line"] == 2 and f["severity"] == "high"
