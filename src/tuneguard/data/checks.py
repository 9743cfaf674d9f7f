"""Which data checks a run performs: `--checks` names (pii, secrets, clean, poison, or single check ids)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CLEAN_CHECKS = (
    "malformed_json",
    "invalid_utf8",
    "empty_record",
    "overlong_record",
    "broken_chat",
    "control_chars",
    "exact_duplicate",
    "near_duplicate",
)
GROUPS = ("pii", "secrets", "clean", "poison")


@dataclass(frozen=True)
class CheckSelection:
    pii: bool = True
    secrets: bool = True
    entities: frozenset[str] | None = None  # None = every entity of the selected groups
    clean: frozenset[str] = frozenset(CLEAN_CHECKS)
    poison: frozenset[str] | None = None  # None = every poisoning check; empty = none

    @property
    def run_poison(self) -> bool:
        return self.poison is None or bool(self.poison)

    def entity_filter(self, known: Iterable[str]) -> frozenset[str]:
        known = set(known)
        unknown = (self.entities or set()) - known
        if unknown:
            raise ValueError(f"unknown entity check(s): {', '.join(sorted(unknown))}")
        chosen = {e for e in known if (self.secrets if e.startswith("SECRET_") else self.pii)}
        return frozenset(chosen | (self.entities or set()))

    def names(self) -> list[str]:
        out = [g for g, on in (("pii", self.pii), ("secrets", self.secrets)) if on]
        out += [f"data.pii.{e}" for e in sorted(self.entities or ())]
        out += [f"data.clean.{c}" for c in sorted(self.clean)]
        if self.poison is None:
            out.append("poison")
        else:
            out += sorted(self.poison)
        return out


def parse_checks(names: Iterable[str]) -> CheckSelection:
    """Parse check names; an empty list selects every default check. Unknown names raise ValueError."""
    names = [n.strip() for raw in names for n in raw.split(",") if n.strip()]
    if not names:
        return CheckSelection()
    pii = secrets = False
    entities: set[str] = set()
    clean: set[str] = set()
    poison: set[str] = set()
    all_poison = False
    for name in names:
        short = name.removeprefix("data.")
        if short in ("pii", "secrets", "secret"):
            pii = pii or short == "pii"
            secrets = secrets or short != "pii"
        elif short == "clean":
            clean.update(CLEAN_CHECKS)
        elif short == "poison":
            all_poison = True
        elif short.startswith("pii.") or short.startswith("secret."):
            group, _, entity = short.partition(".")
            entities.add(entity if group == "pii" else f"SECRET_{entity}")
        elif short.startswith("clean.") and short[6:] in CLEAN_CHECKS:
            clean.add(short[6:])
        elif short.startswith("poison."):
            poison.add(f"data.{short}")
        else:
            raise ValueError(
                f"unknown check {name!r} (use pii, secrets, clean, poison, data.pii.<ENTITY>, "
                f"data.secret.<KIND>, data.clean.<CHECK> or data.poison.<CHECK>)"
            )
    return CheckSelection(
        pii=pii,
        secrets=secrets,
        entities=frozenset(entities) if entities else None,
        clean=frozenset(clean),
        poison=None if all_poison else frozenset(poison),
    )
