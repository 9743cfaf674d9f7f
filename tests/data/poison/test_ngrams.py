"""The n-gram index against its definition: every distinct (gram, record) pair once, sorted by hash and then
record, with a position of the gram in that record; and the packed sort against numpy's stable argsort."""

from __future__ import annotations

import numpy as np
import pytest

from tuneguard.data.poison import TuningExample
from tuneguard.data.poison.collect import ExampleSet
from tuneguard.data.poison.ngrams import GramIndex, _order_by_hash

from .synth import TRIGGERS, Generator, examples


@pytest.fixture(scope="module")
def planted() -> list[TuningExample]:
    pairs = Generator(seed=61).clean(700)
    Generator(seed=62).plant(pairs, TRIGGERS[0], 12)
    return examples(pairs)


def test_the_index_holds_each_gram_and_record_pair_once_in_hash_then_record_order(planted) -> None:
    collected = ExampleSet(planted)
    index = GramIndex.from_ids(*collected.numbering())
    prompts = [e.prompt_tokens for e in collected]
    for n in range(1, index.max_n + 1):
        expected = {
            (tuple(toks[i : i + n]), r) for r, toks in enumerate(prompts) for i in range(len(toks) - n + 1)
        }
        hashes, recs, first = index.hash[n], index.recs[n], index.first_pos[n]
        got = [(index.decode(n, int(h)), int(r)) for h, r in zip(hashes, recs, strict=True)]
        assert len(got) == len(set(got)) and set(got) == expected, n
        assert np.all((hashes[1:] > hashes[:-1]) | ((hashes[1:] == hashes[:-1]) & (recs[1:] > recs[:-1])))
        grams = {g for g, _ in expected}
        assert len(np.unique(hashes)) == len(grams)  # no two grams share a hash here
        for (gram, r), pos in zip(got, first.tolist(), strict=True):
            assert int(index.rec[pos]) == r
            assert tuple(index.vocab[int(t) - 1] for t in index.ids[pos : pos + n]) == gram


def _same_as_stable_argsort(hashes: np.ndarray) -> None:
    order, ordered = _order_by_hash(hashes)
    expected = np.argsort(hashes, kind="stable")
    assert np.array_equal(order, expected) and np.array_equal(ordered, hashes[expected])


@pytest.mark.parametrize("seed", range(12))
def test_the_packed_sort_is_numpys_stable_argsort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count = int(rng.integers(2, 20_000))
    distinct = rng.integers(0, 2**64, size=max(1, count // 4), dtype=np.uint64)
    hashes = distinct[rng.integers(0, len(distinct), size=count)]
    if seed % 3 == 1:  # two different hashes with the same top bits: the exact fallback must take over
        hashes[count // 2] = hashes[0] ^ np.uint64(1)
    if seed % 3 == 2:  # small values (unigram ids) sort whole
        hashes = hashes % np.uint64(97)
    _same_as_stable_argsort(hashes)


@pytest.mark.parametrize("groups", [1, 7, 3000])
def test_the_packed_sort_when_many_hashes_share_their_top_bits(groups: int) -> None:
    """Large inputs leave fewer top bits, so more different hashes share them: only those runs are sorted
    again, and the order is still exactly the stable argsort's."""
    rng = np.random.default_rng(groups)
    count = 50_000
    tops = rng.integers(0, 2**64, size=groups, dtype=np.uint64) & ~np.uint64((1 << 16) - 1)
    hashes = tops[rng.integers(0, groups, size=count)] | rng.integers(0, 40, size=count).astype(np.uint64)
    hashes[::7] = rng.integers(0, 2**64, size=len(hashes[::7]), dtype=np.uint64)  # and some that do not
    _same_as_stable_argsort(hashes)


def test_the_packed_sort_of_tiny_and_empty_arrays() -> None:
    for hashes in (np.zeros(0, np.uint64), np.array([5], np.uint64), np.array([3, 3, 1], np.uint64)):
        _same_as_stable_argsort(hashes)


def test_mined_triggers_do_not_depend_on_the_gram_hash(planted, monkeypatch) -> None:
    """Equally significant phrases are taken in the order they occur in the data, not in hash order: with
    every n-gram hash replaced by another invertible mix of it, the findings are the same."""
    from tuneguard.data.poison import scan_poisoning
    from tuneguard.data.poison.ngrams import GramIndex

    pairs = Generator(seed=63).clean(1500)
    for seed, trigger in ((64, TRIGGERS[1]), (65, TRIGGERS[2])):
        Generator(seed=seed).plant(pairs, trigger, 6)
    data = examples(pairs)
    before = [f.to_dict() for f in scan_poisoning(data)]
    hashes = GramIndex._hashes

    def remixed(self, n):
        h, pos = hashes(self, n)
        if n > 1:
            h = (h ^ np.uint64(0x5851F42D4C957F2D)) * np.uint64(0x2545F4914F6CDD1D)
        return h, pos

    monkeypatch.setattr(GramIndex, "_hashes", remixed)
    after = [f.to_dict() for f in scan_poisoning(data)]
    assert len(before) >= 2 and after == before


def test_a_32_bit_index_has_the_arrays_and_findings_of_a_64_bit_one(planted, monkeypatch) -> None:
    """Below MAX_INT32_TOKENS the index holds records and positions as 32-bit integers (memory); a corpus
    past it gets 64-bit ones. Forced to 64 bits, the same corpus gives the same arrays and findings."""
    from tuneguard.data.poison import ngrams, scan_poisoning

    numbered = ExampleSet(planted).numbering()
    narrow = GramIndex.from_ids(*numbered)
    narrow_findings = [f.to_dict() for f in scan_poisoning(planted)]
    monkeypatch.setattr(ngrams, "MAX_INT32_TOKENS", 0)
    wide = GramIndex.from_ids(*numbered)
    assert narrow_findings and [f.to_dict() for f in scan_poisoning(planted)] == narrow_findings
    for n in range(1, narrow.max_n + 1):
        assert narrow.recs[n].dtype == np.int32 and wide.recs[n].dtype == np.int64
        assert narrow.first_pos[n].dtype == np.int32 and wide.first_pos[n].dtype == np.int64
        assert np.array_equal(narrow.hash[n], wide.hash[n])
        assert np.array_equal(narrow.recs[n], wide.recs[n])
        assert np.array_equal(narrow.first_pos[n], wide.first_pos[n])
