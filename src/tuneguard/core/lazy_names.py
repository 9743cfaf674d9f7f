"""Package attributes loaded from their submodule on first access (PEP 562), so importing a package costs
only the submodules whose names a caller actually uses."""
from __future__ import annotations

import importlib
import sys

TYPE_CHECKING = False  # not `typing`: this module is on the console entry point's first import path
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


def lazy_getattr(package: str, where: Mapping[str, tuple[str, str]]) -> Callable[[str], object]:
    """A module `__getattr__` for `package`: public name -> (submodule, the name there). A loaded name is
    stored on the package, so later lookups skip the hook."""

    def __getattr__(name: str) -> object:
        spot = where.get(name)
        if spot is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{spot[0]}", package), spot[1])
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
