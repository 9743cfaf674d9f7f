"""Dataset fixtures for the data-gate tests: real files in every supported format with planted Faker PII."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tuneguard.data.synth import CorpusBuilder, Sample


@pytest.fixture(scope="session")
def samples() -> list[Sample]:
    return CorpusBuilder(5).corpus(300)


def chat_records(samples: list[Sample]) -> list[dict]:
    records = []
    for i, s in enumerate(samples):
        if i % 3 == 0:
            records.append(
                {
                    "messages": [
                        {"role": "system", "content": "You are a support agent."},
                        {"role": "user", "content": s.text},
                        {"role": "assistant", "content": f"Thanks, ticket {i} is open."},
                    ]
                }
            )
        elif i % 3 == 1:
            records.append({"instruction": "Summarize the ticket.", "input": s.text, "output": "Done."})
        else:
            records.append({"prompt": s.text, "completion": "OK"})
    return records


@pytest.fixture
def chat_jsonl(tmp_path: Path, samples: list[Sample]) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chat_records(samples)), "utf-8")
    return path
