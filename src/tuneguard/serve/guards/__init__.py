"""Guards the gateway applies to prompts and responses; `build_guards` turns a ServePolicy into guard sets."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tuneguard.core.policy import ServePolicy

from . import canary, injection, pii  # noqa: F401  (registers the guard classes)
from .base import GUARDS, Guard, GuardHit, Span, register_guard
from .judge import judge_error, judge_fn, judge_pairs
from .pipeline import GuardSet, Placeholders, StreamRedactor, Verdict


def build_guards(policy: ServePolicy, templates: Iterable[str | Path] = ()) -> tuple[GuardSet, GuardSet]:
    """(input guards, output guards) as the policy configures them."""
    inputs: list[Guard] = [
        GUARDS["input_pii"](policy.input_pii),
        GUARDS["input_injection"](policy.input_injection, templates=tuple(templates)),
    ]
    outputs: list[Guard] = [GUARDS["output_pii"](policy.output_pii)]
    if policy.canaries:
        outputs.append(GUARDS["output_canary"](policy.output_canary, canaries=policy.canaries))
    return GuardSet(inputs), GuardSet(outputs)


__all__ = [
    "GUARDS",
    "Guard",
    "GuardHit",
    "GuardSet",
    "Placeholders",
    "Span",
    "StreamRedactor",
    "Verdict",
    "build_guards",
    "judge_error",
    "judge_fn",
    "judge_pairs",
    "register_guard",
]
