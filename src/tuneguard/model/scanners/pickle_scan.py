"""Pickle scanner: plain pickles (.pkl/.pt/.bin/.ckpt/.joblib/...) and the legacy PyTorch format (several
pickles in a row, then raw storage bytes). Classifies every import against the allowlist."""

from __future__ import annotations

from typing import BinaryIO

from tuneguard.core import Finding, Severity

from ..detect import PICKLE_FIRST_OPCODES
from ..types import Blob, ScanContext, Scanner
from .pickle_policy import classify_global
from .pickle_walk import PickleWalk, walk_pickle

LEGACY_PICKLES = 5  # magic, protocol, sys_info, the object, storage keys
MAX_STREAMS = 64


def findings_for_walk(walk: PickleWalk, blob: Blob, ctx: ScanContext, stream: int) -> list[Finding]:
    out: list[Finding] = []
    seen: dict[str, int] = {}
    for ref in walk.globals:
        verdict = classify_global(ref.module, ref.name)
        if verdict.severity is None:
            continue
        if verdict.name in seen:
            seen[verdict.name] += 1
            continue
        seen[verdict.name] = 1
        check = (
            "model.pickle.dangerous_global"
            if verdict.severity is Severity.CRITICAL
            else "model.pickle.unallowed_global"
        )
        called = any(c == f"{ref.module}.{ref.name}" for c, _ in walk.calls)
        out.append(
            ctx.finding(
                check,
                verdict.severity,
                f"pickle imports {verdict.name}: {verdict.reason}",
                blob,
                **{
                    "global": verdict.name,
                    "opcode": ref.opcode,
                    "offset": ref.offset,
                    "called": called,
                    "stream": stream,
                },
            )
        )
    for target, offset in walk.mutations:
        out.append(
            ctx.finding(
                "model.pickle.global_mutation",
                Severity.CRITICAL,
                f"BUILD sets attributes on the imported object {target} (load-time monkeypatching)",
                blob,
                target=target,
                offset=offset,
                stream=stream,
            )
        )
    for what, offset in walk.unresolved:
        out.append(
            ctx.finding(
                "model.pickle.unresolved_import", Severity.HIGH, what, blob, offset=offset, stream=stream
            )
        )
    if walk.error:
        out.append(
            ctx.finding(
                "model.pickle.malformed",
                Severity.HIGH,
                f"malformed or truncated pickle (a loader would run every import before this "
                f"point): {walk.error}",
                blob,
                offset=walk.error_offset,
                stream=stream,
            )
        )
    for i, (data, offset) in enumerate(walk.nested):
        inner = Blob.from_bytes(data, f"{blob.name}@{offset}", blob.depth + 1)
        nested = ctx.scan_blob(inner, "pickle")
        for f in nested:
            if f.severity.at_least(Severity.HIGH):
                out.append(
                    ctx.finding(
                        "model.pickle.nested_pickle",
                        f.severity,
                        f"pickle embedded as bytes (argument #{i}) contains: {f.message}",
                        blob,
                        offset=offset,
                        inner=f.evidence,
                    )
                )
        if not nested:
            out.append(
                ctx.finding(
                    "model.pickle.nested_pickle",
                    Severity.MEDIUM,
                    "pickle embedded as bytes; only allowlisted imports inside",
                    blob,
                    offset=offset,
                )
            )
    return out


def scan_pickle_stream(fh: BinaryIO, blob: Blob, ctx: ScanContext, legacy: bool = False) -> list[Finding]:
    """Scan pickles back to back until the data stops looking like a pickle (all five in legacy torch)."""
    findings: list[Finding] = []
    stream = 0
    pos = fh.tell()
    while stream < MAX_STREAMS:
        walk = walk_pickle(fh, pos)
        findings.extend(findings_for_walk(walk, blob, ctx, stream))
        stream += 1
        if walk.error:
            break
        pos = walk.end
        nxt = fh.read(1)
        if not nxt:
            break
        fh.seek(pos)
        if legacy and stream < LEGACY_PICKLES:
            continue
        if legacy:
            break  # raw storage bytes follow; torch reads them with its own reader, never as pickle
        if nxt[0] not in PICKLE_FIRST_OPCODES:
            findings.append(
                ctx.finding(
                    "model.pickle.trailing_data",
                    Severity.MEDIUM,
                    "bytes after the pickle's STOP opcode",
                    blob,
                    offset=pos,
                )
            )
            break
    return findings


class PickleScanner(Scanner):
    name = "pickle"
    formats = ("pickle", "pytorch-legacy")
    description = "Static opcode walk of pickle streams against an allowlist of model-loading callables"

    def scan(self, blob: Blob, ctx: ScanContext) -> list[Finding]:
        legacy = ctx.formats.get(blob.name) == "pytorch-legacy"
        with blob.opener() as fh:
            return scan_pickle_stream(fh, blob, ctx, legacy=legacy)
