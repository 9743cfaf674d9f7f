"""The gated, audited SFT run behind `tuneguard train`: gate, train (TRL + PEFT LoRA), test, publish, record.

Everything the trainer writes (checkpoints, training_args.bin, RNG state) stays in a private temp
folder next to the output; only the allow-listed adapter files are staged and renamed into place,
so a crash at any point leaves no half-written adapter, and the ledger gets an `error` result.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tuneguard
from tuneguard.core import (
    Artifact,
    Finding,
    GateFailed,
    Ledger,
    Policy,
    Severity,
    StageResult,
    UserError,
    Verdict,
    materialize_model,
    model_digest,
    sha256_file,
)

from . import gate as gating
from .canaries import insert_canaries, make_canaries
from .environment import cpu_threads, library_versions
from .posttest import memorization_tests, probe_tests
from .publish import check_output_free, model_card, publish, stage_adapter
from .records import load_chat_records


@dataclass
class TrainOptions:
    data: Path
    output: Path
    base: str = "embedded"
    max_steps: int | None = None
    epochs: float = 1.0
    lr: float = 2e-4
    lora_r: int = 8
    lora_alpha: int = 16
    batch_size: int = 8
    max_seq_length: int = 512
    seed: int = 0
    canaries: int = 0
    canary_repeats: int | tuple[int, ...] = 0
    canary_candidates: int = 100
    max_canary_exposure: float = 10.0
    allow_ungated: bool = False
    probe: bool = True
    probe_limit: int | None = 10
    extraction_samples: int = 32
    policy: Policy = field(default_factory=Policy)

    def config(self) -> dict[str, Any]:
        skip = {"data", "output", "policy"}
        return {k: v for k, v in asdict(self).items() if k not in skip}


ProgressFn = Callable[[int, int], None]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_training(opts: TrainOptions, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Run one gated, audited training; returns the run record (also recorded in the ledger).

    Raises GateFailed (exit 1) when the data gate refuses, UserError (exit 2) for bad input or OOM.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers reads it: no hub traffic at run time
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    output, data = opts.output.expanduser().absolute(), opts.data.expanduser()
    check_output_free(output)
    if not data.is_file():
        raise UserError(f"--data {data}: no such file")
    run_id = f"train-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    data_sha = sha256_file(data)
    findings: list[Finding] = []
    evidence = gating.find_data_gate(data_sha)
    if evidence is None:
        if not opts.allow_ungated:
            message = gating.refusal_message(str(data), data_sha)
            _record(
                opts,
                run_id,
                Verdict.FAIL,
                "data gate refused the dataset",
                [
                    Finding(
                        check="train.gate.refused",
                        severity=Severity.HIGH,
                        message=message,
                        requirements=("FT-1",),
                        subject=str(data),
                        evidence={"dataset_sha256": data_sha},
                    )
                ],
                {},
                [Artifact(role="input", path=str(data), sha256=data_sha)],
                ("FT-1",),
            )
            raise GateFailed(message)
        findings.append(gating.ungated_finding(str(data), data_sha))
    records = load_chat_records(data)
    base_sha = model_digest(opts.base)
    base_folder = materialize_model(opts.base)
    base_spec = opts.base if opts.base == "embedded" else str(Path(opts.base).expanduser().absolute())
    run: dict[str, Any] = {
        "run_id": run_id,
        "started": _now(),
        "tool_version": tuneguard.__version__,
        "policy_sha256": opts.policy.digest(),
        "config": opts.config(),
        "libraries": library_versions(),
        "dataset": {
            "path": str(data),
            "sha256": data_sha,
            "records": len(records.chats),
            "formats": records.formats,
            "skipped_records": len(records.skipped),
            "gate": {"seq": evidence.seq, "hash": evidence.hash} if evidence else None,
        },
        "base": {"spec": base_spec, "sha256": base_sha, "folder": str(base_folder)},
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{output.name}.tuneguard-train-", dir=output.parent))
    previous = _terminate_as_exit()
    try:
        _train_and_publish(opts, run, records, findings, work, output, progress)
    except BaseException as exc:
        reason = "out of memory" if _is_oom(exc) else type(exc).__name__
        _record(
            opts,
            run_id,
            Verdict.ERROR,
            f"training run failed: {reason}",
            findings,
            {"run_id": run_id},
            [Artifact(role="input", path=str(data), sha256=data_sha)],
            ("FT-6",),
        )
        if _is_oom(exc):
            raise UserError(
                f"training ran out of memory on {run.get('device', 'this device')}: lower "
                "--batch-size or max_seq_length in [train], or use a smaller base model"
            ) from None
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return run


def _terminate_as_exit():
    """Turn SIGTERM into SystemExit while training, so cleanup and the ledger's error entry still happen."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, handler)


