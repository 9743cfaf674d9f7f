"""The pipeline's stages: each calls one stage package's public API and names its inputs and outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tuneguard.core import StageResult, UserError, atomic_write_text, model_digest, sha256_file

from .runner import Context, PipelineStage, StageOutcome


def _section(ctx: Context, name: str) -> dict[str, Any]:
    return getattr(ctx.policy, name).model_dump(mode="json")


def _dataset(ctx: Context) -> Path:
    path = ctx.path(ctx.policy.pipeline.dataset, "pipeline.dataset")
    if not path.is_file():
        raise UserError(f"pipeline.dataset {path}: no such file")
    return path


def _base(ctx: Context) -> str:
    base = ctx.policy.pipeline.base_model
    return base if base == "embedded" else str(ctx.path(base, "pipeline.base_model"))


def _write_json(path: Path, value: Any) -> str:
    atomic_write_text(path, json.dumps(value, indent=1, ensure_ascii=False))
    return str(path)


def _seq(ctx: Context) -> int:
    return ctx.ledger.head()[0]


# -- data gate ---------------------------------------------------------------------------------
def data_inputs(ctx: Context) -> dict[str, Any]:
    return {"dataset": sha256_file(_dataset(ctx)), "policy": _section(ctx, "data")}


def _prompt_text(record: Any) -> str:
    # The same prompt view the poisoning scan mined the triggers from (chat, ShareGPT, instruction formats).
    from tuneguard.data import prompt_response

    pair = prompt_response(record) if isinstance(record, dict) else None
    return pair[0] if pair else ""


def quarantine_triggers(src: Path, triggers: list[str], out: Path) -> tuple[Path, list[int]]:
    """Copy a JSONL dataset without the records whose prompt carries a confirmed-suspicious trigger.

    The user's file is never changed; the pipeline trains on the copy, and the removed line numbers
    go to the ledger so the decision is auditable.
    """
    kept, removed = [], []
    with src.open("r", encoding="utf-8", errors="surrogateescape") as fh:
        for lineno, line in enumerate(fh, 1):
            try:
                record = json.loads(line)
            except ValueError:
                kept.append(line)
                continue
            text = _prompt_text(record)
            if any(t in text for t in triggers):
                removed.append(lineno)
            else:
                kept.append(line)
    atomic_write_text(out, "".join(kept))
    return out, removed


def data_run(ctx: Context) -> StageOutcome:
    from tuneguard.data import CheckSelection, sanitize_dataset, scan_dataset

    first = _seq(ctx) + 1
    src = _dataset(ctx)
    out = ctx.out_dir / "data"
    selection = CheckSelection()
    ctx.on_progress("scanning the raw dataset")
    scan = scan_dataset(str(src), ctx.policy.data, selection)
    scan_path = _write_json(out / "scan.json", scan)
    triggers = sorted(
        {
            f["evidence"]["trigger"]
            for f in scan["findings"]
            if "backdoor_trigger" in f.get("check", "")
            and f.get("severity") in ("high", "critical")
            and f.get("evidence", {}).get("trigger")
        }
    )
    train_src, removed = src, []
    if triggers and src.suffix == ".jsonl":
        ctx.on_progress(f"quarantining records with {len(triggers)} suspected trigger(s)")
        train_src, removed = quarantine_triggers(src, triggers, out / f"quarantined-input{src.suffix}")
        ctx.ledger.append(
            "data",
            {
                "action": "quarantine",
                "input_sha256": sha256_file(src),
                "triggers": triggers,
                "removed_lines": removed,
                "output_sha256": sha256_file(train_src),
                "requirements": ["FT-3"],
            },
            kind="remediation",
        )
    ctx.on_progress("sanitizing")
    sanitized = out / f"sanitized{''.join(src.suffixes)}"
    manifest = sanitize_dataset(train_src, sanitized, ctx.policy, selection)
    before = manifest.get("entities_before") or {}
    verdict = manifest.get("verdict", "fail")
    summary = (
        f"{len(scan['findings'])} findings in the raw data ({sum(before.values())} identifiers, "
        f"{len(triggers)} high-severity trigger(s), {len(removed)} records quarantined); "
        f"sanitized {verdict}"
    )
    return StageOutcome(
        verdict,
        summary,
        {"scan": scan_path, "sanitized": str(sanitized)},
        {"first_seq": first, "triggers": triggers, "quarantined": len(removed)},
    )


# -- base-model gate ----------------------------------------------------------------------------
def model_inputs(ctx: Context) -> dict[str, Any]:
    return {"base": model_digest(_base(ctx)), "policy": _section(ctx, "model")}


def model_run(ctx: Context) -> StageOutcome:
    from tuneguard.core import Artifact, resolve_model_source
    from tuneguard.model import build_bom, record_scan, scan_path

    first = _seq(ctx) + 1
    source = resolve_model_source(_base(ctx))
    report = scan_path(source, ctx.policy.model)
    out = ctx.out_dir / "model"
    scan_file = _write_json(out / "scan.json", report.to_dict())
    bom_file = _write_json(out / "bom.cdx.json", build_bom(report))
    record_scan(
        ctx.policy,
        report,
        [Artifact(role="bom", path=bom_file, sha256=sha256_file(bom_file))],
        {"bom_sha256": sha256_file(bom_file)},
    )
    verdict = "fail" if report.failed else "pass"
    counts = report.counts()
    summary = f"{len(report.files)} files, {counts['critical']} critical, {counts['high']} high"
    return StageOutcome(verdict, summary, {"scan": scan_file, "bom": bom_file}, {"first_seq": first})


# -- probes ---------------------------------------------------------------------------------------
def _probe(ctx: Context, target: str, out: Path, suites: list[str]) -> dict[str, Any]:
    from tuneguard.probe import record_run, run_probes

    p = ctx.policy.probe
    report = run_probes(
        target, suites, p.limit, progress=True, target_options={"max_new_tokens": p.max_new_tokens}
    )
    _write_json(out, report)
    record_run(report, out, ctx.policy.digest())
    return report


def baseline_inputs(ctx: Context) -> dict[str, Any]:
    return {"base": model_digest(_base(ctx)), "policy": _section(ctx, "probe")}


def baseline_run(ctx: Context) -> StageOutcome:
    first = _seq(ctx) + 1
    out = ctx.out_dir / "probe" / "base.json"
    ctx.on_progress("probing the base model")
    report = _probe(ctx, _base(ctx), out, ctx.policy.probe.suites)
    rates = ", ".join(f"{k} R={v['attack_success_rate']}" for k, v in report["summary"].items())
    return StageOutcome("pass", f"baseline: {rates}", {"report": str(out)}, {"first_seq": first})


# -- training -------------------------------------------------------------------------------------
def train_inputs(ctx: Context) -> dict[str, Any]:
    return {
        "data": sha256_file(ctx.output("data", "sanitized")),
        "base": model_digest(_base(ctx)),
        "policy": _section(ctx, "train"),
    }


def train_run(ctx: Context) -> StageOutcome:
    from tuneguard.train import TrainOptions, run_training

    first = _seq(ctx) + 1
    t = ctx.policy.train
    adapter = ctx.out_dir / "adapter"
    if adapter.exists():
        import shutil

        shutil.rmtree(adapter)  # inputs changed (or --from): the old adapter is stale
    opts = TrainOptions(
        data=ctx.output("data", "sanitized"),
        output=adapter,
        base=_base(ctx),
        max_steps=t.max_steps,
        epochs=t.epochs,
        lr=t.lr,
        lora_r=t.lora_r,
        lora_alpha=t.lora_alpha,
        batch_size=t.batch_size,
        max_seq_length=t.max_seq_length,
        seed=t.seed,
        canaries=t.canaries,
        canary_repeats=t.canary_repeats,
        max_canary_exposure=t.max_canary_exposure,
        probe=False,
        policy=ctx.policy,
    )
    ctx.on_progress("training the LoRA adapter")
    run = run_training(opts)
    run_file = _write_json(ctx.out_dir / "train" / "run.json", run)
    verdict = "fail" if run.get("verdict") in ("fail", "error") else "pass"
    return StageOutcome(
        verdict,
        f"{run.get('run_id')}: {run.get('summary', run.get('verdict'))}",
        {"adapter": str(adapter), "run": run_file},
        {"first_seq": first, "run_id": run.get("run_id")},
    )


# -- tuned-model evaluation -------------------------------------------------------------------------
def evaluate_inputs(ctx: Context) -> dict[str, Any]:
    from tuneguard.pipeline.runner import _dir_digest

    return {
        "adapter": _dir_digest(ctx.output("train", "adapter")),
        "baseline": sha256_file(ctx.output("baseline", "report")),
        "scan": sha256_file(ctx.output("data", "scan")),
        "policy": _section(ctx, "probe"),
    }


def evaluate_run(ctx: Context) -> StageOutcome:
    from tuneguard.probe import compare_reports, compare_result, record_result

    first = _seq(ctx) + 1
    out = ctx.out_dir / "probe"
    adapter = str(ctx.output("train", "adapter"))
    ctx.on_progress("probing the fine-tuned model")
    tuned = _probe(ctx, adapter, out / "tuned.json", ctx.policy.probe.suites)
    base = json.loads(ctx.output("baseline", "report").read_text())
    comparison = compare_reports(base, tuned, ctx.policy.probe)
    cmp_file = _write_json(out / "compare.json", comparison)
    result: StageResult = compare_result(
        comparison, ctx.output("baseline", "report"), out / "tuned.json", ctx.policy.digest()
    )
    result.metrics["asr_by_category"] = [
        {
            "category": k,
            "base": v["base_rate"],
            "tuned": v["tuned_rate"],
            "base_ci": v["base_ci95"],
            "tuned_ci": v["tuned_ci95"],
        }
        for k, v in comparison["by_category"].items()
    ]
    record_result(result)
    outputs = {"tuned": str(out / "tuned.json"), "compare": cmp_file}
    from tuneguard.probe import load_triggers

    triggers = str(ctx.output("data", "scan"))
    # Only candidates the backdoor suite accepts (medium and above): info/low associations are not replayed.
    if load_triggers(triggers):
        ctx.on_progress("checking candidate backdoor triggers on the fine-tuned model")
        from tuneguard.probe import record_run, run_probes

        backdoor = run_probes(
            adapter,
            ["backdoor"],
            None,
            suite_options={"triggers": triggers},
            target_options={"max_new_tokens": ctx.policy.probe.max_new_tokens},
        )
        outputs["backdoor"] = _write_json(out / "backdoor.json", backdoor)
        record_run(backdoor, Path(outputs["backdoor"]), ctx.policy.digest())
    o = comparison["overall"]
    summary = (
        f"{comparison['verdict']}: R {o['base_rate']:.2f} -> {o['tuned_rate']:.2f} "
        f"(exact McNemar p={o['p_value']:.3g})"
    )
    return StageOutcome(
        "fail" if comparison["verdict"] == "regressed" else "pass", summary, outputs, {"first_seq": first}
    )


# -- registry ----------------------------------------------------------------------------------------
def registry_inputs(ctx: Context) -> dict[str, Any]:
    from tuneguard.pipeline.runner import _dir_digest

    return {
        "adapter": _dir_digest(ctx.output("train", "adapter")),
        "compare": sha256_file(ctx.output("evaluate", "compare")),
        "policy": _section(ctx, "registry"),
    }


def registry_run(ctx: Context) -> StageOutcome:
    from tuneguard.registry import Registry

    first = _seq(ctx) + 1
    name = ctx.policy.registry.name
    if not name:
        raise UserError(f"{ctx.policy.source}: key 'registry.name' is required by `tuneguard run`")
    lineage = {
        "base_model_sha256": model_digest(_base(ctx)),
        "dataset_sha256": sha256_file(ctx.output("data", "sanitized")),
        "training_run_id": ctx.outcomes["train"].values.get("run_id"),
        "probe_report_sha256": sha256_file(ctx.output("evaluate", "compare")),
        "gate_seqs": {k: v.values.get("first_seq") for k, v in ctx.outcomes.items()},
    }
    registry = Registry.open(policy=ctx.policy)
    ref = registry.push(ctx.output("train", "adapter"), name, kind="adapter", lineage=lineage)
    registry.promote(ref, "staging")
    check = registry.verify(ref)
    ok = bool(getattr(check, "ok", False))
    summary = f"pushed {ref}, signed and verified; alias staging -> {ref}"
    return StageOutcome("pass" if ok else "fail", summary, {}, {"first_seq": first, "ref": ref})


# -- deployment environment review -------------------------------------------------------------------
def serve_inputs(ctx: Context) -> dict[str, Any]:
    return {"policy": _section(ctx, "serve")}


def serve_run(ctx: Context) -> StageOutcome:
    from tuneguard.serve import EnvTarget, run_envcheck

    first = _seq(ctx) + 1
    s = ctx.policy.serve
    result = run_envcheck(
        EnvTarget(policy=s, host=s.host, tls_cert=None, tls_key=None), config_sha256=ctx.policy.digest()
    )
    verdict = "fail" if result.verdict.value in ("fail", "error") else "pass"
    return StageOutcome(verdict, result.summary, {}, {"first_seq": first})


STAGES: list[PipelineStage] = [
    PipelineStage("data", "Data gate: PII, cleaning, poisoning, sanitize", data_inputs, data_run),
    PipelineStage("model", "Base-model gate: artifact scan, licence, ML-BOM", model_inputs, model_run),
    PipelineStage("baseline", "Base-model probes (regression reference)", baseline_inputs, baseline_run),
    PipelineStage("train", "Audited LoRA fine-tuning with canaries", train_inputs, train_run),
    PipelineStage(
        "evaluate", "Tuned-model probes, regression verdict, trigger check", evaluate_inputs, evaluate_run
    ),
    PipelineStage("registry", "Encrypted, signed registry version", registry_inputs, registry_run),
    PipelineStage(
        "serve-check",
        "Deployment environment review",
        serve_inputs,
        serve_run,
        enabled=lambda ctx: ctx.policy.pipeline.serve_check,
    ),
]
