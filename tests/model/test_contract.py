"""Contract over every registered scanner: named, declared formats, never raises, returns Findings."""

from __future__ import annotations

import os

import pytest

from tuneguard.core import Finding
from tuneguard.model.scanners import default_registry
from tuneguard.model.types import Blob, ScanContext, Scanner, ScannerRegistry

REGISTRY = default_registry()
INPUTS = [
    b"",
    b"\x00" * 32,
    b"PK\x03\x04garbage",
    b"\x80\x04\x95",
    b"GGUF\x03\x00\x00\x00",
    b"\x93NUMPY\x01\x00",
    b"\x89HDF\r\n\x1a\n",
    b"\x10\x00\x00\x00\x00\x00\x00\x00{}",
    os.urandom(256),
    b"{not json",
    b"{% if %}",
]


def test_registry_is_an_instance_not_global_state() -> None:
    a, b = default_registry(), default_registry()
    assert a.names() == b.names() and a.get("pickle") is not b.get("pickle")
    with pytest.raises(ValueError):
        a.register(a.get("pickle"))


def test_every_format_has_a_scanner() -> None:
    for fmt in (
        "pickle",
        "pytorch-legacy",
        "pytorch-zip",
        "npy",
        "npz",
        "zip",
        "tar",
        "safetensors",
        "gguf",
        "keras",
        "hdf5",
        "onnx",
        "json",
        "python",
        "jinja",
    ):
        assert REGISTRY.for_format(fmt), fmt


@pytest.mark.parametrize("name", REGISTRY.names())
def test_scanner_contract(name: str) -> None:
    scanner = REGISTRY.get(name)
    assert isinstance(scanner, Scanner) and scanner.name == name
    assert scanner.formats and scanner.description
    assert scanner.__class__.__module__.startswith("tuneguard.model.scanners.")
    for fmt in scanner.formats:
        for data in INPUTS:
            ctx = ScanContext(ScannerRegistry([scanner]))
            findings = ctx.scan_blob(Blob.from_bytes(data, f"sample.{fmt}"), fmt)
            assert all(isinstance(f, Finding) and f.check.startswith("model.") for f in findings)
            assert not any(f.check.endswith(".error") for f in findings), (fmt, data[:16], findings)
