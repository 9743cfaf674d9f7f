"""Built-in scanners, one module per artifact format; `default_registry()` returns a fresh registry."""

from __future__ import annotations

from ..types import ScannerRegistry
from .gguf_scan import GgufScanner
from .hf_scan import HfFilesScanner
from .keras_scan import KerasScanner
from .numpy_scan import NumpyScanner
from .onnx_scan import OnnxScanner
from .pickle_scan import PickleScanner
from .safetensors_scan import SafetensorsScanner
from .tar_scan import TarScanner
from .zip_scan import ZipScanner

BUILTIN_SCANNERS = (
    PickleScanner,
    NumpyScanner,
    ZipScanner,
    TarScanner,
    SafetensorsScanner,
    GgufScanner,
    KerasScanner,
    OnnxScanner,
    HfFilesScanner,
)


def default_registry() -> ScannerRegistry:
    return ScannerRegistry(cls() for cls in BUILTIN_SCANNERS)


__all__ = ["BUILTIN_SCANNERS", "default_registry"]
