"""Training data: read JSONL/JSON records and turn chat, instruction and prompt/completion forms into chats.

Accepted record shapes (one JSON object per line, or a JSON array of objects):
  {"messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}
  {"instruction": "...", "input": "...", "output": "..."}        (input optional)
  {"prompt": "...", "completion": "..."}                           (strings or TRL conversational lists)
Anything else is skipped and counted; a file with no usable chat record is bad input (exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tuneguard.core import UserError

ROLES = frozenset({"system", "user", "assistant"})
SUFFIXES = frozenset({".jsonl", ".json", ".ndjson"})

Chat = list[dict[str, str]]


@dataclass
class ChatRecords:
    path: Path
    chats: list[Chat]
    lines: list[int]  # source line (1-based) of each chat
    formats: dict[str, int] = field(default_factory=dict)
    skipped: dict[int, str] = field(default_factory=dict)  # line -> reason


def load_chat_records(path: str | Path) -> ChatRecords:
    """Read `path` and convert every record to a chat; raises UserError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--data {path}: no such file")
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(
            f"--data {path}: unsupported data format '{path.suffix or 'no suffix'}'"
            " (expected .jsonl or .json with chat, instruction or prompt/completion records)"
        )
    raw = path.read_bytes()
    out = ChatRecords(path, [], [])
    for line, obj in _objects(path, raw):
        chat, fmt = to_chat(obj)
        if chat is None:
            out.skipped[line] = fmt
            continue
        out.chats.append(chat)
        out.lines.append(line)
        out.formats[fmt] = out.formats.get(fmt, 0) + 1
    if not out.chats:
        first = next(iter(out.skipped.items()), None)
        why = f" (line {first[0]}: {first[1]})" if first else " (the file is empty)"
        raise UserError(
            f"--data {path}: no chat records found{why}; expected 'messages', "
            "'instruction'/'output' or 'prompt'/'completion' fields"
        )
    return out


def _objects(path: Path, raw: bytes):
    text = raw.lstrip()
    if path.suffix.lower() == ".json" and text.startswith(b"["):
        try:
            items = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise UserError(f"--data {path}: invalid JSON: {exc}") from None
        yield from enumerate(items, 1)
        return
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield number, orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise UserError(f"--data {path}: line {number}: invalid JSON ({exc})") from None


def to_chat(obj: Any) -> tuple[Chat | None, str]:
    """(chat, format name) or (None, reason)."""
    if not isinstance(obj, dict):
        return None, "record is not a JSON object"
    if "messages" in obj:
        chat = _messages(obj["messages"])
        return (chat, "messages") if chat else (None, "'messages' is not a list of {role, content} turns")
    if "instruction" in obj and "output" in obj:
        instruction, extra, output = obj.get("instruction"), obj.get("input") or "", obj.get("output")
        if not all(isinstance(v, str) for v in (instruction, extra, output)) or not output.strip():
            return None, "'instruction'/'input'/'output' must be strings and 'output' non-empty"
        user = f"{instruction}\n\n{extra}" if extra.strip() else instruction
        return [{"role": "user", "content": user}, {"role": "assistant", "content": output}], "instruction"
    if "prompt" in obj and "completion" in obj:
        prompt, completion = obj["prompt"], obj["completion"]
        if isinstance(prompt, str) and isinstance(completion, str) and completion.strip():
            return [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": completion},
            ], "prompt_completion"
        if isinstance(prompt, list) and isinstance(completion, list):
            chat = _messages([*prompt, *completion])
            if chat:
                return chat, "prompt_completion"
        return None, "'prompt'/'completion' must both be strings or both lists of turns"
    return None, "no 'messages', 'instruction'/'output' or 'prompt'/'completion' fields"


def _messages(turns: Any) -> Chat | None:
    if not isinstance(turns, list) or not turns:
        return None
    chat: Chat = []
    for turn in turns:
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in ROLES
            or not isinstance(turn.get("content"), str)
        ):
            return None
        chat.append({"role": turn["role"], "content": turn["content"]})
    if not any(t["role"] == "assistant" and t["content"].strip() for t in chat):
        return None
    return chat
