"""ExampleSet numbers prompt tokens while a scan reads its records; the poisoning scan over it must equal the
scan over the plain list of examples, and its n-gram index the one built from scratch."""

from __future__ import annotations

import numpy as np
import pytest

from tuneguard.data.poison import TuningExample, scan_poisoning
from tuneguard.data.poison.collect import ExampleSet
from tuneguard.data.poison.ngrams import GramIndex
from tuneguard.data.poison.text import tokens

from .synth import TRIGGERS, Generator, examples


@pytest.fixture(scope="module")
def planted() -> list[TuningExample]:
    pairs = Generator(seed=31).clean(1200)
    Generator(seed=32).plant(pairs, TRIGGERS[1], 15)
    return examples(pairs)


def test_the_scan_over_an_example_set_equals_the_scan_over_the_list(planted) -> None:
    plain = [f.to_dict() for f in scan_poisoning(planted)]
    joined = ExampleSet()
    for e in planted:  # as the data gate adds them: tokens joined by spaces, from its workers
        prompt_tokens, response_tokens = " ".join(tokens(e.prompt)), " ".join(tokens(e.response))
        joined.add_joined(e.line, e.prompt, e.response, prompt_tokens, response_tokens)
    assert plain and any(f["check"] == "data.poison.backdoor_trigger" for f in plain)
    assert [f.to_dict() for f in scan_poisoning(joined)] == plain
    assert [f.to_dict() for f in scan_poisoning(ExampleSet(planted))] == plain
    assert list(joined) == planted and joined == ExampleSet(planted) and len(joined) == len(planted)


def test_the_numbered_index_is_the_index_built_from_tokens(planted) -> None:
    collected = ExampleSet(planted[:300] + [TuningExample(10_000, "", "empty prompt")] + planted[300:400])
    prompt_tokens = [e.prompt_tokens for e in collected]
    fresh = GramIndex(prompt_tokens)
    numbered = GramIndex.from_ids(list(collected.vocab), np.array(collected.ids), np.array(collected.lengths))
    assert numbered.vocab == fresh.vocab
    assert np.array_equal(numbered.ids, fresh.ids) and np.array_equal(numbered.rec, fresh.rec)
    for n in range(1, fresh.max_n + 1):
        assert np.array_equal(numbered.hash[n], fresh.hash[n])
        assert np.array_equal(numbered.recs[n], fresh.recs[n])
        assert np.array_equal(numbered.first_pos[n], fresh.first_pos[n])


def test_an_empty_set_scans_to_nothing() -> None:
    assert scan_poisoning(ExampleSet()) == []
    only_empty = ExampleSet([TuningExample(1, "", "")] * 3)
    assert len(only_empty.ids) == 0 and list(only_empty.lengths) == [0, 0, 0]
    assert scan_poisoning(only_empty) == scan_poisoning([TuningExample(1, "", "")] * 3)
