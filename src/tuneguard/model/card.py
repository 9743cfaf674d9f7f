"""Model card (README front matter) and license: parse, normalise to SPDX ids, check against ModelPolicy."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tuneguard.core import Finding, Severity
from tuneguard.core.policy import ModelPolicy

CARD_NAMES = ("README.md", "readme.md", "MODEL_CARD.md", "model_card.md")
LICENSE_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "license", "license.txt", "LICENCE")
ALIASES = {
    "apache 2.0": "apache-2.0",
    "apache2": "apache-2.0",
    "apache-2": "apache-2.0",
    "apache license 2.0": "apache-2.0",
    "mit license": "mit",
    "cc-by-nc": "cc-by-nc-4.0",
    "llama-3.2": "llama3.2",
    "bsd": "bsd-3-clause",
    "gpl-3": "gpl-3.0",
    "agpl": "agpl-3.0",
    "agpl-3": "agpl-3.0",
}
USE_HEADINGS = re.compile(
    r"^#+\s*(intended uses?|uses|direct use|intended use & limitations|"
    r"intended uses & limitations)\s*$",
    re.I | re.M,
)


@dataclass
class ModelCard:
    present: bool = False
    path: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    license: str | None = None
    license_source: str = ""
    base_model: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    intended_use: str | None = None
    parse_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["metadata"] = {
            k: v for k, v in self.metadata.items() if isinstance(v, str | int | float | bool | list)
        }
        return d


def normalize_license(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str) or not value.strip():
        return None
    v = value.strip().lower()
    return ALIASES.get(v, v)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float)]
    return []


def split_front_matter(text: str) -> tuple[str | None, str]:
    if not text.startswith("---"):
        return None, text
    end = text.find("\n---", 3)
    if end < 0:
        return None, text
    return text[3:end], text[end + 4 :]


def _license_from_text(text: str) -> str | None:
    head = text[:2000].lower()
    if "apache license" in head and "version 2.0" in head:
        return "apache-2.0"
    if "permission is hereby granted, free of charge" in head:
        return "mit"
    if "attribution-noncommercial" in head:
        return "cc-by-nc-4.0"
    if "gnu affero general public license" in head:
        return "agpl-3.0"
    return None


def read_model_card(folder: Path) -> ModelCard:
    import yaml

    card = ModelCard()
    path = next((folder / n for n in CARD_NAMES if (folder / n).is_file()), None)
    if path is not None:
        card.present, card.path = True, path.name
        text = path.read_text("utf-8", errors="replace")
        front, body = split_front_matter(text)
        if front is not None:
            try:
                meta = yaml.safe_load(front) or {}
                card.metadata = meta if isinstance(meta, dict) else {}
            except yaml.YAMLError as exc:
                card.parse_error = f"front matter is not valid YAML: {str(exc).splitlines()[0]}"
        meta = card.metadata
        card.license = normalize_license(meta.get("license"))
        if card.license == "other" and meta.get("license_name"):
            card.license = f"other:{str(meta['license_name']).lower()}"
        card.license_source = "model card" if card.license else ""
        card.base_model = _as_list(meta.get("base_model"))
        card.datasets = _as_list(meta.get("datasets"))
        match = USE_HEADINGS.search(body)
        if match:
            para = body[match.end() :].strip().split("\n\n", 1)[0].strip()
            card.intended_use = para[:500] or None
    if card.license is None:
        lic = next((folder / n for n in LICENSE_FILES if (folder / n).is_file()), None)
        if lic is not None:
            card.license = _license_from_text(lic.read_text("utf-8", errors="replace"))
            card.license_source = f"{lic.name} text" if card.license else ""
    return card


def card_findings(card: ModelCard, policy: ModelPolicy, subject: str, folder: bool = True) -> list[Finding]:
    out: list[Finding] = []

    def add(check: str, sev: Severity, msg: str, reqs: tuple[str, ...], **ev: Any) -> None:
        out.append(
            Finding(
                check=check,
                severity=sev,
                message=msg,
                requirements=reqs,
                subject=subject,
                location={"file": card.path or subject},
                evidence=ev,
            )
        )

    if folder and not card.present:
        add(
            "model.card.missing",
            Severity.HIGH if policy.require_model_card else Severity.MEDIUM,
            "no model card (README.md) in the model folder",
            ("BM-2",),
        )
    if card.parse_error:
        add("model.card.front_matter", Severity.MEDIUM, card.parse_error, ("BM-2",))
    lic = card.license
    if lic is None:
        if folder or card.present:
            add(
                "model.license.missing",
                Severity.HIGH if policy.require_model_card else Severity.MEDIUM,
                "no license declared (model card front matter or LICENSE file)",
                ("BM-1",),
            )
    elif lic in {d.lower() for d in policy.license_deny}:
        add(
            "model.license.denied",
            Severity.HIGH,
            f"license {lic} is on the policy deny list",
            ("BM-1",),
            license=lic,
            source=card.license_source,
        )
    elif lic not in {a.lower() for a in policy.license_allow}:
        add(
            "model.license.unlisted",
            Severity.MEDIUM,
            f"license {lic} is not on the policy allow list; review it",
            ("BM-1",),
            license=lic,
            source=card.license_source,
        )
    if card.present:
        missing = [
            n
            for n, v in (
                ("base_model", card.base_model),
                ("datasets", card.datasets),
                ("intended use", card.intended_use),
            )
            if not v
        ]
        if missing:
            add(
                "model.card.incomplete",
                Severity.LOW,
                f"model card lacks: {', '.join(missing)}",
                ("BM-2",),
                missing=missing,
            )
    return out
