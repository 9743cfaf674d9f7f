"""The pluggable NER backend: a spaCy pipeline loaded from a path adds PERSON/LOCATION beyond the cues."""
from __future__ import annotations

from pathlib import Path

import pytest

from tuneguard.core import UserError
from tuneguard.data import PiiEngine


@pytest.fixture
def ruler_model(tmp_path: Path) -> Path:
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PERSON", "pattern": "Ada Lovelace"},
                        {"label": "GPE", "pattern": "London"}])
    path = tmp_path / "ner-model"
    nlp.to_disk(path)
    return path


@pytest.mark.slow
def test_spacy_backend_by_path(ruler_model: Path) -> None:
    text = "yesterday Ada Lovelace flew to London"
    assert PiiEngine().find(text) == []  # no cue: the default configuration cannot see these
    engine = PiiEngine(ner_backend=str(ruler_model))
    found = {(s.entity, text[s.start:s.end], s.recognizer) for s in engine.find(text)}
    assert found == {("PERSON", "Ada Lovelace", "ner:spacy"), ("LOCATION", "London", "ner:spacy")}
    caps = engine.capabilities()
    assert caps["can"]["PERSON"].startswith("ner (spacy") and "PERSON (free text)" not in caps["cannot"]


def test_missing_backend_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot load spaCy model"):
        PiiEngine(ner_backend=str(tmp_path / "nope"))
    with pytest.raises(UserError, match="not a local model folder"):
        PiiEngine(ner_backend="hf:" + str(tmp_path / "nope"))
