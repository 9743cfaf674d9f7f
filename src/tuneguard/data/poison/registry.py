"""The registry of poisoning checks by short name, and the scan entry point that runs them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from tuneguard.core import CheckSpec, UserError

from .checks import BackdoorTriggerCheck, NearDuplicateFloodCheck, PoisonCheck, ResponseClusterCheck
from .corpus import Corpus, ScanSettings
from .model import PoisonFinding, TuningExample
from .signals import EmbeddingOutlierCheck, HarmfulResponseCheck, LabelFlipCheck

_ALL: tuple[type[PoisonCheck], ...] = (
    BackdoorTriggerCheck,
    ResponseClusterCheck,
    NearDuplicateFloodCheck,
    LabelFlipCheck,
    HarmfulResponseCheck,
    EmbeddingOutlierCheck,
)

#: short check name -> check class; iterate it for the names `--checks` accepts.
POISON_CHECKS: Mapping[str, type[PoisonCheck]] = MappingProxyType({c.name: c for c in _ALL})

#: the checks run when the caller selects none (embedding outliers are opt-in: they load a model).
DEFAULT_CHECKS: frozenset[str] = frozenset(POISON_CHECKS) - {"embedding_outlier"}

POISON_CHECK_SPECS: tuple[CheckSpec, ...] = tuple(
    CheckSpec(f"data.poison.{c.name}", "data", c.title, c.requirements, "tuneguard data scan") for c in _ALL
)


def _short(name: str) -> str:
    return name.removeprefix("data.poison.")


def scan_poisoning(
    examples: Sequence[TuningExample],
    checks: set[str] | None = None,
    settings: ScanSettings | None = None,
    threads: int = 1,
) -> list[PoisonFinding]:
    """Run the selected poisoning checks (short names or full `data.poison.*` ids; names of other checks, such
    as the data gate's PII checks, are ignored) and return their findings, most suspicious first. With
    `threads` > 1 the costly statistics are computed up front, the n-gram index in the background
    (`Corpus.prepare`); the findings are the same."""
    if checks is None:
        selected = set(DEFAULT_CHECKS)
    else:
        selected = {_short(c) for c in checks} & set(POISON_CHECKS)
        unknown = {_short(c) for c in checks if c.startswith("data.poison.")} - set(POISON_CHECKS)
        if unknown:
            raise UserError(
                f"unknown poisoning check(s): {', '.join(sorted(unknown))}; known: {', '.join(POISON_CHECKS)}"
            )
    if not selected or not examples:
        return []
    corpus = Corpus(examples, settings, threads=threads)
    names = [name for name in POISON_CHECKS if name in selected]  # registry order
    by_check: dict[str, list[PoisonFinding]] = {}
    try:
        corpus.prepare({stat for name in names for stat in POISON_CHECKS[name].statistics})
        # The checks that do not read the n-gram index run first, so that with threads they run while the
        # index is built in the background instead of after it; those that read it keep registry order (the
        # harmful check reuses the triggers the backdoor check mined). Checks are pure functions of the
        # corpus, so the order they run in changes no finding, and findings are gathered in registry order.
        for name in sorted(names, key=lambda n: "grams" in POISON_CHECKS[n].statistics):
            by_check[name] = POISON_CHECKS[name]().run(corpus)
    finally:
        corpus.close()
    findings = [f for name in names for f in by_check[name]]
    findings.sort(key=lambda f: (-f.severity.rank, -f.score))
    return findings
