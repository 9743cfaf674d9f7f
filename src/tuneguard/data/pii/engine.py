"""PiiEngine: finds PII and secrets in text with one combined matching pass, validation and overlap
resolution."""

from __future__ import annotations

from collections.abc import Iterable

from .matcher import CombinedMatcher
from .ner import NerBackend
from .recognizers import RecognizerRegistry, default_registry
from .spans import ENTITY_FACTS, PiiSpan

# No recognizer can report anything in a shorter string (the shortest is a surname before 先生, e.g. 王先生).
MIN_ENTITY_CHARS = 3
# Short strings repeat in every record (role names, keys-as-values, short system prompts, "OK"): their result
# is remembered, bounded by entry count. Longer texts are not cached, so throughput does not depend on a
# corpus repeating itself.
CACHE_MAX_CHARS = 64
CACHE_ENTRIES = 4096

# Presidio entity types that no built-in recognizer covers; reported so users know what is not looked for.
NOT_COVERED = (
    "ORGANIZATION",
    "DATE_TIME",
    "NRP",
    "AGE",
    "TITLE",
    "ZIP_CODE",
    "DOMAIN_NAME",
    "US_DRIVER_LICENSE",
    "US_PASSPORT",
    "US_BANK_NUMBER",
    "US_ITIN",
    "UK_NHS",
    "MEDICAL_LICENSE",
    "CRYPTO",
)


class PiiEngine:
    """Detect entities in text.

    `entities` limits detection (None = every entity the registry knows). `min_score` is the reporting
    threshold. `ner_backend` (spaCy model name/path or `hf:PATH`) adds model-based PERSON/LOCATION.
    """

    def __init__(
        self,
        entities: Iterable[str] | None = None,
        *,
        registry: RecognizerRegistry | None = None,
        min_score: float = 0.5,
        ner_backend: str | None = None,
        use_hyperscan: bool = True,
    ) -> None:
        registry = registry or default_registry()
        known = registry.entities()
        if entities is not None:
            entities = set(entities)
            unknown = entities - known - ({"PERSON", "LOCATION"} if ner_backend else set())
            if unknown:
                raise ValueError(f"unknown entity type(s): {', '.join(sorted(unknown))}")
        self.entities: frozenset[str] = frozenset(entities if entities is not None else known)
        self.recognizers = registry.create(self.entities)
        self.min_score = min_score
        self._matcher = CombinedMatcher(self.recognizers, use_hyperscan=use_hyperscan)
        self._ner = NerBackend(ner_backend) if ner_backend else None
        self._short: dict[str, tuple[PiiSpan, ...]] = {}

    @property
    def backend(self) -> str:
        return self._matcher.backend

    def find(self, text: str) -> list[PiiSpan]:
        """Non-overlapping spans sorted by start; on overlap the higher score, then the longer span, wins."""
        n = len(text)
        if n < MIN_ENTITY_CHARS:
            return []
        if n <= CACHE_MAX_CHARS:
            known = self._short.get(text)
            if known is None:
                if len(self._short) >= CACHE_ENTRIES:
                    self._short.clear()
                known = self._short[text] = tuple(self._find(text, self._matcher.hits(text)))
            return list(known)
        return self._find(text, self._matcher.hits(text))

    def _find(self, text: str, slots: list[tuple[int, int]]) -> list[PiiSpan]:
        found: list[PiiSpan] = []
        recognizers, min_score, entities = self.recognizers, self.min_score, self.entities
        facts = ENTITY_FACTS
        for ri, pi in slots:
            rec = recognizers[ri]
            for c in rec.candidates(text, pi):
                if c.score >= min_score and c.entity in entities:
                    found.append(PiiSpan(c.entity, c.start, c.end, c.score, rec.name, facts[c.entity][0]))
        if self._ner is not None:
            for c in self._ner.find(text):
                if c.score >= self.min_score and c.entity in self.entities:
                    found.append(
                        PiiSpan(
                            c.entity, c.start, c.end, c.score, f"ner:{self._ner.kind}", facts[c.entity][0]
                        )
                    )
        return resolve_overlaps(found) if len(found) > 1 else found

    def reset_memos(self) -> None:
        """Forget the short texts and the recognizers' verdicts remembered so far; findings are unchanged."""
        self._short.clear()
        for rec in self.recognizers:
            rec.reset_memos()

    def capabilities(self) -> dict[str, object]:
        """Which entity types this configuration can find and how, and which it cannot."""
        can: dict[str, str] = {}
        for rec in self.recognizers:
            for entity in rec.entities:
                if entity in self.entities:
                    can[entity] = rec.method
        cannot: dict[str, str] = {e: "no recognizer" for e in NOT_COVERED}
        if self._ner is not None:
            for entity in ("PERSON", "LOCATION"):
                if entity in self.entities:
                    can[entity] = f"ner ({self._ner.kind}: {self._ner.spec}) + cues"
        else:
            for entity in ("PERSON", "LOCATION"):
                if entity in can:
                    cannot[f"{entity} (free text)"] = "names/places without a cue need data.ner_backend"
        return {"can": dict(sorted(can.items())), "cannot": cannot, "matcher": self.backend}


def resolve_overlaps(spans: list[PiiSpan]) -> list[PiiSpan]:
    chosen: list[PiiSpan] = []
    for span in sorted(spans, key=lambda s: (-s.score, -(s.end - s.start), s.start)):
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    chosen.sort(key=lambda s: s.start)
    return chosen
