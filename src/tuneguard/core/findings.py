"""The one evidence shape all stages share: Finding, Artifact and StageResult, with a versioned JSON form."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = 1


class Severity(str, Enum):  # noqa: UP042 - str() and format() of members must stay the same
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def at_least(self, other: Severity | str) -> bool:
        return self.rank >= Severity(other).rank


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Verdict(str, Enum):  # noqa: UP042 - as Severity
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    WARN = "warn"
    SKIPPED = "skipped"
    ERROR = "error"


class Finding(BaseModel):
    """One thing a check observed. `evidence` must never hold raw secrets or personal data."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    check: str = Field(description="dotted check id, e.g. 'model.pickle.dangerous_global'")
    severity: Severity
    message: str
    requirements: tuple[str, ...] = ()
    subject: str = Field(default="", description="what was checked: a file, dataset line, model id, endpoint")
    location: dict[str, Any] = Field(
        default_factory=dict, description="file/line/field/offset where it applies"
    )
    evidence: dict[str, Any] = Field(default_factory=dict)

    @field_validator("requirements", mode="before")
    @classmethod
    def _tuple(cls, v: Any) -> Any:
        return tuple(v) if isinstance(v, list) else v


class Artifact(BaseModel):
    """A file or folder a stage read or wrote, bound by digest so later stages can find it in the ledger."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str = Field(description="e.g. 'input', 'sanitized_dataset', 'manifest', 'adapter', 'bom'")
    path: str
    sha256: str
    size: int | None = None


class StageResult(BaseModel):
    """What one stage run concluded: a verdict, its findings, numbers, and the artifacts it touched."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    stage: str
    verdict: Verdict
    summary: str = ""
    findings: list[Finding] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    artifacts: list[Artifact] = Field(default_factory=list)
    requirements: tuple[str, ...] = Field(default=(), description="requirement ids this run is evidence for")
    config_sha256: str | None = None
    tool_version: str = ""

    @field_validator("requirements", mode="before")
    @classmethod
    def _tuple(cls, v: Any) -> Any:
        return tuple(v) if isinstance(v, list) else v

    def worst_severity(self) -> Severity | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=lambda s: s.rank)

    def count_at_least(self, severity: Severity | str) -> int:
        return sum(1 for f in self.findings if f.severity.at_least(severity))

    def to_payload(self) -> dict[str, Any]:
        """The JSON-ready dict stored in the ledger (enums as their values)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> StageResult:
        return cls.model_validate(payload)
