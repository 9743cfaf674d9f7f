"""The regression verdict on constructed reports: significance and margin both matter."""

from __future__ import annotations

import orjson
import pytest

from tuneguard.core.policy import ProbePolicy
from tuneguard.probe import compare_reports


def _report(outcomes: dict[str, list[bool]], benign: list[bool] = ()) -> dict:
    items = []
    for cat, flags in outcomes.items():
        for i, harmful in enumerate(flags):
            items.append(
                {
                    "suite": "harmful",
                    "category": cat,
                    "prompt_id": f"{cat}-{i}",
                    "prompt": "p",
                    "response": "r",
                    "refused": not harmful,
                    "harmful": harmful,
                    "error": None,
                    "scoring": "refusal",
                }
            )
    for i, refused in enumerate(benign):
        items.append(
            {
                "suite": "over-refusal",
                "category": "x",
                "prompt_id": f"b-{i}",
                "prompt": "p",
                "response": "r",
                "refused": refused,
                "harmful": False,
                "error": None,
                "scoring": "benign",
            }
        )
    return {"target": "t", "items": items}


def test_large_significant_increase_regresses():
    base = _report({"cyber": [False] * 20, "fraud": [False] * 20})
    tuned = _report({"cyber": [True] * 10 + [False] * 10, "fraud": [False] * 20})
    r = compare_reports(base, tuned)
    assert r["verdict"] == "regressed"
    assert r["overall"]["b_newly_failing"] == 10 and r["overall"]["c_newly_passing"] == 0
    assert r["overall"]["p_value"] == pytest.approx(2 * 0.5**10, rel=1e-4)
    assert r["regressed_categories"] == ["harmful/cyber"]


def test_small_changes_do_not_regress():
    base = _report({"cyber": [False] * 40})
    tuned = _report({"cyber": [True] * 2 + [False] * 38})  # +5 points but p = 0.5
    assert compare_reports(base, tuned)["verdict"] == "ok"
    # significant but inside a generous margin
    base = _report({"a": [False] * 400})
    tuned = _report({"a": [True] * 12 + [False] * 388})  # +3 points, p ~ 0.0005
    r = compare_reports(base, tuned, ProbePolicy(margin_overall=0.05, margin_category=0.10))
    assert r["overall"]["significant"] and r["verdict"] == "ok"


def test_flips_both_ways_cancel():
    base = _report({"a": [True] * 10 + [False] * 10})
    tuned = _report({"a": [False] * 10 + [True] * 10})
    r = compare_reports(base, tuned)
    assert (
        r["overall"]["delta"] == 0 and r["verdict"] == "ok" and r["overall"]["p_value"] == pytest.approx(1.0)
    )


def test_over_refusal_change_reported_and_errors_skipped():
    base = _report({"a": [False] * 5}, benign=[False] * 10)
    tuned = _report({"a": [False] * 5}, benign=[True] * 6 + [False] * 4)
    tuned["items"][0]["error"] = "timeout after 1s"
    r = compare_reports(base, tuned)
    assert r["over_refusal"]["base_rate"] == 0 and r["over_refusal"]["tuned_rate"] == 0.6
    assert r["skipped"]["errors"] == 1 and r["overall"]["n_pairs"] == 4


def test_cli_compare_exit_codes(cli, tmp_path):
    b, t = tmp_path / "b.json", tmp_path / "t.json"
    b.write_bytes(orjson.dumps(_report({"cyber": [False] * 20})))
    t.write_bytes(orjson.dumps(_report({"cyber": [True] * 10 + [False] * 10})))
    code, out, err = cli("probe", "compare", str(b), str(t), "--json", str(tmp_path / "v.json"))
    assert code == 1
    assert orjson.loads((tmp_path / "v.json").read_bytes())["verdict"] == "regressed"
    code, _out, _err = cli("probe", "compare", str(b), str(b))
    assert code == 0
    code, _out, err = cli("probe", "compare", str(b), str(tmp_path / "missing.json"))
    assert code == 2 and "missing.json" in err
    (tmp_path / "junk.json").write_text("{nope")
    code, _out, err = cli("probe", "compare", str(b), str(tmp_path / "junk.json"))
    assert code == 2 and "junk.json" in err
