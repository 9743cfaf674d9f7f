"""`tuneguard probe rerun`: re-probing registered versions, diffed with the last run on the same weights."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from tuneguard.cli.probe_rerun import default_refs
from tuneguard.core import Ledger
from tuneguard.probe.rerun import PreviousRun, default_suites, rate_changes


def test_default_refs_are_latest_and_aliased_versions() -> None:
    versions = [
        {"name": "bot", "version": 1, "aliases": ["prod"]},
        {"name": "bot", "version": 2, "aliases": []},
        {"name": "bot", "version": 3, "aliases": []},
        {"name": "judge", "version": 1, "aliases": []},
    ]
    assert default_refs(versions) == ["bot@v1", "bot@v3", "judge@v1"]
    assert default_refs([]) == []


def test_default_suites_skip_those_needing_inputs() -> None:
    prev = PreviousRun(3, {"harmful": {}, "backdoor": {}, "ds-advbench": {}, "pii-leak": {}}, None, "0.1")
    assert default_suites(prev, ["jailbreak"]) == ["harmful", "pii-leak"]
    assert default_suites(None, ["canary", "injection"]) == ["injection"]


def test_rate_changes_pair_suites_present_in_both() -> None:
    before = {"harmful": {"n": 10, "attack_success_rate": 0.2, "decline_rate": 0.8}, "gone": {"n": 1}}
    now = {"harmful": {"n": 10, "attack_success_rate": 0.5, "decline_rate": 0.5}, "new": {"n": 2}}
    rows = rate_changes(before, now)
    assert [r["suite"] for r in rows] == ["harmful"]
    assert rows[0]["r_delta"] == pytest.approx(0.3)


@pytest.mark.slow
def test_rerun_pulls_probes_and_pairs_with_previous_run(
    cli, embedded_folder: Path, tg_home: Path, tmp_path: Path
) -> None:
    from tuneguard.registry import Registry

    with Registry.open() as reg:
        reg.push(embedded_folder, "smol")
    base = tmp_path / "base.json"
    code, _out, err = cli("probe", "run", "-t", str(embedded_folder), "-s", "harmful", "-n", "3",
                          "--max-new-tokens", "12", "--no-cache", "--json", str(base))
    assert code == 0, err

    out = tmp_path / "rerun.json"
    code, _out, err = cli("probe", "rerun", "--json", str(out))
    assert code == 0, err
    (doc,) = json.loads(out.read_text())["reruns"]
    assert doc["ref"] == "smol@v1" and doc["suites"] == ["harmful"]
    assert doc["paired"] is True and doc["verdict"] == "ok"
    # Greedy decoding of the same weights: the same answers, so no prompt flips either way.
    assert doc["overall"]["b_newly_failing"] == 0 and doc["overall"]["c_newly_passing"] == 0
    assert doc["changes"][0]["r_before"] == doc["changes"][0]["r_now"]
    assert not list(Path(tempfile.gettempdir()).glob("tuneguard-rerun-*"))  # the decrypted copy is gone

    with Ledger(readonly=True) as ledger:
        entry, result = ledger.find_latest("probe", lambda res: "rerun_of" in res.metrics)
    assert entry.seq == doc["seq"] and result.metrics["rerun_of"] == doc["previous_seq"]
    assert {"FT-7", "BM-6"} <= set(result.requirements)
    assert result.metrics["registry_ref"] == "smol@v1"

    # The second rerun pairs with the first rerun's own report.
    code, _out, err = cli("probe", "rerun", "smol", "--json", str(out))
    assert code == 0, err
    (again,) = json.loads(out.read_text())["reruns"]
    assert again["previous_seq"] == doc["seq"] and again["paired"] is True


def test_rerun_without_registered_versions_is_a_usage_error(cli, tg_home: Path) -> None:
    code, _out, err = cli("probe", "rerun")
    assert code == 2 and "no versions" in err


def test_rerun_unknown_ref_is_a_usage_error(cli, tg_home: Path) -> None:
    code, _out, err = cli("probe", "rerun", "nosuch@v4")
    assert code == 2 and "nosuch" in err


def test_previous_run_skips_runs_a_rerun_cannot_repeat(tg_home: Path) -> None:
    from tuneguard.core import StageResult, Verdict
    from tuneguard.probe.rerun import previous_run

    def run(summary: dict) -> StageResult:
        return StageResult(stage="probe", verdict=Verdict.PASS, summary="probe run",
                           metrics={"target_id": "local:abc", "summary": summary})

    with Ledger() as ledger:
        first = ledger.record(run({"harmful": {"n": 3}})).seq
        ledger.record(run({"backdoor": {"n": 2}}))  # the pipeline's separate trigger replay
        ledger.record(StageResult(stage="probe", verdict=Verdict.PASS, summary="other weights",
                                  metrics={"target_id": "local:zzz", "summary": {"harmful": {}}}))
    with Ledger(readonly=True) as ledger:
        assert previous_run(ledger, "local:abc").seq == first
        assert previous_run(ledger, "local:abc", ["backdoor"]).seq == first + 1
        assert previous_run(ledger, "local:nope") is None
