"""Keras scanner (.keras zip with config.json, legacy .h5 with a model_config attribute): Lambda layers and
serialized Python functions, which Keras would rebuild (and run) from bytecode."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from typing import Any

from tuneguard.core import Finding, Severity

from ..types import Blob, ScanContext, Scanner

SAFE_MODULE_PREFIXES = ("keras", "tensorflow", "tf_keras", "builtins", "numpy")


def _walk(obj: Any, path: str = "$") -> Iterator[tuple[str, dict]]:
    if isinstance(obj, dict):
        yield path, obj
        for k, v in obj.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")


def check_keras_config(config: Any, blob: Blob, ctx: ScanContext) -> list[Finding]:
    out: list[Finding] = []
    for path, node in _walk(config):
        cls = node.get("class_name")
        if cls in ("Lambda", "TFOpLambda") or (cls == "__lambda__"):
            func = node.get("config", {}).get("function") if isinstance(node.get("config"), dict) else None
            code = (
                cls == "__lambda__"
                or isinstance(func, list | dict)
                or "function_type" in node.get("config", {})
            )
            out.append(
                ctx.finding(
                    "model.keras.lambda_layer",
                    Severity.CRITICAL if code else Severity.HIGH,
                    f"{cls} layer at {path}" + (" carries serialized Python bytecode" if code else ""),
                    blob,
                    path=path,
                )
            )
        module = node.get("module")
        if isinstance(module, str) and cls and not module.startswith(SAFE_MODULE_PREFIXES):
            out.append(
                ctx.finding(
                    "model.keras.custom_object",
                    Severity.HIGH,
                    f"custom object {module}.{cls} at {path} (imports user code)",
                    blob,
                    path=path,
                    module=module,
                )
            )
    return out


class KerasScanner(Scanner):
    name = "keras"
    formats = ("keras", "hdf5")
    description = "Keras .keras/.h5 model configs: Lambda layers, serialized functions, custom objects"

    def scan(self, blob: Blob, ctx: ScanContext) -> list[Finding]:
        if ctx.formats.get(blob.name) == "keras":
            try:
                with blob.opener() as fh, zipfile.ZipFile(fh) as zf:
                    raw = zf.read("config.json")
            except (zipfile.BadZipFile, KeyError, OSError) as exc:
                return [
                    ctx.finding(
                        "model.keras.bad_archive", Severity.HIGH, f"unreadable .keras archive: {exc}", blob
                    )
                ]
            return self._config(raw, blob, ctx)
        return self._hdf5(blob, ctx)

    def _config(self, raw: bytes | str, blob: Blob, ctx: ScanContext) -> list[Finding]:
        try:
            config = json.loads(raw)
        except ValueError as exc:
            return [
                ctx.finding("model.keras.bad_config", Severity.HIGH, f"model config is not JSON: {exc}", blob)
            ]
        return check_keras_config(config, blob, ctx)

    def _hdf5(self, blob: Blob, ctx: ScanContext) -> list[Finding]:
        try:
            import h5py
        except ImportError:
            return self._hdf5_bytes(blob, ctx)
        try:
            with blob.opener() as fh, h5py.File(fh, "r") as f:
                config = f.attrs.get("model_config")
                training = f.attrs.get("training_config")
        except (OSError, ValueError) as exc:
            return [ctx.finding("model.hdf5.malformed", Severity.HIGH, f"unreadable HDF5: {exc}", blob)]
        out: list[Finding] = []
        for raw in (config, training):
            if raw is None:
                continue
            out.extend(self._config(raw.decode() if isinstance(raw, bytes) else str(raw), blob, ctx))
        return out

    def _hdf5_bytes(self, blob: Blob, ctx: ScanContext) -> list[Finding]:
        """Without h5py: look for the Lambda markers Keras writes into the JSON attribute."""
        with blob.opener() as fh:
            data = fh.read(ctx.max_member_bytes)
        if b'"class_name": "Lambda"' in data or b'"__lambda__"' in data:
            return [
                ctx.finding(
                    "model.keras.lambda_layer", Severity.HIGH, "Lambda layer in HDF5 model config", blob
                )
            ]
        return [
            ctx.finding("model.hdf5.not_parsed", Severity.LOW, "h5py not installed: byte scan only", blob)
        ]
