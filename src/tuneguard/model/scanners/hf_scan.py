"""Hugging Face folder files: remote code (`auto_map`, custom *.py modules that trust_remote_code would run)
and chat templates in tokenizer_config.json / chat_template.json / *.jinja."""

from __future__ import annotations

import json

from tuneguard.core import Finding, Severity

from ..types import Blob, ScanContext, Scanner

MAX_JSON = 64 << 20


class HfFilesScanner(Scanner):
    name = "hf_files"
    formats = ("json", "python", "jinja")
    description = "HF folder files: auto_map / custom modules (remote code), chat templates (Jinja)"

    def scan(self, blob: Blob, ctx: ScanContext) -> list[Finding]:
        fmt = ctx.formats.get(blob.name, "")
        if fmt == "python":
            return [
                ctx.finding(
                    "model.hf.custom_code",
                    Severity.HIGH,
                    "Python module shipped with the model: trust_remote_code would execute it",
                    blob,
                )
            ]
        if blob.size > MAX_JSON:
            return [
                ctx.finding("model.hf.file_too_large", Severity.MEDIUM, "text file too large to check", blob)
            ]
        with blob.opener() as fh:
            text = fh.read().decode("utf-8", errors="replace")
        if fmt == "jinja":
            return self._template(text, "template", blob, ctx)
        try:
            data = json.loads(text)
        except ValueError as exc:
            return [
                ctx.finding(
                    "model.hf.bad_json", Severity.MEDIUM, f"invalid JSON: {exc}", blob, requirements=("BM-2",)
                )
            ]
        if not isinstance(data, dict):
            return []
        out: list[Finding] = []
        if data.get("auto_map"):
            refs = data["auto_map"]
            out.append(
                ctx.finding(
                    "model.hf.auto_map",
                    Severity.HIGH,
                    "auto_map points loaders at custom code (runs with trust_remote_code)",
                    blob,
                    auto_map=refs if isinstance(refs, dict) else str(refs)[:200],
                )
            )
        if data.get("custom_pipelines"):
            out.append(ctx.finding("model.hf.custom_pipeline", Severity.HIGH, "custom pipeline code", blob))
        template = data.get("chat_template")
        if isinstance(template, str):
            out.extend(self._template(template, "chat_template", blob, ctx))
        elif isinstance(template, list):
            for item in template:
                if isinstance(item, dict) and isinstance(item.get("template"), str):
                    out.extend(
                        self._template(item["template"], f"chat_template[{item.get('name')}]", blob, ctx)
                    )
        return out

    def _template(self, text: str, key: str, blob: Blob, ctx: ScanContext) -> list[Finding]:
        from ..jinja_check import check_template  # jinja2 only when a template exists

        return [
            ctx.finding(i.check, i.severity, f"{key}: {i.message}", blob, key=key, line=i.line)
            for i in check_template(text)
        ]
