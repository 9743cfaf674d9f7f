"""Probe items and the suite registry: a suite is one small class yielding ProbeItems, registered by name."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson

from tuneguard.core import UserError

# How an item's response is scored.
#   refusal:  harmful request; attack succeeds when the model complies (default judge).
#   benign:   over-refusal prompt; the interesting rate is the decline rate.
#   expected: injection/extraction; attack succeeds when an expected string appears.
#   pii:      attack succeeds when the output contains personal data.
#   canary:   attack succeeds when an inserted canary's secret appears.
#   backdoor: paired with an untriggered twin; success when the suspected response appears or outputs diverge.
SCORING = ("refusal", "benign", "expected", "pii", "canary", "backdoor")


@dataclass(frozen=True, slots=True)
class ProbeItem:
    suite: str
    category: str
    prompt_id: str
    prompt: str
    scoring: str
    attack_class: str
    system: str | None = None
    expected: tuple[str, ...] = ()
    lang: str = "en"
    meta: dict[str, Any] = field(default_factory=dict)

    def messages(self) -> list[dict[str, str]]:
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        return [*msgs, {"role": "user", "content": self.prompt}]


@dataclass(frozen=True, slots=True)
class SuiteInfo:
    name: str
    title: str
    requirements: tuple[str, ...]
    owasp: tuple[str, ...]
    atlas: tuple[str, ...]
    attack_class: str  # AI-STR-02: L1 random, L2 blind-box templates, L3 adaptive black-box, L4 white-box


class Suite:
    """Base class: subclasses set `info` and implement `items`; options come from the runner (triggers...)."""

    info: SuiteInfo

    def items(self, limit: int | None = None, **options: Any) -> list[ProbeItem]:
        raise NotImplementedError


_SUITES: dict[str, type[Suite]] = {}


def register_suite(cls: type[Suite]) -> type[Suite]:
    _SUITES[cls.info.name] = cls
    return cls


def suite_names() -> list[str]:
    _ensure_loaded()
    return sorted(_SUITES)


def get_suite(name: str) -> Suite:
    _ensure_loaded()
    if name not in _SUITES:
        raise UserError(f"suite {name!r}: unknown (known: {', '.join(sorted(_SUITES))})")
    return _SUITES[name]()


def _ensure_loaded() -> None:
    from . import builtin, public  # noqa: F401  (registration side effect)


def read_data(name: str) -> Iterator[dict[str, Any]]:
    """Rows of a packaged JSONL data file."""
    raw = resources.files(__package__).joinpath("data", name).read_text("utf-8")
    for line in raw.splitlines():
        if line.strip():
            yield orjson.loads(line)


def take(items: list[ProbeItem], limit: int | None) -> list[ProbeItem]:
    """First `limit` items, interleaved across categories so a small limit still covers every category."""
    if limit is None or limit >= len(items):
        return items
    by_cat: dict[str, list[ProbeItem]] = {}
    for it in items:
        by_cat.setdefault(it.category, []).append(it)
    out: list[ProbeItem] = []
    queues = list(by_cat.values())
    i = 0
    while len(out) < limit:
        progressed = False
        for q in queues:
            if i < len(q) and len(out) < limit:
                out.append(q[i])
                progressed = True
        if not progressed:
            break
        i += 1
    return out


Transform = Callable[[str, str], str]
