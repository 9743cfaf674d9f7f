"""Training data: chat, instruction and prompt/completion records become chats; bad input names the file."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tuneguard.core import UserError
from tuneguard.train import load_chat_records


def _write(path: Path, rows: list) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def test_three_formats_become_chats(tmp_path: Path):
    path = _write(
        tmp_path / "d.jsonl",
        [
            {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
            {"instruction": "Translate", "input": "chat", "output": "cat"},
            {"prompt": "2+2?", "completion": "4"},
            {
                "prompt": [{"role": "user", "content": "q"}],
                "completion": [{"role": "assistant", "content": "a"}],
            },
            {"text": "no chat here"},
        ],
    )
    records = load_chat_records(path)
    assert records.formats == {"messages": 1, "instruction": 1, "prompt_completion": 2}
    assert records.lines == [1, 2, 3, 4]
    assert records.chats[1] == [
        {"role": "user", "content": "Translate\n\nchat"},
        {"role": "assistant", "content": "cat"},
    ]
    assert list(records.skipped) == [5]


def test_json_array_is_accepted(tmp_path: Path):
    path = tmp_path / "d.json"
    path.write_bytes(orjson.dumps([{"prompt": "p", "completion": "c"}]))
    assert len(load_chat_records(path).chats) == 1


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("d.csv", b"a,b\n1,2\n", "unsupported data format"),
        ("d.jsonl", b'{"text": "x"}\n', "no chat records"),
        ("d.jsonl", b"", "no chat records"),
        ("d.jsonl", b'{"prompt": "p", "completion": "c"}\n{oops\n', "line 2: invalid JSON"),
        ("d.jsonl", b'{"messages": [{"role": "robot", "content": "x"}]}\n', "no chat records"),
    ],
)
def test_bad_input_names_the_problem(tmp_path: Path, name: str, content: bytes, needle: str):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UserError, match=needle) as info:
        load_chat_records(path)
    assert name in str(info.value)
