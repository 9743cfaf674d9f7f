"""ONNX scanner: external-data paths that leave the model folder and operators from custom domains (which
need a native custom-op library to load). Parsed with the `onnx` package without loading external data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tuneguard.core import Finding, Severity

from ..types import Blob, ScanContext, Scanner

STANDARD_DOMAINS = frozenset(
    {
        "",
        "ai.onnx",
        "ai.onnx.ml",
        "ai.onnx.training",
        "ai.onnx.preview.training",
        "com.microsoft",
        "com.microsoft.nchwc",
        "com.microsoft.experimental",
    }
)


def _graphs(graph: Any) -> Iterator[Any]:
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("g"):
                yield from _graphs(attr.g)
            for sub in attr.graphs:
                yield from _graphs(sub)


def _escapes(location: str, base: Path) -> bool:
    if (
        os.path.isabs(location)
        or location.startswith(("\\", "/"))
        or (len(location) > 1 and location[1] == ":")
    ):
        return True
    target = (base / location).resolve()
    return not target.is_relative_to(base.resolve())


class OnnxScanner(Scanner):
    name = "onnx"
    formats = ("onnx",)
    description = "ONNX external data paths escaping the folder, custom operator domains"

    def scan(self, blob: Blob, ctx: ScanContext) -> list[Finding]:
        try:
            import onnx
        except ImportError:
            return [
                ctx.finding("model.onnx.not_parsed", Severity.MEDIUM, "onnx not installed: not scanned", blob)
            ]
        with blob.opener() as fh:
            try:
                model = onnx.load_model(fh, load_external_data=False)
            except Exception as exc:  # noqa: BLE001 - protobuf raises DecodeError and friends
                return [
                    ctx.finding("model.onnx.malformed", Severity.HIGH, f"not a valid ONNX model: {exc}", blob)
                ]
        base = blob.path.parent if blob.path else (ctx.root or Path.cwd())
        out: list[Finding] = []
        custom = {o.domain for o in model.opset_import if o.domain not in STANDARD_DOMAINS}
        graphs = [*(_graphs(model.graph))]
        tensors = [t for g in graphs for t in g.initializer]
        tensors += [a.t for g in graphs for n in g.node for a in n.attribute if a.HasField("t")]
        for tensor in tensors:
            for entry in tensor.external_data:
                if entry.key == "location" and _escapes(entry.value, base):
                    out.append(
                        ctx.finding(
                            "model.onnx.external_data_escape",
                            Severity.HIGH,
                            f"tensor {tensor.name!r} reads external data from {entry.value!r}, "
                            "outside the model folder",
                            blob,
                            tensor=tensor.name,
                            location=entry.value,
                        )
                    )
        for g in graphs:
            for node in g.node:
                if node.domain not in STANDARD_DOMAINS:
                    custom.add(node.domain)
        for fn in model.functions:
            custom.discard(fn.domain)  # model-local functions are defined in the file, not native code
        for domain in sorted(custom):
            out.append(
                ctx.finding(
                    "model.onnx.custom_op_domain",
                    Severity.HIGH,
                    f"operators from custom domain {domain!r} need a native custom-op library",
                    blob,
                    domain=domain,
                )
            )
        return out
