"""Authorized re-identification: reverse the tokenize operator in a sanitized dataset and log the access."""

from __future__ import annotations

from pathlib import Path

import tuneguard
from tuneguard.core import Ledger, sha256_file

from .anonymize import TOKEN_RE, detokenize_text
from .fields import map_strings
from .records import DatasetFormat, DatasetReader, DatasetWriter, parse_item


def detokenize_dataset(path: str | Path, output: str | Path) -> int:
    """Write `output` with every `<tok:...>` token decrypted; returns how many tokens were reversed."""
    reader = DatasetReader(path)
    count = 0

    def back(_: str, text: str) -> str:
        nonlocal count
        n = len(TOKEN_RE.findall(text))
        if not n:
            return text
        count += n
        return detokenize_text(text)

    with DatasetWriter(output, DatasetFormat.of(Path(output))) as writer:
        for item in reader:
            record, _ = parse_item(item)
            if record is None:
                continue
            writer.columns, writer.schema = reader.columns, reader.schema
            writer.write(map_strings(record, back))
    with Ledger() as ledger:
        ledger.append(
            "data",
            {
                "action": "detokenize",
                "input_sha256": sha256_file(path),
                "output": str(output),
                "tokens": count,
                "tool_version": tuneguard.__version__,
            },
            kind="access",
        )
    return count
