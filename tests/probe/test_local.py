"""Local transformers target on the embedded SmolLM2 model (slow: real weights, real generation)."""

from __future__ import annotations

import orjson
import pytest

from tuneguard.probe import load_target, run_probes

pytestmark = pytest.mark.slow


def test_embedded_generation_is_deterministic_and_cached(embedded_folder, tmp_path):
    target = load_target(str(embedded_folder), max_new_tokens=8, batch_size=2)
    assert target.id.startswith("local:") and target.gen_params["do_sample"] is False
    cache = tmp_path / "cache.sqlite"
    a = run_probes(target, "harmful", limit=2, cache=cache)
    items = a["items"]
    assert all(it["error"] is None and it["response"] for it in items)
    assert all(isinstance(it["refused"], bool) for it in items)
    # greedy decoding: a fresh target (no cache) gives identical text
    b = run_probes(
        load_target(str(embedded_folder), max_new_tokens=8, batch_size=1), "harmful", limit=2, cache=False
    )
    assert [i["response"] for i in b["items"]] == [i["response"] for i in items]
    c = run_probes(
        load_target(str(embedded_folder), max_new_tokens=8, batch_size=2), "harmful", limit=2, cache=cache
    )
    assert c["cached"] == 2


def test_peft_adapter_target(embedded_folder, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(embedded_folder)
    peft_model = get_peft_model(
        model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    adapter = tmp_path / "adapter"
    peft_model.save_pretrained(adapter)
    (adapter / "tuneguard-adapter.json").write_bytes(orjson.dumps({"base": str(embedded_folder)}))
    target = load_target(str(adapter), max_new_tokens=6, batch_size=2)
    base = load_target(str(embedded_folder), max_new_tokens=6, batch_size=2)
    assert target.id != base.id and target.id.startswith(base.id + "+")
    rep = run_probes(target, "over-refusal", limit=2, cache=False)
    assert all(it["error"] is None for it in rep["items"])
    assert rep["target_info"]["adapter"] == str(adapter)
