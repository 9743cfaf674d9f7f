"""Publishing an adapter: allow-listed, pickle-free files plus a model card, renamed into place at once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import orjson

from tuneguard.core import UserError, sha256_file

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")
PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz"})
MARKER = "tuneguard-adapter.json"


def check_output_free(output: Path) -> None:
    """The adapter folder must not exist yet (an empty folder is allowed): we never merge into old files."""
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise UserError(f"--output {output}: already exists and is not an empty folder; choose a new folder")


def stage_adapter(saved: Path, staging: Path, card: str, marker: dict[str, Any]) -> dict[str, str]:
    """Copy the allow-listed files from PEFT's `saved` folder into `staging`, add card and marker.

    Returns {file name: sha256}. Trainer state, training_args.bin, optimizer and RNG pickles are never
    copied; anything pickle-like that reaches staging is an error, not a warning.
    """
    staging.mkdir(parents=True, exist_ok=False)
    for name in ADAPTER_FILES:
        source = saved / name
        if not source.is_file():
            raise RuntimeError(f"PEFT did not write {name} into {saved}")
        shutil.copyfile(source, staging / name)
    (staging / "README.md").write_text(card, encoding="utf-8")
    (staging / MARKER).write_bytes(orjson.dumps(marker, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    bad = [p.name for p in staging.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES]
    if bad:
        raise RuntimeError(f"refusing to publish pickle-format files: {', '.join(bad)}")
    files = {}
    for path in sorted(staging.iterdir()):
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
        files[path.name] = sha256_file(path)
    return files


def publish(staging: Path, output: Path) -> None:
    """Rename the staged folder to `output` in one step (same file system), replacing an empty folder."""
    if output.is_dir() and not any(output.iterdir()):
        output.rmdir()
    check_output_free(output)
    os.replace(staging, output)
    try:
        fd = os.open(output.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def model_card(run: dict[str, Any]) -> str:
    """A Hugging Face style model card: YAML front matter plus the facts an auditor needs."""
    cfg, base, data = run["config"], run["base"], run["dataset"]
    gate = f"ledger entry {data['gate']['seq']}" if data.get("gate") else "NONE (ungated)"
    lines = [
        "---",
        "library_name: peft",
        f"base_model: {base['spec']}",
        "tags: [tuneguard, lora, sft]",
        "---",
        f"# LoRA adapter {run['run_id']}",
        "",
        f"Trained by tuneguard {run['tool_version']} with TRL SFTTrainer and a PEFT LoRA adapter.",
        "",
        "| field | value |",
        "|---|---|",
        f"| base model | `{base['spec']}` |",
        f"| base model sha256 | `{base['sha256']}` |",
        f"| dataset sha256 | `{data['sha256']}` |",
        f"| data gate | {gate} |",
        f"| records | {data['records']} (+{data.get('canary_records', 0)} canary records) |",
        f"| tool version | tuneguard {run['tool_version']} |",
        f"| started (UTC) | {run['started']} |",
        "",
        "## Training configuration",
        "",
        "| key | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in sorted(cfg.items())),
        "",
        "## Libraries",
        "",
        ", ".join(f"{k} {v}" for k, v in sorted(run["libraries"].items())),
        "",
    ]
    canaries = run.get("canaries")
    if canaries:
        lines += [
            "## Memorization (canaries)",
            "",
            f"max exposure {canaries['max_exposure']} bits of {canaries['space_bits']} "
            f"(references: mean {canaries['reference_mean_exposure']}); "
            f"extracted {canaries['extracted']} of {len(canaries['inserted'])}.",
            "",
        ]
    extraction = run.get("extraction") or {}
    if "samples" in extraction:
        lines += [
            "## Training-data extraction",
            "",
            f"{extraction['samples']} record prefixes completed: {extraction.get('pii_memorized', 0)} "
            f"memorized PII values, {extraction.get('pii_generated', 0)} other PII values.",
            "",
        ]
    lines += [
        "Post-training probe results, the verdict and every finding are in the tuneguard ledger "
        f"(stage `train`, run id `{run['run_id']}`).",
        "",
    ]
    return "\n".join(lines)
