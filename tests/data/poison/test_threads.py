"""Threads in the poisoning statistics: the n-gram levels built side by side, and the index built in the
background while other statistics are computed, give the same arrays and the same findings as one thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tuneguard.data.poison import TuningExample, scan_poisoning
from tuneguard.data.poison.collect import ExampleSet
from tuneguard.data.poison.corpus import Corpus
from tuneguard.data.poison.ngrams import GramIndex
from tuneguard.data.poison.registry import POISON_CHECKS

from .synth import TRIGGERS, Generator, examples


@pytest.fixture(scope="module")
def planted() -> list[TuningExample]:
    pairs = Generator(seed=51).clean(900)
    Generator(seed=52).plant(pairs, TRIGGERS[2], 14)
    return examples(pairs)


def _same_index(a: GramIndex, b: GramIndex) -> None:
    assert a.max_n == b.max_n and a.vocab == b.vocab
    for n in range(1, a.max_n + 1):
        assert np.array_equal(a.hash[n], b.hash[n])
        assert np.array_equal(a.recs[n], b.recs[n])
        assert np.array_equal(a.first_pos[n], b.first_pos[n])


def test_levels_built_in_threads_equal_levels_built_in_turn(planted) -> None:
    numbered = ExampleSet(planted).numbering()
    one = GramIndex.from_ids(*numbered)
    assert len(one.hash[4]) > 1000
    for threads in (2, 3, 8):
        _same_index(GramIndex.from_ids(*numbered, threads=threads), one)


def test_the_index_is_built_ahead_in_another_thread(planted, monkeypatch) -> None:
    builders: list[str] = []
    build = GramIndex.from_ids.__func__

    def recording(cls, *args, **kwargs):
        builders.append(threading.current_thread().name)
        return build(cls, *args, **kwargs)

    monkeypatch.setattr(GramIndex, "from_ids", classmethod(recording))
    ahead = Corpus(planted, threads=2)
    ahead.build_grams_ahead()
    ahead.outcomes  # computed here meanwhile
    _same_index(ahead.grams, Corpus(planted).grams)
    assert builders[0].startswith("tuneguard-grams") and builders[1] == threading.current_thread().name

    builders.clear()
    serial = Corpus(planted)  # one thread: nothing starts ahead, the index is built when read
    serial.build_grams_ahead()
    assert builders == []
    serial.grams
    assert builders == [threading.current_thread().name]


def test_an_error_in_the_background_build_reaches_the_reader(planted, monkeypatch) -> None:
    def broken(cls, *args, **kwargs):
        raise MemoryError("no room for the n-gram index")

    monkeypatch.setattr(GramIndex, "from_ids", classmethod(broken))
    corpus = Corpus(planted, threads=2)
    corpus.build_grams_ahead()
    with pytest.raises(MemoryError, match="no room"):
        corpus.grams


def test_the_scan_with_threads_equals_the_scan_without(planted) -> None:
    one = [f.to_dict() for f in scan_poisoning(planted)]
    assert any(f["check"] == "data.poison.backdoor_trigger" for f in one)
    assert [f.to_dict() for f in scan_poisoning(planted, threads=2)] == one
    assert [f.to_dict() for f in scan_poisoning(planted, threads=4)] == one
    flood = [f.to_dict() for f in scan_poisoning(planted, {"near_duplicate_flood"})]
    assert [f.to_dict() for f in scan_poisoning(planted, {"near_duplicate_flood"}, threads=2)] == flood


def test_a_check_reads_the_ngram_index_exactly_when_it_says_so(planted) -> None:
    """The flag decides whether a scan builds the index ahead: a check that reads it without saying so
    would lose the overlap, one that says so without reading it would waste a core."""
    for name, check in POISON_CHECKS.items():
        if name == "embedding_outlier":  # needs a sentence-embedding model, which this test does not load
            continue
        corpus = Corpus(planted)
        check().run(corpus)
        assert ("grams" in vars(corpus)) == check.reads_ngrams, name
