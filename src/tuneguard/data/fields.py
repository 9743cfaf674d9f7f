"""Walking records: every string field with its path (`messages[0].content`), rebuilding with new strings,
and the prompt/response view of chat, instruction and prompt-completion records."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def iter_strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from iter_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from iter_strings(item, f"{path}[{i}]")


def string_fields(value: Any) -> list[tuple[str, str]]:
    """`list(iter_strings(value))`, built by plain recursion: about 3x cheaper per record than the generator
    chain, which matters on the per-record path of `data scan`."""
    out: list[tuple[str, str]] = []
    if type(value) is dict:
        _walk_dict(value, "", out)
    else:
        _collect(value, "", out)
    return out


# The walk of parsed JSON (exact dict/list/str types, string keys): exact type tests and path prefixes built
# once per container measured 25% cheaper than `_collect` on chat records; anything else goes to `_collect`.
def _walk_dict(d: dict, prefix: str, out: list[tuple[str, str]]) -> None:
    for key, item in d.items():
        kind = type(item)
        if type(key) is not str:
            if isinstance(item, (str, dict, list)):
                _collect(item, prefix + str(key), out)
        elif kind is str:
            out.append((prefix + key, item))
        elif kind is list:
            _walk_list(item, prefix + key, out)
        elif kind is dict:
            path = prefix + key
            _walk_dict(item, path + "." if path else "", out)  # an empty key at the top adds no segment
        elif isinstance(item, (str, dict, list)):
            _collect(item, prefix + key, out)


def _walk_list(items: list, path: str, out: list[tuple[str, str]]) -> None:
    for i, item in enumerate(items):
        kind = type(item)
        if kind is dict:
            _walk_dict(item, f"{path}[{i}].", out)
        elif kind is str:
            out.append((f"{path}[{i}]", item))
        elif isinstance(item, (str, dict, list)):
            _collect(item, f"{path}[{i}]", out)


def _collect(value: Any, path: str, out: list[tuple[str, str]]) -> None:
    if isinstance(value, str):
        out.append((path, value))
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):  # the common leaf, without a call
                out.append((f"{path}.{key}" if path else str(key), item))
            elif isinstance(item, (dict, list)):
                _collect(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, (str, dict, list)):
                _collect(item, f"{path}[{i}]", out)


def map_strings(value: Any, fn: Callable[[str, str], str], path: str = "") -> Any:
    """A copy of `value` with every string replaced by fn(path, string); other values are kept as they are."""
    if isinstance(value, str):
        return fn(path, value)
    if isinstance(value, dict):
        return {k: map_strings(v, fn, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [map_strings(v, fn, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def record_text(record: dict[str, Any]) -> str:
    return "\n".join(s for _, s in iter_strings(record))


def prompt_response(record: dict[str, Any]) -> tuple[str, str] | None:
    """The tuning view of a record: user turns -> prompt, assistant turns -> response (None if not a tuning
    record)."""
    messages = record.get("messages") or record.get("conversations")
    if isinstance(messages, list):
        prompt, response = [], []
        for m in messages:
            if not isinstance(m, dict):
                continue
            role = str(m.get("role") or m.get("from") or "")
            content = m.get("content") if "content" in m else m.get("value")
            if not isinstance(content, str):
                continue
            if role in ("user", "human"):
                prompt.append(content)
            elif role in ("assistant", "gpt", "bot", "model"):
                response.append(content)
        return ("\n".join(prompt), "\n".join(response)) if prompt or response else None
    if isinstance(record.get("instruction"), str) and isinstance(record.get("output"), str):
        extra = record.get("input")
        prompt = record["instruction"] + ("\n" + extra if isinstance(extra, str) and extra else "")
        return prompt, record["output"]
    if isinstance(record.get("prompt"), str) and isinstance(record.get("completion"), str):
        return record["prompt"], record["completion"]
    return None
