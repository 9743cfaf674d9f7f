"""safetensors header checks, reading only the 8-byte length and the JSON header (never the tensor data)."""

from __future__ import annotations

import json
import math
import struct
from collections import Counter

from tuneguard.core import Finding, Severity

from ..types import Blob, ScanContext, Scanner

MAX_HEADER = 100 << 20
DTYPE_BITS = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "F8_E4M3": 8,
    "F8_E5M2": 8,
    "F8_E8M0": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "F64": 64,
    "I64": 64,
    "U64": 64,
    "C64": 64,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
}


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):  # linear: a header may name tens of thousands of tensors
        counts = Counter(k for k, _ in pairs)
        raise ValueError(f"duplicate keys {sorted(k for k, c in counts.items() if c > 1)[:5]}")
    return out


class SafetensorsScanner(Scanner):
    name = "safetensors"
    formats = ("safetensors",)
    description = "safetensors header: length, JSON, dtypes, offsets (range, overlap, alignment, coverage)"

    def scan(self, blob: Blob, ctx: ScanContext) -> list[Finding]:
        def bad(check: str, msg: str, sev: Severity = Severity.HIGH, **ev: object) -> Finding:
            return ctx.finding(f"model.safetensors.{check}", sev, msg, blob, **ev)

        with blob.opener() as fh:
            raw = fh.read(8)
            if len(raw) < 8:
                return [bad("truncated", "file shorter than the 8-byte header length")]
            (n,) = struct.unpack("<Q", raw)
            if n > MAX_HEADER:
                return [
                    bad("header_too_large", f"header length {n} above the {MAX_HEADER} limit", header_len=n)
                ]
            if n + 8 > blob.size:
                return [
                    bad("header_beyond_file", f"header length {n} beyond file size {blob.size}", header_len=n)
                ]
            text = fh.read(n)
        try:
            header = json.loads(text.decode("utf-8"), object_pairs_hook=_no_duplicates)
        except (UnicodeDecodeError, ValueError) as exc:
            return [bad("invalid_json", f"header is not valid JSON: {exc}")]
        if not isinstance(header, dict):
            return [bad("invalid_json", "header is not a JSON object")]
        data_len = blob.size - 8 - n
        return self._tensors(header, data_len, bad)

    def _tensors(self, header: dict, data_len: int, bad) -> list[Finding]:  # noqa: C901
        out: list[Finding] = []
        meta = header.pop("__metadata__", None)
        if meta is not None and not (
            isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values())
        ):
            out.append(bad("bad_metadata", "__metadata__ must map strings to strings"))
        ranges: list[tuple[int, int, str]] = []
        for name, info in header.items():
            if not isinstance(info, dict):
                out.append(bad("bad_entry", f"tensor {name!r}: entry is not an object", tensor=name))
                continue
            dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
            if dtype not in DTYPE_BITS:
                out.append(bad("unknown_dtype", f"tensor {name!r}: unknown dtype {dtype!r}", tensor=name))
                continue
            if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
                out.append(bad("bad_shape", f"tensor {name!r}: shape {shape!r} invalid", tensor=name))
                continue
            if not (
                isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
            ):
                out.append(
                    bad("bad_offsets", f"tensor {name!r}: data_offsets {offsets!r} invalid", tensor=name)
                )
                continue
            begin, end = offsets
            if not 0 <= begin <= end <= data_len:
                out.append(
                    bad(
                        "offset_out_of_range",
                        f"tensor {name!r}: [{begin}, {end}) outside the {data_len}-byte data section",
                        tensor=name,
                        begin=begin,
                        end=end,
                    )
                )
                continue
            nbytes = math.ceil(math.prod(shape) * DTYPE_BITS[dtype] / 8)
            if nbytes != end - begin:
                out.append(
                    bad(
                        "size_mismatch",
                        f"tensor {name!r}: shape x dtype = {nbytes} bytes but range holds {end - begin}",
                        tensor=name,
                        expected=nbytes,
                        actual=end - begin,
                    )
                )
            if DTYPE_BITS[dtype] >= 8 and begin % (DTYPE_BITS[dtype] // 8):
                out.append(
                    bad(
                        "unaligned",
                        f"tensor {name!r}: offset {begin} not aligned to its dtype",
                        Severity.MEDIUM,
                        tensor=name,
                    )
                )
            ranges.append((begin, end, name))
        ranges.sort()
        cursor = 0
        for begin, end, name in ranges:
            if begin < cursor:
                out.append(bad("overlap", f"tensor {name!r} overlaps the previous tensor", tensor=name))
            elif begin > cursor:
                out.append(
                    bad(
                        "gap",
                        f"{begin - cursor} unreferenced bytes before tensor {name!r}",
                        tensor=name,
                        gap=begin - cursor,
                    )
                )
            cursor = max(cursor, end)
        if cursor < data_len:
            out.append(
                bad(
                    "trailing_bytes",
                    f"{data_len - cursor} bytes after the last tensor",
                    trailing=data_len - cursor,
                )
            )
        return out
