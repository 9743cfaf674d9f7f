"""Probe suites: packaged probe data and public-set loaders, each declaring requirements and attack class."""

from .base import ProbeItem, Suite, SuiteInfo, get_suite, register_suite, suite_names
from .transforms import TRANSFORMS, compose

__all__ = [
    "TRANSFORMS",
    "ProbeItem",
    "Suite",
    "SuiteInfo",
    "compose",
    "get_suite",
    "register_suite",
    "suite_names",
]
