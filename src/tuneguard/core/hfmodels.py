"""Resolve a model spec ('embedded', a folder, a GGUF file) to a safetensors folder transformers loads fast.

Loading from GGUF dequantizes for ~17 s and Trainer refuses GGUF-loaded models, so a GGUF file is
converted once with `save_pretrained` into a cache under TUNEGUARD_HOME/models, keyed by the GGUF's
SHA-256, and every later load uses that folder (~0.1 s). Remote code is never trusted.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
from pathlib import Path

import orjson

from .embedded import embedded_model_path
from .errors import UserError
from .files import sha256_file
from .home import tuneguard_home

CONVERTED_MARKER = "tuneguard-converted.json"


MODEL_CACHE_ENV = "TUNEGUARD_MODEL_CACHE"


def models_cache() -> Path:
    """TUNEGUARD_HOME/models, or $TUNEGUARD_MODEL_CACHE to share conversions between homes (tests, CI)."""
    override = os.environ.get(MODEL_CACHE_ENV)
    if override:
        return Path(override).expanduser()
    return tuneguard_home(create=True) / "models"


def resolve_model_source(spec: str | os.PathLike[str]) -> Path:
    """'embedded' -> the packaged GGUF; otherwise an existing path (file or folder)."""
    if str(spec) == "embedded":
        return embedded_model_path()
    path = Path(spec).expanduser()
    if not path.exists():
        raise UserError(
            f"model {spec}: no such file or folder (use 'embedded', a model folder or a .gguf file)"
        )
    return path


def materialize_model(spec: str | os.PathLike[str]) -> Path:
    """Return a folder with config, tokenizer and safetensors weights for `spec`, converting GGUF once."""
    source = resolve_model_source(spec)
    if source.is_dir():
        if not (source / "config.json").is_file():
            raise UserError(f"model folder {source}: no config.json (not a Hugging Face model folder)")
        return source
    if source.suffix.lower() != ".gguf":
        raise UserError(f"model {source}: unsupported file type (expected a .gguf file or a model folder)")
    digest = _weights_sha256(source)
    target = models_cache() / f"{source.stem}-{digest[:16]}"
    if (target / CONVERTED_MARKER).is_file():
        return target
    _convert_gguf(source, digest, target)
    return target


def _convert_gguf(source: Path, digest: str, target: Path) -> None:
    import orjson
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
        # GGUF weights are dequantized to float on load; drop the quantizer marker so the result
        # saves (and later trains) as an ordinary float model.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.is_quantized = False
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / CONVERTED_MARKER).write_bytes(orjson.dumps({"source": str(source), "sha256": digest}))
        if (target / CONVERTED_MARKER).is_file():
            return  # another process finished the same conversion first
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(target)  # a stale, unmarked folder from a crashed conversion
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / CONVERTED_MARKER).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _weights_sha256(path: Path) -> str:
    # One run asks for a model's digest several times (target ids, conversion cache, lineage); weight
    # files are hundreds of MB, so within one process a file's hash is reused while its inode, size and
    # mtime are unchanged.
    st = path.stat()
    return _sha256_of(str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


@functools.lru_cache(maxsize=256)
def _sha256_of(path: str, size: int, mtime_ns: int, inode: int) -> str:
    return sha256_file(path, use_mmap=True)


def model_digest(spec: str | os.PathLike[str]) -> str:
    """SHA-256 identifying the model source: the GGUF file's hash, or the hash of a folder's weight files."""
    source = resolve_model_source(spec)
    if source.is_file():
        return _weights_sha256(source)
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(source.rglob("*")):
        if path.is_file() and path.suffix in {".safetensors", ".bin", ".json", ".gguf", ".model", ".txt"}:
            name = str(path.relative_to(source)).encode()
            digest.update(name + b"\0" + _weights_sha256(path).encode() + b"\n")
    return digest.hexdigest()


ADAPTER_MARKER = "tuneguard-adapter.json"


def adapter_base(adapter: Path) -> str:
    """The base model spec an adapter was trained on: tuneguard's marker first, then PEFT's config."""
    marker = adapter / ADAPTER_MARKER
    if marker.is_file():
        base = orjson.loads(marker.read_bytes()).get("base")
        if base:
            return str(base)
    cfg = orjson.loads((adapter / "adapter_config.json").read_bytes())
    base = cfg.get("base_model_name_or_path")
    if not base:
        raise UserError(
            f"adapter {adapter}: neither {ADAPTER_MARKER} nor adapter_config.json names a base model"
        )
    return str(base)
