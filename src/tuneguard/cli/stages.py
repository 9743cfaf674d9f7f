"""Which stage packages are installed, and the checks they declare (for `clauses`, `doctor`, reports)."""
from __future__ import annotations

import importlib

from tuneguard.core import CORE_CHECKS, CheckSpec

STAGE_PACKAGES = ("data", "model", "probe", "train", "registry", "serve", "report")


def installed_checks() -> list[CheckSpec]:
    """Every check declared by core and by the stage packages that exist in this build."""
    checks = list(CORE_CHECKS)
    for name in STAGE_PACKAGES:
        try:
            module = importlib.import_module(f"tuneguard.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tuneguard.{name}":
                continue
            raise
        checks.extend(getattr(module, "CHECKS", ()))
    return checks
