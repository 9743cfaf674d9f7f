"""`tuneguard train`: gated, audited LoRA/SFT fine-tuning with canaries and post-training tests."""

from __future__ import annotations

from pathlib import Path

import typer

from tuneguard.core import UserError, load_policy

from .common import JSON_HELP, console, emit_json, err_console, severity_style, table

DEFAULT_PROBE_LIMIT = 10


def train(
    data: Path = typer.Option(  # noqa: B008 - Typer's declaration style
        ...,
        "--data",
        help="Training data (.jsonl/.json): the output of `tuneguard data "
        "sanitize`; chat 'messages', instruction/output or prompt/completion records.",
    ),
    output: Path = typer.Option(  # noqa: B008
        ..., "--output", "-o", help="New folder for the LoRA adapter (must not exist)."
    ),
    base: str | None = typer.Option(
        None, "--base", help="Base model: 'embedded', a model folder or a .gguf file."
    ),
    max_steps: int | None = typer.Option(
        None, "--max-steps", min=1, help="Stop after this many optimizer steps."
    ),
    epochs: float | None = typer.Option(
        None, "--epochs", min=0.01, help="Epochs (when --max-steps is not set)."
    ),
    lr: float | None = typer.Option(None, "--lr", help="Learning rate."),
    lora_r: int | None = typer.Option(None, "--lora-r", min=1, help="LoRA rank."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Records per optimizer step."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (training order, canaries)."),
    canaries: int | None = typer.Option(None, "--canaries", min=0, help="Insert N random canary secrets."),
    canary_repeats: str | None = typer.Option(
        None,
        "--canary-repeats",
        help="Copies of each canary; a list such as 1,5,20 assigns the levels to the canaries in turn.",
    ),
    canary_candidates: int = typer.Option(
        100,
        "--canary-candidates",
        min=10,
        help="Random never-inserted secrets each canary is ranked against.",
    ),
    allow_ungated: bool = typer.Option(
        False,
        "--allow-ungated",
        help="Train data that passed no data gate (records a critical finding; the run cannot pass).",
    ),
    no_probe: bool = typer.Option(False, "--no-probe", help="Skip the post-training probe suites."),
    probe_limit: int | None = typer.Option(
        None,
        "--probe-limit",
        min=1,
        help="Items per probe suite after training (default: [probe] limit or 10).",
    ),
    extraction_samples: int = typer.Option(
        32,
        "--extraction-samples",
        min=0,
        help="Training records whose prefixes are completed to test for PII extraction (0 = skip).",
    ),
    json_out: str | None = typer.Option(None, "--json", help=JSON_HELP),
) -> None:
    """Fine-tune a LoRA adapter on gated data while auditing the run; exit 1 when the gate or a test fails.

    Refuses data whose sha256 matches no passed `tuneguard data sanitize` run in the ledger. Options default
    to \\[train] in tuneguard.toml. The adapter folder gets safetensors weights, adapter_config.json, a model
    card and tuneguard-adapter.json, never a pickle.

    Example: tuneguard train --data clean.jsonl --output adapters/support-v1 --max-steps 40 --json run.json
    """
    from tuneguard.train.sft import TrainOptions

    policy = load_policy()
    tp = policy.train
    opts = TrainOptions(
        data=data,
        output=output,
        base=base or tp.base,
        max_steps=max_steps if max_steps is not None else tp.max_steps,
        epochs=epochs or tp.epochs,
        lr=lr or tp.lr,
        lora_r=lora_r or tp.lora_r,
        lora_alpha=tp.lora_alpha,
        batch_size=batch_size or tp.batch_size,
        max_seq_length=tp.max_seq_length,
        seed=tp.seed if seed is None else seed,
        canaries=tp.canaries if canaries is None else canaries,
        canary_repeats=tp.canary_repeats if canary_repeats is None else _repeats(canary_repeats),
        canary_candidates=canary_candidates,
        max_canary_exposure=tp.max_canary_exposure,
        allow_ungated=allow_ungated or tp.allow_ungated,
        probe=tp.probe_after and not no_probe,
        probe_limit=probe_limit or policy.probe.limit or DEFAULT_PROBE_LIMIT,
        extraction_samples=extraction_samples,
        policy=policy,
    )
    if opts.canaries and not opts.canary_repeats:
        opts.canary_repeats = 1
    run = _run_with_progress(opts, quiet=json_out == "-")
    if json_out:
        emit_json(run, json_out)
    if json_out != "-":
        _show(run)
    if run["verdict"] == "fail":
        err_console.print(
            f"[bold red]train gate failed[/]: adapter written to {run['adapter']['path']} "
            "but the run has high or critical findings (see above and the ledger)"
        )
        raise typer.Exit(1)


def _repeats(text: str) -> int | tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UserError(
            f"--canary-repeats {text!r}: expected a number or a comma-separated list of numbers"
        ) from None
    if not levels or min(levels) < 0:
        raise UserError(f"--canary-repeats {text!r}: expected non-negative numbers")
    return levels[0] if len(levels) == 1 else levels


def _run_with_progress(opts, quiet: bool) -> dict:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tuneguard.train.sft import run_training

    if quiet:
        return run_training(opts)
    with Progress(
        TextColumn("training"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("train", total=None)

        def update(step: int, total: int) -> None:
            bar.update(task, completed=step, total=total)

        return run_training(opts, progress=update)


def _show(run: dict) -> None:
    training = run.get("training", {})
    console.print(
        f"adapter: {run['adapter']['path']}  verdict: [bold]{run['verdict']}[/]  "
        f"steps: {training.get('steps')}  {training.get('seconds_per_step')} s/step  "
        f"final loss: {training.get('final_loss')}"
    )
    canaries = run.get("canaries")
    if canaries:
        console.print(
            f"canaries: max exposure {canaries['max_exposure']} bits (limit "
            f"{canaries['max_allowed_exposure']}), mean {canaries['mean_exposure']}, references mean "
            f"{canaries['reference_mean_exposure']}; extracted {canaries['extracted']}"
            f"/{len(canaries['inserted'])}"
        )
    extraction = run.get("extraction", {})
    if "samples" in extraction:
        console.print(
            f"extraction: {extraction['samples']} prefixes, {extraction.get('pii_memorized', 0)} memorized"
            f" PII, {extraction.get('pii_generated', 0)} other PII"
        )
    probe = run.get("probe", {})
    console.print(f"probe: {probe.get('verdict') or probe.get('skipped')}")
    findings = run.get("findings", [])
    if findings:
        rows = [
            [f"[{severity_style(f['severity'])}]{f['severity']}[/]", f["check"], f["message"]]
            for f in findings
        ]
        console.print(table(f"Findings ({len(findings)})", ["severity", "check", "message"], rows))
