import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tuneguard.core import Artifact, Finding, Ledger, Severity, StageResult, Verdict
from tuneguard.report import build_report, generate, requirement_status
from tuneguard.report.conformance import Evidence

from ..conftest import REPO


def _populate(ledger: Ledger) -> None:
    ledger.record(
        StageResult(
            stage="data",
            verdict=Verdict.FAIL,
            summary="raw data has PII",
            requirements=["DP-1"],
            findings=[
                Finding(
                    check="data.pii.EMAIL_ADDRESS",
                    severity=Severity.HIGH,
                    message="email address",
                    subject="train.jsonl",
                    location={"line": 7, "field": "messages[0].content", "start": 3},
                )
            ],
        )
    )
    ledger.record(
        StageResult(
            stage="data",
            verdict=Verdict.PASS,
            summary="sanitized",
            requirements=["DP-1", "DP-2", "FT-1"],
            metrics={
                "entities_before": {"EMAIL_ADDRESS": 12, "PHONE_NUMBER": 5},
                "entities_after": {"EMAIL_ADDRESS": 0},
            },
            artifacts=[Artifact(role="sanitized_dataset", path="clean.jsonl", sha256="ab" * 32)],
        )
    )
    ledger.record(
        StageResult(
            stage="model",
            verdict=Verdict.FAIL,
            summary="pickle payload",
            requirements=["BM-4"],
            findings=[
                Finding(
                    check="model.pickle.dangerous_global",
                    severity=Severity.CRITICAL,
                    message="os.system in pytorch_model.bin",
                    subject="pytorch_model.bin",
                )
            ],
        )
    )
    ledger.record(
        StageResult(
            stage="train",
            verdict=Verdict.PASS,
            summary="trained",
            requirements=["FT-6"],
            metrics={
                "steps": [{"step": i, "loss": 3.0 / i} for i in range(1, 9)],
                "canaries": [{"repeats": 1, "exposure": 1.5}, {"repeats": 20, "exposure": 9.0}],
            },
        )
    )
    ledger.record(
        StageResult(
            stage="probe",
            verdict=Verdict.PASS,
            summary="no regression",
            requirements=["FT-2"],
            metrics={
                "asr_by_category": [
                    {
                        "category": "cyber",
                        "base": 0.1,
                        "tuned": 0.3,
                        "base_ci": [0.02, 0.4],
                        "tuned_ci": [0.1, 0.6],
                    }
                ]
            },
        )
    )
    ledger.append(
        "model", {"note": "provider agreement", "requirements": ["BM-2"], "files": []}, kind="attestation"
    )
    ledger.append("serve", {"requests": 3}, kind="audit")


def test_status_rules() -> None:
    def ev(seq: int, stage: str, verdict: str, manual: bool = False) -> Evidence:
        return Evidence(seq, stage, "stage_result", "t", verdict, "", [], manual)

    assert requirement_status([]) == "not-tested"
    assert requirement_status([ev(1, "data", "skipped")]) == "not-tested"
    assert requirement_status([ev(1, "data", "fail"), ev(2, "data", "pass")]) == "pass"
    assert requirement_status([ev(1, "data", "pass"), ev(2, "data", "fail")]) == "fail"
    assert requirement_status([ev(1, "data", "pass"), ev(2, "model", "error")]) == "fail"


def test_report_from_ledger(tg_home: Path, tmp_path: Path) -> None:
    with Ledger() as ledger:
        _populate(ledger)
        report, paths = generate(tmp_path / "out", ledger=ledger)
        head = ledger.head()[1]
    by_id = {r["id"]: r for r in report["requirements"]}
    assert len(by_id) == 29
    assert by_id["DP-1"]["status"] == "pass" and [e["seq"] for e in by_id["DP-1"]["evidence"]] == [1, 2]
    assert by_id["BM-4"]["status"] == "fail"
    assert by_id["BM-2"]["status"] == "pass" and by_id["BM-2"]["evidence"][0]["manual"]
    assert by_id["SV-1"]["status"] == "not-tested" and by_id["SV-1"]["evidence"] == []
    assert report["verdict"] == "fail" and report["ledger_head"] == head and report["ledger_verified"]
    data = json.loads(paths["json"].read_text())
    assert data["ledger_head"] == head
    assert head in paths["html"].read_text() and head in paths["md"].read_text()
    sarif = json.loads(paths["sarif"].read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["properties"]["ledger_head"] == head
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"data.pii.EMAIL_ADDRESS", "model.pickle.dangerous_global"}
    email = next(r for r in results if r["ruleId"] == "data.pii.EMAIL_ADDRESS")
    region = email["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == 7 and email["level"] == "error"
    rule_ids = [r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]]
    assert sorted(rule_ids) == sorted({r["ruleId"] for r in results})
    html = paths["html"].read_text()
    assert html.count("<svg") == 4
    assert not any(tag in html for tag in ('src="http', "src='http", 'href="http', "url(http", "<script src"))


def test_ledger_from_and_tampering(tg_home: Path, tmp_path: Path) -> None:
    with Ledger() as ledger:
        _populate(ledger)
        report = build_report(ledger, ledger_from=3)
    by_id = {r["id"]: r for r in report["requirements"]}
    assert by_id["DP-1"]["status"] == "not-tested"
    conn = sqlite3.connect(tg_home / "ledger.db")
    conn.execute("UPDATE entries SET payload = replace(payload, 'pickle payload', 'all fine') WHERE seq = 3")
    conn.commit()
    conn.close()
    with Ledger(readonly=True) as ledger:
        report = build_report(ledger)
    assert (
        report["verdict"] == "tampered"
        and not report["ledger_verified"]
        and "seq 3" in report["ledger_problem"]
    )


def test_report_cli_exit_codes(cli, tg_home: Path, tmp_path: Path) -> None:
    with Ledger() as ledger:
        ledger.record(StageResult(stage="data", verdict=Verdict.PASS, requirements=["DP-1"]))
    code, out, _ = cli("report", "-o", str(tmp_path / "r"), "--json", "-")
    data = json.loads(out)
    assert code == 0 and data["verdict"] == "incomplete" and data["counts"]["pass"] == 1
    with Ledger() as ledger:
        ledger.record(StageResult(stage="model", verdict=Verdict.FAIL, requirements=["BM-4"]))
    code, _, _ = cli("report", "-o", str(tmp_path / "r"))
    assert code == 1
    code, _, err = cli("report", "-o", str(tmp_path / "r"), "--format", "pdf")
    assert code == 2 and "pdf" in err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
def test_html_renders_in_headless_chromium(tg_home: Path, tmp_path: Path) -> None:
    if not CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("chromium must be installed in CI (.ci/run installs Debian's chromium)")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with Ledger() as ledger:
        _populate(ledger)
        _, paths = generate(tmp_path / "out", ledger=ledger)
    errors: list[str] = []
    requests: list[str] = []
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(paths["html"].as_uri())
        assert page.locator("#req-DP-1 .badge").inner_text() == "pass"
        assert page.locator("#req-BM-4 .badge").inner_text() == "fail"
        assert page.locator("figure svg").count() == 4
        page.screenshot(path=str(artifacts / "report.png"), full_page=True)
        browser.close()
    assert errors == []
    assert all(u.startswith("file://") for u in requests)
    assert (artifacts / "report.png").stat().st_size > 10_000
