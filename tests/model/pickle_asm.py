"""A tiny pickle assembler for tests: write exact opcode sequences (the tricks scanners miss) without any
class whose __reduce__ would have to be defined or run."""

from __future__ import annotations

import struct


def proto(n: int) -> bytes:
    return b"\x80" + bytes([n])


def frame(n: int) -> bytes:
    return b"\x95" + struct.pack("<Q", n)


def sbu(s: str) -> bytes:  # SHORT_BINUNICODE
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def binunicode(s: str) -> bytes:
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def string0(s: str) -> bytes:  # protocol-0 STRING
    return b"S'" + s.encode() + b"'\n"


def unicode0(s: str) -> bytes:  # protocol-0 UNICODE
    return b"V" + s.encode() + b"\n"


def sbbytes(b: bytes) -> bytes:  # SHORT_BINBYTES / BINBYTES
    return (b"C" + bytes([len(b)]) + b) if len(b) < 256 else (b"B" + struct.pack("<I", len(b)) + b)


def glob(module: str, name: str) -> bytes:  # GLOBAL
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def inst(module: str, name: str) -> bytes:  # INST (after MARK + args)
    return b"i" + module.encode() + b"\n" + name.encode() + b"\n"


def binput(i: int) -> bytes:
    return b"q" + bytes([i])


def binget(i: int) -> bytes:
    return b"h" + bytes([i])


def long_binput(i: int) -> bytes:
    return b"r" + struct.pack("<I", i)


def long_binget(i: int) -> bytes:
    return b"j" + struct.pack("<I", i)


def binint1(i: int) -> bytes:
    return b"K" + bytes([i])


MEMOIZE, STACK_GLOBAL, REDUCE, STOP, MARK = b"\x94", b"\x93", b"R", b".", b"("
TUPLE1, TUPLE2, TUPLE3, TUPLE, EMPTY_TUPLE, EMPTY_DICT, EMPTY_LIST = (
    b"\x85",
    b"\x86",
    b"\x87",
    b"t",
    b")",
    b"}",
    b"]",
)
OBJ, BUILD, POP, APPENDS, SETITEM, NEWOBJ, LIST = b"o", b"b", b"0", b"e", b"s", b"\x81", b"l"


def call(module: str, name: str, *args: str, p: int = 4) -> bytes:
    """module.name(*args) with STACK_GLOBAL (protocol 4)."""
    body = sbu(module) + MEMOIZE + sbu(name) + MEMOIZE + STACK_GLOBAL + MEMOIZE
    body += MARK + b"".join(sbu(a) for a in args) + TUPLE + REDUCE + STOP
    return proto(p) + body
