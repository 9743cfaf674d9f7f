"""Threads in the poisoning statistics: the n-gram levels built side by side, and the index built in the
background while other statistics are computed, give the same arrays and the same findings as one thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tuneguard.data.poison import TuningExample, scan_poisoning
from tuneguard.data.poison.collect import ExampleSet
from tuneguard.data.poison.corpus import SHARED_STATISTICS, Corpus
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


@pytest.fixture
def builders(monkeypatch) -> list[str]:
    """The name of the thread that builds each n-gram index (GramIndex.from_ids), in order."""
    names: list[str] = []
    build = GramIndex.from_ids.__func__

    def recording(cls, *args, **kwargs):
        names.append(threading.current_thread().name)
        return build(cls, *args, **kwargs)

    monkeypatch.setattr(GramIndex, "from_ids", classmethod(recording))
    return names


def _grams_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("tuneguard-grams")]


def test_prepare_builds_the_index_in_the_background_and_the_rest_here(planted, builders) -> None:
    here = threading.current_thread().name
    ahead = Corpus(planted, threads=2)
    ahead.prepare(["grams", "outcomes", "record_groups"])
    assert {"outcomes", "record_groups"} <= set(vars(ahead))  # computed here while the index was built
    index = ahead.grams
    assert len(builders) == 1 and builders[0].startswith("tuneguard-grams")
    assert not _grams_threads()  # reading the index ended its thread
    _same_index(index, Corpus(planted).grams)
    assert builders[1:] == [here]

    builders.clear()
    serial = Corpus(planted)  # one thread: nothing is computed up front
    serial.prepare(["grams", "outcomes", "record_groups"])
    assert builders == [] and not {"grams", "outcomes", "record_groups"} & set(vars(serial))
    with pytest.raises(ValueError, match="not a shared corpus statistic: labels"):
        serial.prepare(["grams", "labels"])


def test_an_error_in_the_background_build_reaches_the_reader(planted, monkeypatch) -> None:
    raised_in: list[str] = []

    def broken(cls, *args, **kwargs):
        raised_in.append(threading.current_thread().name)
        raise MemoryError("no room for the n-gram index")

    monkeypatch.setattr(GramIndex, "from_ids", classmethod(broken))
    corpus = Corpus(planted, threads=2)
    corpus.prepare(["grams"])
    with pytest.raises(MemoryError, match="no room"):
        corpus.grams
    assert len(raised_in) == 1 and raised_in[0].startswith("tuneguard-grams")
    assert not _grams_threads()


def test_the_scan_with_threads_builds_ahead_and_equals_the_scan_without(planted, builders) -> None:
    one = [f.to_dict() for f in scan_poisoning(planted)]
    assert any(f["check"] == "data.poison.backdoor_trigger" for f in one)
    assert builders == [threading.current_thread().name]
    for threads in (2, 4):
        builders.clear()
        assert [f.to_dict() for f in scan_poisoning(planted, threads=threads)] == one
        assert len(builders) == 1 and builders[0].startswith("tuneguard-grams")
        assert not _grams_threads()
    builders.clear()
    flood = [f.to_dict() for f in scan_poisoning(planted, {"near_duplicate_flood"})]
    assert [f.to_dict() for f in scan_poisoning(planted, {"near_duplicate_flood"}, threads=2)] == flood
    assert builders == []  # no selected check reads the index: it is not built


def test_no_background_thread_outlives_a_failed_scan(planted, monkeypatch) -> None:
    def failing(self, corpus):
        raise RuntimeError("check failed before reading the index")

    monkeypatch.setattr(POISON_CHECKS["backdoor_trigger"], "run", failing)
    with pytest.raises(RuntimeError, match="check failed"):
        scan_poisoning(planted, threads=2)
    assert not _grams_threads()


def test_each_check_declares_the_costly_statistics_it_reads(planted) -> None:
    """What a check declares is what a scan with threads computes up front: a statistic read but not
    declared loses the overlap, one declared but not read wastes a core."""
    for name, check in POISON_CHECKS.items():
        if name == "embedding_outlier":  # needs a sentence-embedding model, which this test does not load
            continue
        corpus = Corpus(planted)
        check().run(corpus)
        assert set(SHARED_STATISTICS) & set(vars(corpus)) == set(check.statistics), name


def test_checks_without_the_index_run_first_and_findings_keep_registry_order(planted, monkeypatch) -> None:
    """With the index built in the background, the checks that do not read it run first (they overlap the
    build); the findings are still those of every check run in registry order, then sorted."""
    from tuneguard.data.poison.registry import DEFAULT_CHECKS

    reference = []
    corpus = Corpus(planted)
    for name, check in POISON_CHECKS.items():
        if name in DEFAULT_CHECKS:
            reference.extend(check().run(corpus))
    reference.sort(key=lambda f: (-f.severity.rank, -f.score))
    ran: list[str] = []
    for name, check in POISON_CHECKS.items():
        def recording(self, corpus, _run=check.run, _name=name):
            ran.append(_name)
            return _run(self, corpus)

        monkeypatch.setattr(check, "run", recording)
    found = scan_poisoning(planted, threads=2)
    readers = [n for n in ran if "grams" in POISON_CHECKS[n].statistics]
    assert readers == ["backdoor_trigger", "harmful_response"] and ran[-2:] == readers
    assert sorted(ran) == sorted(DEFAULT_CHECKS)
    assert len(reference) > 3 and [f.to_dict() for f in found] == [f.to_dict() for f in reference]
