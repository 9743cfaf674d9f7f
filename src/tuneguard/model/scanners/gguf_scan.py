"""GGUF scanner: header and metadata sanity through the `gguf` package reader, and the chat template(s)
checked as Jinja."""

from __future__ import annotations

import struct

from tuneguard.core import Finding, Severity

from ..types import Blob, ScanContext, Scanner

MAX_COUNT = 1 << 24


class GgufScanner(Scanner):
    name = "gguf"
    formats = ("gguf",)
    description = "GGUF header/metadata sanity and tokenizer.chat_template Jinja check"

    def scan(self, blob: Blob, ctx: ScanContext) -> list[Finding]:
        with blob.opener() as fh:
            head = fh.read(24)
        if len(head) < 24:
            return [
                ctx.finding("model.gguf.truncated", Severity.HIGH, "file shorter than a GGUF header", blob)
            ]
        version, n_tensors, n_kv = struct.unpack("<IQQ", head[4:24])
        out: list[Finding] = []
        if version not in (2, 3):
            out.append(
                ctx.finding(
                    "model.gguf.version",
                    Severity.MEDIUM,
                    f"unexpected GGUF version {version}",
                    blob,
                    version=version,
                )
            )
        if n_tensors > MAX_COUNT or n_kv > MAX_COUNT:
            return out + [
                ctx.finding(
                    "model.gguf.absurd_counts",
                    Severity.HIGH,
                    f"{n_tensors} tensors / {n_kv} metadata keys declared",
                    blob,
                )
            ]
        if blob.path is None:
            return out + [
                ctx.finding(
                    "model.gguf.not_scanned",
                    Severity.MEDIUM,
                    "GGUF inside an archive: metadata not parsed",
                    blob,
                )
            ]
        from gguf import GGUFReader

        try:
            reader = GGUFReader(blob.path, "r")
        except Exception as exc:  # noqa: BLE001 - the reader raises many types on bad input
            return out + [
                ctx.finding(
                    "model.gguf.malformed",
                    Severity.HIGH,
                    f"GGUF reader rejected the file: {type(exc).__name__}: {exc}",
                    blob,
                )
            ]
        for tensor in reader.tensors:
            end = int(tensor.data_offset) + int(tensor.n_bytes)
            if end > blob.size:
                out.append(
                    ctx.finding(
                        "model.gguf.tensor_out_of_range",
                        Severity.HIGH,
                        f"tensor {tensor.name!r} data ends at {end}, past the file end",
                        blob,
                    )
                )
        general = {}
        for key, field in reader.fields.items():
            if key.startswith("general."):
                try:
                    general[key] = field.contents()
                except Exception:  # noqa: BLE001, S112 - odd metadata types are not a security issue
                    continue
            if not key.startswith("tokenizer.chat_template"):
                continue
            try:
                template = field.contents()
            except Exception:  # noqa: BLE001
                template = None
            if not isinstance(template, str):
                out.append(
                    ctx.finding("model.gguf.bad_template", Severity.MEDIUM, f"{key} is not a string", blob)
                )
                continue
            from ..jinja_check import check_template  # jinja2 only when a template exists

            for issue in check_template(template):
                out.append(
                    ctx.finding(
                        issue.check, issue.severity, f"{key}: {issue.message}", blob, key=key, line=issue.line
                    )
                )
        ctx.metadata[blob.name] = general
        return out
