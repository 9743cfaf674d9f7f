"""Optional model-based PERSON/LOCATION: a spaCy pipeline (name or path) or a transformers token classifier.

Loaded only when the policy names one (`data.ner_backend`); no model is downloaded and no remote code runs.
"""

from __future__ import annotations

from pathlib import Path

from tuneguard.core import UserError

from .recognizers.base import Candidate

_LABELS = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "LOCATION": "LOCATION",
}


class NerBackend:
    """Wraps a spaCy or transformers model; `find(text)` returns PERSON/LOCATION candidates."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        if spec.startswith("hf:"):
            self.kind = "transformers"
            self._model = self._load_hf(spec[3:])
        else:
            self.kind = "spacy"
            self._model = self._load_spacy(spec)

    @staticmethod
    def _load_spacy(spec: str):
        import spacy

        try:
            return spacy.load(spec)
        except (OSError, ValueError) as exc:
            raise UserError(f"data.ner_backend {spec!r}: cannot load spaCy model: {exc}") from None

    @staticmethod
    def _load_hf(path: str):
        if not Path(path).is_dir():
            raise UserError(f"data.ner_backend hf:{path}: not a local model folder")
        from transformers import pipeline

        return pipeline(
            "token-classification", model=path, aggregation_strategy="simple", trust_remote_code=False
        )

    def find(self, text: str) -> list[Candidate]:
        out = []
        if self.kind == "spacy":
            for ent in self._model(text).ents:
                entity = _LABELS.get(ent.label_)
                if entity:
                    out.append(Candidate(ent.start_char, ent.end_char, entity, 0.85))
        else:
            for ent in self._model(text):
                entity = _LABELS.get(str(ent.get("entity_group", "")).upper())
                if entity:
                    out.append(Candidate(int(ent["start"]), int(ent["end"]), entity, float(ent["score"])))
        return out
