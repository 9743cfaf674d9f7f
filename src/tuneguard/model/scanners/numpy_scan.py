"""NumPy .npy scanner: parse the header with numpy.lib.format (no unpickling); object arrays carry a pickle,
which is walked statically like any other."""

from __future__ import annotations

import math

from tuneguard.core import Finding, Severity

from ..types import Blob, ScanContext, Scanner
from .pickle_scan import scan_pickle_stream


class NumpyScanner(Scanner):
    name = "numpy"
    formats = ("npy",)
    description = "NumPy .npy header sanity and object-array (pickle) payloads"

    def scan(self, blob: Blob, ctx: ScanContext) -> list[Finding]:
        from numpy.lib import format as npformat

        with blob.opener() as fh:
            try:
                major, minor = npformat.read_magic(fh)
                reader = npformat.read_array_header_1_0 if major == 1 else npformat.read_array_header_2_0
                shape, _fortran, dtype = reader(fh, max_header_size=1 << 20)
            except (ValueError, SyntaxError, TypeError) as exc:
                return [
                    ctx.finding("model.numpy.bad_header", Severity.HIGH, f"invalid .npy header: {exc}", blob)
                ]
            if dtype.hasobject:
                found = [
                    ctx.finding(
                        "model.numpy.object_array",
                        Severity.MEDIUM,
                        "object array: loading needs allow_pickle=True",
                        blob,
                        dtype=str(dtype),
                    )
                ]
                return found + scan_pickle_stream(fh, blob, ctx)
            expected = math.prod(shape) * dtype.itemsize
            remaining = blob.size - fh.tell()
        if remaining != expected:
            return [
                ctx.finding(
                    "model.numpy.size_mismatch",
                    Severity.MEDIUM if remaining > expected else Severity.HIGH,
                    f"header says {expected} data bytes, file has {remaining}",
                    blob,
                    expected=expected,
                    actual=remaining,
                )
            ]
        return []
