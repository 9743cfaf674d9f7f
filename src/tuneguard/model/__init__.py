"""Base-model gate (issue 4): scan model artifacts without executing them, provenance and license policy,
and a CycloneDX ML-BOM. Heavy modules load lazily so `import tuneguard.model` stays cheap."""

from __future__ import annotations

from typing import Any

from tuneguard.core import CheckSpec

CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        "model.pickle",
        "model",
        "Pickle payloads in any container (static opcode walk, allowlist)",
        ("BM-4",),
        "tuneguard model scan",
    ),
    CheckSpec(
        "model.safetensors",
        "model",
        "safetensors header integrity (length, JSON, dtypes, offsets)",
        ("BM-4",),
        "tuneguard model scan",
    ),
    CheckSpec(
        "model.gguf",
        "model",
        "GGUF metadata sanity and chat-template (Jinja) sandbox-escape check",
        ("BM-4",),
        "tuneguard model scan",
    ),
    CheckSpec(
        "model.hf",
        "model",
        "Remote code (auto_map, *.py) and tokenizer chat templates in HF folders",
        ("BM-4",),
        "tuneguard model scan",
    ),
    CheckSpec(
        "model.keras_onnx",
        "model",
        "Keras Lambda layers / serialized functions; ONNX external data and custom op domains",
        ("BM-4",),
        "tuneguard model scan",
    ),
    CheckSpec(
        "model.archive",
        "model",
        "Archives: path traversal, links, compression bombs, evasive headers",
        ("BM-4",),
        "tuneguard model scan",
    ),
    CheckSpec(
        "model.license",
        "model",
        "Model-card license as SPDX vs the policy allow/deny lists",
        ("BM-1",),
        "tuneguard model scan",
    ),
    CheckSpec(
        "model.card",
        "model",
        "Model-card presence and completeness (base model, datasets, intended use)",
        ("BM-2",),
        "tuneguard model scan",
    ),
    CheckSpec(
        "model.provenance",
        "model",
        "SHA-256 of every file, publisher hash comparison",
        ("BM-5",),
        "tuneguard model scan --expect FILE=SHA256",
    ),
    CheckSpec(
        "model.rescan",
        "model",
        "Re-scan of every model in the ledger with a diff of findings and file hashes",
        ("BM-6",),
        "tuneguard model rescan",
    ),
    CheckSpec(
        "model.bom",
        "model",
        "CycloneDX 1.6 ML-BOM with file hashes, license, card fields, base model",
        ("BM-5",),
        "tuneguard model bom PATH -o bom.cdx.json",
    ),
)

__all__ = ["CHECKS", "ScanReport", "build_bom", "default_registry", "record_scan", "scan_path", "scan_result"]


def __getattr__(name: str) -> Any:
    if name in ("scan_path", "ScanReport"):
        from . import engine

        return getattr(engine, name)
    if name == "default_registry":
        from .scanners import default_registry

        return default_registry
    if name in ("scan_result", "record_scan"):
        from . import evidence

        return getattr(evidence, name)
    if name == "build_bom":
        from .bom import build_bom

        return build_bom
    raise AttributeError(name)