def _is_oom(exc: BaseException) -> bool:
    return (
        isinstance(exc, MemoryError)
        or "out of memory" in str(exc).lower()
        or type(exc).__name__ == "OutOfMemoryError"
    )


def _train_and_publish(
    opts: TrainOptions,
    run: dict[str, Any],
    records,
    findings: list[Finding],
    work: Path,
    output: Path,
    progress: ProgressFn | None,
) -> None:
    import torch
    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar as quiet_datasets
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback
    from transformers.utils.logging import disable_progress_bar as quiet_transformers
    from trl import SFTConfig, SFTTrainer

    from .monitor import AuditCallback, ProgressCallback

    quiet_datasets()
    quiet_transformers()
    monitor = AuditCallback(record_result=False, run_id=run["run_id"])
    monitor.start_network_audit()
    try:
        cuda = torch.cuda.is_available()
        if not cuda:
            torch.set_num_threads(cpu_threads())
        run["device"] = f"cuda:{torch.cuda.get_device_name(0)}" if cuda else "cpu"
        run["threads"] = torch.get_num_threads()
        chats = records.chats
        repeats = opts.canary_repeats or 1  # canaries asked for but no repeat count: insert each once
        inserted, references = make_canaries(opts.canaries, repeats, opts.seed)
        if opts.canaries:
            chats = insert_canaries(chats, inserted, opts.seed)
        run["dataset"]["canary_records"] = len(chats) - len(records.chats)
        setup_start = time.perf_counter()
        base_folder = run["base"]["folder"]
        tokenizer = AutoTokenizer.from_pretrained(base_folder, trust_remote_code=False)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if not tokenizer.chat_template:
            raise UserError(f"base model {run['base']['spec']}: tokenizer has no chat template")
        model = AutoModelForCausalLM.from_pretrained(
            base_folder, trust_remote_code=False, dtype=torch.float32
        )
        use_bf16 = bool(cuda and torch.cuda.is_bf16_supported())
        config = SFTConfig(
            output_dir=str(work / "trainer"),
            max_steps=opts.max_steps or -1,
            num_train_epochs=opts.epochs,
            learning_rate=opts.lr,
            per_device_train_batch_size=opts.batch_size,
            max_length=opts.max_seq_length,
            seed=opts.seed,
            data_seed=opts.seed,
            logging_steps=1,
            save_strategy="no",
            report_to=[],
            bf16=use_bf16,
            fp16=False,
            gradient_checkpointing=False,
            use_cpu=not cuda,
            dataloader_num_workers=0,
            disable_tqdm=True,
            lr_scheduler_type="linear",
            warmup_steps=0,
            dataset_num_proc=None,
        )
        lora = LoraConfig(
            r=opts.lora_r,
            lora_alpha=opts.lora_alpha,
            lora_dropout=0.0,
            task_type="CAUSAL_LM",
            target_modules="all-linear",
        )
        callbacks = [monitor] + ([ProgressCallback(progress)] if progress else [])
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=Dataset.from_list([{"messages": c} for c in chats]),
            processing_class=tokenizer,
            peft_config=lora,
            callbacks=callbacks,
        )
        trainer.remove_callback(PrinterCallback)  # it prints every log dict to stdout (breaks --json -)
        setup_seconds = time.perf_counter() - setup_start
        train_start = time.perf_counter()
        result = trainer.train()
        train_seconds = time.perf_counter() - train_start
        steps = int(trainer.state.global_step)
        losses = [s["loss"] for s in monitor.steps if isinstance(s.get("loss"), float)]
        run["training"] = {
            "steps": steps,
            "train_seconds": round(train_seconds, 2),
            "seconds_per_step": round(train_seconds / max(steps, 1), 3),
            "setup_seconds": round(setup_seconds, 2),
            "train_loss": result.training_loss,
            "final_loss": losses[-1] if losses else None,
            "epochs": trainer.state.epoch,
        }
        run["steps"] = monitor.steps
        tuned = trainer.model
        tuned.eval()
        memorization_tests(opts, run, tuned, tokenizer, records, inserted, references, findings)
        trainer.model.save_pretrained(str(work / "saved"), safe_serialization=True)
        # The post-training probes load base and tuned models afresh: free the training copy first.
        del tuned, trainer, model
    finally:
        monitor.stop_network_audit()
    findings.extend(monitor.findings)
    run["monitor"] = monitor.metrics()
    marker = {
        "base": run["base"]["spec"],
        "base_sha256": run["base"]["sha256"],
        "dataset_sha256": run["dataset"]["sha256"],
        "run_id": run["run_id"],
    }
    files = stage_adapter(work / "saved", work / "publish", model_card(run), marker)
    publish(work / "publish", output)
    run["adapter"] = {"path": str(output), "files": files}
    probe_tests(opts, run, output, findings)
    run["findings"] = [f.model_dump(mode="json") for f in findings]
    run["verdict"] = _verdict(findings).value
    run["finished"] = _now()
    artifacts = [
        Artifact(role="input", path=run["dataset"]["path"], sha256=run["dataset"]["sha256"]),
        Artifact(role="base_model", path=run["base"]["spec"], sha256=run["base"]["sha256"]),
        *(
            Artifact(
                role="adapter" if name.endswith(".safetensors") else "adapter_file",
                path=str(output / name),
                sha256=sha,
            )
            for name, sha in files.items()
        ),
    ]
    requirements = ("FT-1", "FT-5", "FT-6") + (("FT-2", "FT-4") if "verdict" in run.get("probe", {}) else ())
    metrics = {
        k: run[k]
        for k in (
            "run_id",
            "config",
            "libraries",
            "dataset",
            "base",
            "training",
            "steps",
            "monitor",
            "canaries",
            "extraction",
            "probe",
            "device",
        )
        if k in run
    }
    _record(
        opts,
        run["run_id"],
        _verdict(findings),
        f"trained adapter {output.name}",
        findings,
        metrics,
        artifacts,
        requirements,
    )


def _verdict(findings: list[Finding]) -> Verdict:
    worst = max((f.severity.rank for f in findings), default=-1)
    if worst >= Severity.HIGH.rank:
        return Verdict.FAIL
    return Verdict.WARN if worst >= Severity.MEDIUM.rank else Verdict.PASS


def _record(
    opts: TrainOptions,
    run_id: str,
    verdict: Verdict,
    summary: str,
    findings: list[Finding],
    metrics: dict[str, Any],
    artifacts: list[Artifact],
    requirements: tuple[str, ...],
) -> None:
    with Ledger() as ledger:
        ledger.record(
            StageResult(
                stage="train",
                verdict=verdict,
                summary=f"{run_id}: {summary}",
                findings=findings,
                metrics=metrics,
                artifacts=artifacts,
                requirements=requirements,
                config_sha256=opts.policy.digest(),
                tool_version=tuneguard.__version__,
            )
        )
