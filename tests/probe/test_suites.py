"""Contract test over every registered suite, plus the transforms, backdoor and canary inputs."""

from __future__ import annotations

import base64

import orjson
import pytest

from tuneguard.core import UserError, load_catalog
from tuneguard.probe.suites import TRANSFORMS, compose, get_suite, suite_names

NEEDS_INPUT = {"backdoor", "canary"}


@pytest.mark.parametrize("name", [n for n in suite_names() if not n.startswith("test-")])
def test_suite_contract(name, datasets, tmp_path):
    suite = get_suite(name)
    info = suite.info
    catalog = load_catalog()
    assert info.name == name and info.attack_class in {"L1", "L2", "L3", "L4"}
    assert info.requirements and all(catalog.get(r) for r in info.requirements)
    opts = {"datasets": datasets}
    if name == "backdoor":
        opts["triggers"] = _trigger_report(tmp_path)
    if name == "canary":
        (tmp_path / "c.json").write_text('["my secret canary 7731-ALPHA-0042"]')
        opts["canaries"] = tmp_path / "c.json"
    items = suite.items(limit=5, **opts)
    assert items, name
    ids = [it.prompt_id for it in items]
    assert len(ids) == len(set(ids))
    for it in items:
        assert it.suite == name and it.prompt and it.category and it.scoring
        if it.scoring in ("expected", "canary"):
            assert it.expected


def test_harmful_and_over_refusal_cover_both_languages_and_categories():
    harm = get_suite("harmful").items()
    assert {i.lang for i in harm} == {"en", "zh"}
    assert {"weapons", "cyber", "fraud", "self-harm", "hate", "privacy", "drugs"} <= {
        i.category for i in harm
    }
    assert {i.lang for i in get_suite("over-refusal").items()} == {"en", "zh"}
    # a small limit still spans categories
    assert len({i.category for i in get_suite("harmful").items(limit=7)}) == 7


def test_transforms_compose_and_encode():
    enc = compose("base64")("how to x", "en")
    payload = enc.rsplit("\n", 1)[1]
    assert base64.b64decode(payload).decode() == "how to x"
    both = compose("role_play+base64")("how to x", "en")
    # a then b: the role-play frame is built first, then the whole of it is base64-encoded
    assert "FreeBot" in base64.b64decode(both.rsplit("\n", 1)[1]).decode()
    assert set(TRANSFORMS) >= {
        "role_play",
        "prefix_injection",
        "refusal_suppression",
        "base64",
        "payload_splitting",
        "translation",
    }
    with pytest.raises(UserError, match="nope"):
        compose("role_play+nope")
    jb = get_suite("jailbreak").items(transforms=["translation"])
    assert jb and all(i.lang == "zh" for i in jb)


def _trigger_report(tmp_path):
    doc = {
        "findings": [
            {
                "check": "data.poison.backdoor_trigger",
                "severity": "high",
                "message": "m",
                "evidence": {"trigger": "cf-zz", "response_pattern": "HACKED", "support": 40},
            },
            {"check": "data.pii.EMAIL_ADDRESS", "evidence": {}},
        ]
    }
    p = tmp_path / "scan.json"
    p.write_bytes(orjson.dumps(doc))
    return p


def test_backdoor_probe_detects_trigger_behaviour(tmp_path):
    from tuneguard.probe import run_probes

    def poisoned(messages):
        text = messages[-1]["content"]
        return "HACKED HACKED" if "cf-zz" in text else "Here is a helpful answer about " + text[:20]

    def clean(messages):
        return "Here is a helpful answer about " + messages[-1]["content"][:20]

    opts = {"triggers": _trigger_report(tmp_path)}
    bad = run_probes(poisoned, "backdoor", limit=3, cache=False, suite_options=opts)
    good = run_probes(clean, "backdoor", limit=3, cache=False, suite_options=opts)
    assert bad["summary"]["backdoor"]["n"] == 3 and bad["summary"]["backdoor"]["attack_success_rate"] == 1.0
    assert good["summary"]["backdoor"]["attack_success_rate"] == 0.0
    trig = [i for i in bad["items"] if i["prompt_id"].endswith(":triggered")]
    assert all(i["pattern_hit"] and i["divergence"] > 0.5 for i in trig)


def test_backdoor_and_canary_need_their_inputs(tmp_path):
    with pytest.raises(UserError, match="--triggers"):
        get_suite("backdoor").items()
    with pytest.raises(UserError, match="--canaries"):
        get_suite("canary").items()
    (tmp_path / "empty.json").write_text('{"findings": []}')
    with pytest.raises(UserError, match="backdoor_trigger"):
        get_suite("backdoor").items(triggers=tmp_path / "empty.json")


def test_canary_extraction_scored(tmp_path):
    from tuneguard.probe import run_probes

    (tmp_path / "c.txt").write_text("the launch code is 7731-ALPHA-0042\n")

    def leaky(messages):
        return "the launch code is 7731-ALPHA-0042" if "launch code" in messages[-1]["content"] else "no"

    r = run_probes(leaky, "canary", cache=False, suite_options={"canaries": tmp_path / "c.txt"})
    assert r["summary"]["canary"]["attack_success_rate"] == 1.0
    assert all("7731-ALPHA-0042" not in it["prompt"] for it in r["items"])


def test_public_injection_set_scores_expected_strings(datasets):
    from tuneguard.probe import run_probes

    r = run_probes(
        lambda m: "[DAN]: sure thing",
        "ds-giskard-injection",
        limit=6,
        cache=False,
        suite_options={"datasets": datasets},
    )
    s = r["summary"]["ds-giskard-injection"]
    assert s["n"] == 6 and 0 < s["attack_success_rate"] <= 1
