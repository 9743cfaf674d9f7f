"""The detection corpus through the real CLI: every malicious sample exits 1 for the expected reason, every
benign one exits 0, and no payload ever runs (the sentinel each would create never appears)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .corpus import build_benign, build_malicious, expected_check


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list, list, Path]:
    root = tmp_path_factory.mktemp("model-corpus")
    sentinel = root / "SENTINEL"
    from tuneguard.core import embedded_model_path

    return (
        build_malicious(root / "malicious", sentinel),
        build_benign(root / "benign", embedded_model_path()),
        sentinel,
    )


def test_corpus_size(corpus) -> None:
    malicious, benign, _ = corpus
    assert len(malicious) >= 40 and len(benign) >= 10
    assert len({n for n, _ in malicious}) == len(malicious)


def test_malicious_samples_fail_for_the_right_reason(corpus, cli) -> None:
    malicious, _, sentinel = corpus
    missed, wrong = [], []
    for name, path in malicious:
        code, _, err = cli("model", "scan", str(path), "--json", "out.json", "--no-ledger")
        report = json.loads(Path("out.json").read_text())
        checks = {f["check"] for f in report["findings"]}
        if code != 1:
            missed.append((name, code, err))
        elif expected_check(name) not in checks:
            wrong.append((name, expected_check(name), sorted(checks)))
    assert not missed, missed
    assert not wrong, wrong
    assert not sentinel.exists()


def test_benign_samples_pass(corpus, cli) -> None:
    _, benign, sentinel = corpus
    flagged = []
    for name, path in benign:
        code, _, _ = cli("model", "scan", str(path), "--json", "out.json", "--no-ledger")
        report = json.loads(Path("out.json").read_text())
        high = [f for f in report["findings"] if f["severity"] in ("high", "critical")]
        if code != 0 or high:
            flagged.append((name, code, high))
    assert not flagged, flagged
    assert not sentinel.exists()


def test_embedded_hf_folder_passes(embedded_folder: Path, cli) -> None:
    code, out, _ = cli("model", "scan", str(embedded_folder), "--json", "-", "--no-ledger")
    report = json.loads(out)
    assert code == 0, report["findings"]
    assert {f["format"] for f in report["files"]} >= {"safetensors", "json"}
    # the converted folder carries no README: a medium finding that does not fail the gate
    assert "model.card.missing" in {f["check"] for f in report["findings"]}
