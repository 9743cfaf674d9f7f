"""Format detection by magic bytes (never by extension alone): what a loader would actually see."""

from __future__ import annotations

import struct
import zipfile

from .types import Blob

PICKLE_EXTS = (".pkl", ".pickle", ".bin", ".pt", ".pth", ".ckpt", ".joblib")
# First bytes an unpickler accepts as an opcode: anything else fails before a single import runs.
PICKLE_FIRST_OPCODES = frozenset(b"(c}])NIJKLMFGSTUVXi\x80\x8a\x88\x89\x95")
TORCH_LEGACY_MAGIC = b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
SAFETENSORS_MAX_HEADER = 100 << 20
TEXT_EXTS = {
    ".json": "json",
    ".py": "python",
    ".jinja": "jinja",
    ".j2": "jinja",
    ".md": "text",
    ".txt": "text",
    ".yaml": "text",
    ".yml": "text",
}


def looks_like_pickle(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def zip_kind(names: list[str]) -> str:
    base = {n.rsplit("/", 1)[-1] for n in names}
    if any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
        return "pytorch-zip"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    if "config.json" in names and ("metadata.json" in names or "model.weights.h5" in base):
        return "keras"
    return "zip"


def detect_format(blob: Blob) -> str:
    lower = blob.name.lower()
    with blob.opener() as fh:
        head = fh.read(512)
        if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            try:
                fh.seek(0)
                with zipfile.ZipFile(fh) as zf:
                    return zip_kind(zf.namelist())
            except (zipfile.BadZipFile, OSError, ValueError):
                return "zip"
    if looks_like_pickle(head):
        return "pytorch-legacy" if head[2:14] == TORCH_LEGACY_MAGIC else "pickle"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"GGUF"):
        return "gguf"
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    if len(head) >= 9 and head[8:9] == b"{":
        (n,) = struct.unpack("<Q", head[:8])
        if n > 0 and (lower.endswith(".safetensors") or n + 8 <= blob.size):
            return "safetensors"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")) and (
        ".tar" in lower or lower.endswith(".tgz")
    ):
        return "tar"
    if lower.endswith(".onnx"):
        return "onnx"
    if lower.endswith((".h5", ".hdf5", ".keras")):
        return "hdf5"
    if lower.endswith(".safetensors"):
        return "safetensors"
    if _pickle_opcode_start(head) and not lower.endswith((".md", ".json", ".py", ".jinja")):
        return "pickle"  # protocol 0/1 pickles load from any extension
    for ext, fmt in TEXT_EXTS.items():
        if lower.endswith(ext):
            return fmt
    if lower.endswith(PICKLE_EXTS) and head[:1] and head[0] in PICKLE_FIRST_OPCODES:
        return "pickle"
    return "unknown"


def _pickle_opcode_start(head: bytes) -> bool:
    """Protocol 0/1 pickles have no header; a GLOBAL opcode ('c' + module newline) at the start is enough."""
    if head[:1] == b"c":
        line = head[1:64].split(b"\n", 1)[0]
        return bool(line) and all(ch == 0x2E or ch == 0x5F or chr(ch).isalnum() for ch in line)
    return head[:2] in (b"(c", b"(i", b"}q", b"]q", b"(d", b"(l", b"(S", b"(V")
