"""PiiSpan, the one result type of detection, and how severe each entity type is by default."""

from __future__ import annotations

from dataclasses import dataclass

from tuneguard.core import Severity

ENTITY_SEVERITY: dict[str, Severity] = {
    "CREDIT_CARD": Severity.HIGH,
    "IBAN_CODE": Severity.HIGH,
    "US_SSN": Severity.HIGH,
    "CN_RESIDENT_ID": Severity.HIGH,
    "CN_PASSPORT": Severity.HIGH,
    "CN_USCC": Severity.LOW,
    "EMAIL_ADDRESS": Severity.MEDIUM,
    "PHONE_NUMBER": Severity.MEDIUM,
    "PERSON": Severity.MEDIUM,
    "URL": Severity.MEDIUM,
    "LOCATION": Severity.LOW,
    "IP_ADDRESS": Severity.LOW,
    "MAC_ADDRESS": Severity.LOW,
}


def severity_of(entity: str) -> Severity:
    """Credentials are critical; identifiers that single out a person are high; contact data medium."""
    if entity.startswith("SECRET_"):
        return Severity.CRITICAL
    return ENTITY_SEVERITY.get(entity, Severity.MEDIUM)


def check_id(entity: str) -> str:
    """The data-scan check id for an entity: secrets under data.secret.*, everything else under data.pii.*."""
    if entity.startswith("SECRET_"):
        return f"data.secret.{entity[7:]}"
    return f"data.pii.{entity}"


class EntityFacts(dict):
    """entity -> (severity, severity value, check id), each worked out once: every finding needs all
    three, and a lookup is cheaper than the prefix test, the f-string and the Enum's `.value` property."""

    def __missing__(self, entity: str) -> tuple[Severity, str, str]:
        severity = severity_of(entity)
        facts = self[entity] = (severity, severity.value, check_id(entity))
        return facts


ENTITY_FACTS = EntityFacts()


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """One detected value: `text[start:end]` is the value; the span itself never stores the raw text."""

    entity: str
    start: int
    end: int
    score: float
    recognizer: str
    severity: Severity

    @property
    def check(self) -> str:
        return ENTITY_FACTS[self.entity][2]

    def to_dict(self) -> dict:
        return {
            "entity": self.entity,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 3),
            "recognizer": self.recognizer,
            "severity": self.severity.value,
            "check": self.check,
        }
