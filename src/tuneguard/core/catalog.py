"""The requirement catalog (DP-1 … DM-6) and the check declarations: which requirement each check covers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    area: str
    title: str
    description: str
    evidence: str
    ai_str_01: tuple[str, ...]
    owasp: tuple[str, ...]
    atlas: tuple[str, ...]

    @property
    def mapped_to(self) -> list[str]:
        return [*self.ai_str_01, *(f"OWASP {o}" for o in self.owasp), *(f"ATLAS {a}" for a in self.atlas)]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """A check a stage runs, declared once in the stage's public `CHECKS` so catalogs can show coverage."""

    id: str
    stage: str
    title: str
    requirements: tuple[str, ...]
    command: str = ""
    manual: bool = False  # evidence comes from a person (an attestation), not from automation


@dataclass(frozen=True, slots=True)
class Catalog:
    requirements: tuple[Requirement, ...]
    areas: dict[str, str] = field(default_factory=dict)
    owasp: dict[str, str] = field(default_factory=dict)
    atlas: dict[str, str] = field(default_factory=dict)
    clause_note: str = ""

    def ids(self) -> list[str]:
        return [r.id for r in self.requirements]

    def get(self, req_id: str) -> Requirement | None:
        return next((r for r in self.requirements if r.id == req_id), None)

    def coverage(self, checks: list[CheckSpec]) -> dict[str, list[CheckSpec]]:
        """Requirement id -> the checks that produce evidence for it (empty list = not covered)."""
        cover: dict[str, list[CheckSpec]] = {r.id: [] for r in self.requirements}
        for check in checks:
            for req in check.requirements:
                if req in cover:
                    cover[req].append(check)
        return cover


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    raw = json.loads(resources.files("tuneguard.core").joinpath("requirements.json").read_text("utf-8"))
    reqs = tuple(
        Requirement(
            id=r["id"],
            area=r["area"],
            title=r["title"],
            description=r["description"],
            evidence=r["evidence"],
            ai_str_01=tuple(r["ai_str_01"]),
            owasp=tuple(r["owasp"]),
            atlas=tuple(r["atlas"]),
        )
        for r in raw["requirements"]
    )
    return Catalog(reqs, raw["areas"], raw["owasp_llm_2025"], raw["mitre_atlas"], raw["clause_note"])


# Checks that core itself provides (manual evidence through `tuneguard ledger attest`).
CORE_CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        "core.attestation",
        "ledger",
        "Manual attestation (provider agreement, human sign-off)",
        ("BM-2",),
        "tuneguard ledger attest",
        manual=True,
    ),
    CheckSpec(
        "core.ledger_integrity",
        "ledger",
        "Hash-chain verification of the evidence ledger",
        ("DM-2",),
        "tuneguard ledger verify",
    ),
)
