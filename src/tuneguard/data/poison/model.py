"""The two public data types of the poisoning scan: the input record and the finding it produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tuneguard.core import Finding, Severity


@dataclass(frozen=True, slots=True)
class TuningExample:
    """One fine-tuning record reduced to what a backdoor needs: the prompt the model sees and the target it
    learns. `line` is the 1-based input line (or row) the data gate read it from."""

    line: int
    prompt: str
    response: str
    # `tokens(prompt)` and `tokens(response)` when the caller already has them (then they must be exactly
    # those: the checks use them in place of the text's tokens, for n-grams, labels and prompt keys alike).
    # Tokens that are empty or hold a space are refused (ValueError). The data gate does not build
    # TuningExamples: its workers send tokens joined by spaces (poison.collect.ExampleBatch).
    prompt_tokens: list[str] | None = field(default=None, compare=False, repr=False)
    response_tokens: list[str] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PoisonFinding:
    """One poisoning signal. `score` is higher for more suspicious findings and is comparable within one
    report
    (it is -log10 of a corrected p-value, discounted by how well ordinary context explains the association).
    `evidence` never holds raw records: only the candidate trigger, counts, line numbers, statistics and a
    shortened, masked response pattern."""

    check: str
    score: float
    severity: Severity
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    requirements: tuple[str, ...] = ("FT-3",)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "score": round(float(self.score), 4),
            "severity": self.severity.value,
            "message": self.message,
            "evidence": self.evidence,
            "requirements": list(self.requirements),
        }

    def to_finding(self, subject: str = "") -> Finding:
        """The same finding as a core Finding for the ledger."""
        lines = self.evidence.get("example_lines") or []
        location = {"lines": list(lines)} if lines else {}
        return Finding(
            check=self.check,
            severity=self.severity,
            message=self.message,
            requirements=self.requirements,
            subject=subject,
            location=location,
            evidence={"score": round(float(self.score), 4), **self.evidence},
        )
