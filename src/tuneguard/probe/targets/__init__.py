"""Targets: local transformers models (with PEFT adapters), OpenAI-compatible endpoints, Python callables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuneguard.core import UserError

from .base import Generation, Messages, Target, as_messages

__all__ = ["Generation", "Messages", "Target", "as_messages", "load_target"]

_LOCAL_KEYS = {
    "max_new_tokens",
    "batch_size",
    "do_sample",
    "temperature",
    "seed",
    "device",
    "max_input_tokens",
}
_HTTP_KEYS = {
    "max_new_tokens",
    "temperature",
    "seed",
    "api_key_env",
    "concurrency",
    "timeout",
    "retries",
    "backoff",
}


def load_target(spec: str | Callable[..., Any], **gen_kwargs: Any) -> Target:
    """Resolve a target spec: `embedded`, a model folder, a .gguf file, an adapter folder,
    `openai:URL[#model]`,
    or a Python callable. Unknown or missing targets raise UserError naming the spec (exit 2)."""
    if callable(spec):
        from .pyfunc import CallableTarget

        return CallableTarget(spec, **gen_kwargs)
    spec = str(spec)
    if spec.startswith("openai:"):
        from .openai_http import OpenAITarget

        return OpenAITarget.from_spec(spec, **{k: v for k, v in gen_kwargs.items() if k in _HTTP_KEYS})
    kwargs = {k: v for k, v in gen_kwargs.items() if k in _LOCAL_KEYS}
    from tuneguard.core import adapter_base

    from .local import LocalTarget

    if spec == "embedded":
        return LocalTarget(spec, **kwargs)
    path = Path(spec).expanduser()
    if not path.exists():
        raise UserError(
            f"target {spec}: no such model, file or folder "
            "(use 'embedded', a model folder, a .gguf file, an adapter folder or openai:URL)"
        )
    if path.is_dir() and (path / "adapter_config.json").is_file():
        base = adapter_base(path)
        if base != "embedded" and not Path(base).expanduser().exists():
            raise UserError(f"target {spec}: adapter base model {base!r} not found locally")
        return LocalTarget(base, adapter=path, **kwargs)
    if path.is_dir() and not (path / "config.json").is_file():
        raise UserError(f"target {spec}: folder has neither config.json nor adapter_config.json")
    if path.is_file() and path.suffix.lower() != ".gguf":
        raise UserError(f"target {spec}: unsupported file (expected a .gguf file)")
    return LocalTarget(str(path), **kwargs)
