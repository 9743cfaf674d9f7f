"""Static pickle analysis: walk the opcodes with pickletools and simulate just enough of the stack to name
every import (GLOBAL, STACK_GLOBAL, INST, OBJ, REDUCE targets, names fetched through the memo). Nothing is
ever unpickled."""

from __future__ import annotations

import pickletools
from dataclasses import dataclass, field
from typing import BinaryIO

_MARK = object()


class _Unknown:
    __slots__ = ()


UNKNOWN = _Unknown()


@dataclass(frozen=True, slots=True)
class GlobalRef:
    module: str
    name: str
    opcode: str
    offset: int


@dataclass
class PickleWalk:
    """What one pickle stream imports and calls, plus where it went wrong (if it did)."""

    globals: list[GlobalRef] = field(default_factory=list)
    calls: list[tuple[str, int]] = field(default_factory=list)  # (callable "mod.name" or "?", offset)
    unresolved: list[tuple[str, int]] = field(default_factory=list)  # STACK_GLOBAL/EXT we could not name
    nested: list[tuple[bytes, int]] = field(default_factory=list)  # byte strings that are pickles themselves
    mutations: list[tuple[str, int]] = field(default_factory=list)  # BUILD applied to an imported object
    error: str | None = None
    error_offset: int | None = None
    end: int = 0  # offset just past STOP
    opcodes: int = 0
    protocol: int = 0


def _looks_like_pickle(data: bytes) -> bool:
    return len(data) > 4 and data[0] == 0x80 and 2 <= data[1] <= 5 and data.rstrip()[-1:] == b"."


def _pop_mark(stack: list) -> list:
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is _MARK:
            items = stack[i + 1 :]
            del stack[i:]
            return items
    raise ValueError("MARK not found on the stack")


def walk_pickle(fh: BinaryIO, start: int = 0, max_opcodes: int = 50_000_000) -> PickleWalk:
    """Walk one pickle from the current position of `fh` up to and including its STOP."""
    out = PickleWalk()
    stack: list = []
    memo: dict[int, object] = {}
    pos = start
    try:
        for op, arg, pos in pickletools.genops(fh):
            pos = pos if pos is not None else start
            out.opcodes += 1
            if out.opcodes > max_opcodes:
                raise ValueError(f"more than {max_opcodes} opcodes")
            _step(op.name, arg, pos, stack, memo, out)
            if op.name == "STOP":
                out.end = fh.tell() if hasattr(fh, "tell") else 0
                return out
        raise ValueError("stream ended before STOP")
    except Exception as exc:  # noqa: BLE001 - malformed input is a finding, never a crash
        out.error = f"{type(exc).__name__}: {exc}"
        out.error_offset = pos
        return out


def _step(name: str, arg: object, pos: int, stack: list, memo: dict, out: PickleWalk) -> None:  # noqa: C901
    if name in ("PROTO",):
        out.protocol = int(arg)  # type: ignore[arg-type]
    elif name in ("FRAME", "STOP", "NEXT_BUFFER", "READONLY_BUFFER"):
        if name == "NEXT_BUFFER":
            stack.append(UNKNOWN)
    elif name in (
        "STRING",
        "BINSTRING",
        "SHORT_BINSTRING",
        "UNICODE",
        "SHORT_BINUNICODE",
        "BINUNICODE",
        "BINUNICODE8",
    ):
        stack.append(arg)
    elif name in ("BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8"):
        data = bytes(arg)  # type: ignore[arg-type]
        if _looks_like_pickle(data):
            out.nested.append((data, pos))
        stack.append(data)
    elif name in (
        "INT",
        "BININT",
        "BININT1",
        "BININT2",
        "LONG",
        "LONG1",
        "LONG4",
        "FLOAT",
        "BINFLOAT",
        "NONE",
        "NEWTRUE",
        "NEWFALSE",
    ):
        stack.append(arg)
    elif name == "MARK":
        stack.append(_MARK)
    elif name in ("GLOBAL", "INST"):
        module, _, attr = str(arg).partition(" ")
        ref = GlobalRef(module, attr, name, pos)
        out.globals.append(ref)
        if name == "INST":
            _pop_mark(stack)
            out.calls.append((f"{module}.{attr}", pos))
            stack.append(UNKNOWN)
        else:
            stack.append(ref)
    elif name == "STACK_GLOBAL":
        attr, module = stack.pop(), stack.pop()
        if isinstance(module, str) and isinstance(attr, str):
            ref = GlobalRef(module, attr, name, pos)
            out.globals.append(ref)
            stack.append(ref)
        else:
            out.unresolved.append(("STACK_GLOBAL with operands that are not constant strings", pos))
            stack.append(UNKNOWN)
    elif name in ("EXT1", "EXT2", "EXT4"):
        out.unresolved.append((f"{name} {arg}: import through the copyreg extension registry", pos))
        stack.append(UNKNOWN)
    elif name == "REDUCE":
        stack.pop()
        func = stack.pop()
        out.calls.append((_callable_name(func), pos))
        stack.append(UNKNOWN)
    elif name == "OBJ":
        items = _pop_mark(stack)
        if not items:
            raise ValueError("OBJ without a class")
        out.calls.append((_callable_name(items[0]), pos))
        stack.append(UNKNOWN)
    elif name == "NEWOBJ":
        stack.pop()
        out.calls.append((_callable_name(stack.pop()), pos))
        stack.append(UNKNOWN)
    elif name == "NEWOBJ_EX":
        stack.pop()
        stack.pop()
        out.calls.append((_callable_name(stack.pop()), pos))
        stack.append(UNKNOWN)
    elif name == "BUILD":
        stack.pop()
        if not stack:
            raise IndexError("BUILD on an empty stack")
        if isinstance(stack[-1], GlobalRef):  # setattr on a module-level object: monkeypatching at load time
            out.mutations.append((_callable_name(stack[-1]), pos))
    elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
        memo[int(arg)] = stack[-1]  # type: ignore[arg-type]
    elif name == "MEMOIZE":
        memo[len(memo)] = stack[-1]
    elif name in ("GET", "BINGET", "LONG_BINGET"):
        if int(arg) not in memo:  # type: ignore[arg-type]
            raise KeyError(f"memo key {arg} read before it was written")
        stack.append(memo[int(arg)])  # type: ignore[arg-type]
    elif name == "POP":
        stack.pop()
    elif name == "POP_MARK":
        _pop_mark(stack)
    elif name == "DUP":
        stack.append(stack[-1])
    elif name in ("EMPTY_LIST", "EMPTY_DICT", "EMPTY_TUPLE", "EMPTY_SET"):
        stack.append(UNKNOWN)
    elif name in ("TUPLE", "LIST", "DICT", "FROZENSET"):
        _pop_mark(stack)
        stack.append(UNKNOWN)
    elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
        for _ in range(int(name[-1])):
            stack.pop()
        stack.append(UNKNOWN)
    elif name == "APPEND":
        stack.pop()
    elif name == "SETITEM":
        stack.pop()
        stack.pop()
    elif name in ("APPENDS", "SETITEMS", "ADDITEMS"):
        _pop_mark(stack)
    elif name == "PERSID":
        stack.append(UNKNOWN)
    elif name == "BINPERSID":
        stack.pop()
        stack.append(UNKNOWN)
    else:
        raise ValueError(f"unhandled opcode {name}")


def _callable_name(value: object) -> str:
    return f"{value.module}.{value.name}" if isinstance(value, GlobalRef) else "?"
