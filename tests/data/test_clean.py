"""Cleaning checks: malformed lines with line numbers, duplicates and near-duplicates, empty/overlong records,
broken chat structure, invalid UTF-8 and control characters; `--strict` stops at the first bad line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuneguard.core import UserError
from tuneguard.core.policy import DataPolicy
from tuneguard.data.checks import parse_checks
from tuneguard.data.pipeline import scan_dataset

CLEAN = parse_checks(["clean"])


def _chat(*turns: tuple[str, str]) -> str:
    return json.dumps({"messages": [{"role": r, "content": c} for r, c in turns]})


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    base = "The quick brown fox jumps over the lazy dog while the support agent explains the refund policy"
    lines = [
        _chat(("user", "hi"), ("assistant", "hello")),  # 1 fine
        "{broken",  # 2 malformed
        _chat(("user", "hi"), ("assistant", "hello")),  # 3 exact duplicate of 1
        json.dumps({"text": ""}),  # 4 empty
        json.dumps({"text": "x" * 500}),  # 5 overlong (max 200 below)
        _chat(("assistant", "I start"), ("user", "odd")),  # 6 wrong order
        _chat(("user", "q"), ("robot", "a")),  # 7 unknown role (and no assistant)
        _chat(("user", "q"), ("assistant", "")),  # 8 empty assistant turn
        json.dumps({"text": "bell\x07 here"}),  # 9 control characters
        json.dumps({"text": base + " today."}),  # 10
        json.dumps({"text": base + " today!"}),  # 11 near duplicate of 10
    ]
    path = tmp_path / "messy.jsonl"
    path.write_bytes("\n".join(lines).encode() + b"\n" + b'{"text": "caf\xe9"}\n')  # 12 invalid UTF-8
    return path


def _by_check(result: dict) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for f in result["findings"]:
        out.setdefault(f["check"].removeprefix("data.clean."), []).append(f["line"])
    return out


def test_each_cleaning_problem_has_its_line(messy: Path) -> None:
    result = scan_dataset(str(messy), DataPolicy(max_record_chars=200), CLEAN)
    found = _by_check(result)
    assert found["malformed_json"] == [2]
    assert found["exact_duplicate"] == [3]
    assert found["empty_record"] == [4]
    assert found["overlong_record"] == [5]
    assert sorted(set(found["broken_chat"])) == [6, 7, 8]
    assert found["control_chars"] == [9]
    assert found["near_duplicate"] == [11]
    assert found["invalid_utf8"] == [12]
    assert result["stats"]["records"] == 12 and result["stats"]["parsed"] == 11
    assert result["stats"]["gate"]["verdict"] == "fail"  # malformed JSON and broken chats are medium


def test_strict_stops_at_first_malformed_line(messy: Path) -> None:
    with pytest.raises(UserError, match=r"messy.jsonl:2: malformed json"):
        scan_dataset(str(messy), DataPolicy(), CLEAN, strict=True)


def test_check_selection(messy: Path) -> None:
    only = scan_dataset(str(messy), DataPolicy(), parse_checks(["data.clean.exact_duplicate"]))
    assert set(_by_check(only)) <= {"exact_duplicate", "malformed_json", "blank_line"}
    with pytest.raises(ValueError, match="unknown check"):
        parse_checks(["data.nonsense"])
