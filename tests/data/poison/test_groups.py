"""Grouping of the poisoning scan's keys: numbering by first appearance (hash sort plus exact check), runs of
equal values, connected components, response clusters and the pairwise prompt similarity, each against a
plain reference written the obvious way."""
from __future__ import annotations

import random
from collections import Counter, defaultdict

import numpy as np
import pytest

from tuneguard.data.poison.clusters import (
    BANDS,
    NUM_PERM,
    SHINGLE,
    _component_minima,
    first_equal,
    first_seen_ids,
    folded_utf8,
    joined_key,
    near_duplicate_groups,
    record_key,
    response_clusters,
    signatures,
)
from tuneguard.data.poison.collect import ExampleBatch, ExampleSet
from tuneguard.data.poison.corpus import Corpus

from .synth import Generator, examples


def _numbered(keys: list) -> tuple[list[int], list[int]]:
    numbers: dict = {}
    ids = [numbers.setdefault(k, len(numbers)) for k in keys]
    firsts = [ids.index(n) for n in range(len(numbers))]
    return ids, firsts


class Clashing:
    """A key whose hash clashes with every other's: equality alone tells keys apart."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __hash__(self) -> int:
        return 7

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Clashing) and other.value == self.value


@pytest.mark.parametrize("size", [0, 1, 2, 50, 3000])
def test_keys_are_numbered_in_order_of_first_appearance(size) -> None:
    rng = random.Random(size)
    keys = [rng.choice(["a", "b", "你好", "", "a0"]) + str(rng.randrange(size // 3 + 1)) for _ in range(size)]
    ids, firsts = first_seen_ids(keys)
    assert (ids.tolist(), firsts.tolist()) == _numbered(keys)
    clashing = [Clashing(k) for k in keys[:300]]
    ids, firsts = first_seen_ids(clashing)  # every hash equal: the exact check must catch it
    assert (ids.tolist(), firsts.tolist()) == _numbered(keys[:300])


def test_each_value_points_to_its_first_position() -> None:
    rng = np.random.default_rng(3)
    for values in (rng.integers(0, 40, 5000), rng.integers(0, 2**63, 200, dtype=np.uint64),
                   np.zeros(0, dtype=np.int64), np.array([5])):
        first: dict[int, int] = {}
        expect = [first.setdefault(int(v), i) for i, v in enumerate(values.tolist())]
        assert first_equal(values).tolist() == expect


def test_component_minima_match_a_graph_search() -> None:
    rng = random.Random(9)
    n = 400
    edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(300)]
    got = _component_minima(n, np.array([a for a, _ in edges], dtype=np.int64),
                            np.array([b for _, b in edges], dtype=np.int64))
    links = defaultdict(set)
    for a, b in edges:
        links[a].add(b)
        links[b].add(a)
    for node in range(n):
        seen, todo = {node}, [node]
        while todo:
            for nxt in links[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        assert got[node] == min(seen)


def test_response_clusters_keep_groups_in_order_of_their_first_member() -> None:
    rng = random.Random(4)
    groups = np.array([rng.choice([0, 3, 3, 8, 8, 8, 11, 20]) for _ in range(500)], dtype=np.int64)
    responses = [f"response {i}" for i in range(len(groups))]
    sizes = Counter(groups.tolist())
    by_group: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups.tolist()):
        if sizes[g] >= 60:
            by_group[g].append(i)
    got = response_clusters(responses, groups, 60)
    expect = [(f"cluster:{g}", ids) for g, ids in by_group.items()]
    assert [(o.name, o.members.tolist()) for o in got] == expect
    assert [o.pattern for o in got] == [responses[ids[0]] for ids in by_group.values()]
    assert response_clusters([], np.zeros(0, dtype=np.int64), 5) == []


def test_folded_bytes_tell_texts_apart_as_their_keys_do() -> None:
    texts = ["ticket 123", "ticket 456", "ticket 12", "ticket ١٢٣", "票号 789", "票号 000", "x", "",
             "lone \ud800 1", "lone \ud800 2", "lone \udfff 1", "١", "0"]
    for a in texts:
        for b in texts:
            assert (folded_utf8(a) == folded_utf8(b)) == (joined_key(a) == joined_key(b))


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    pairs = Generator(seed=41).clean(700)
    return Corpus(ExampleSet(examples(pairs)))


def _dict_groups(keys: list[str], sigs: np.ndarray, threshold: float) -> np.ndarray:
    """The grouping written the direct way (as before the numpy numbering): keys numbered in a dict, the
    first key of each LSH bucket from `np.unique`, a union-find whose roots are the smallest key numbers."""
    numbers: dict[str, int] = {}
    key_id = np.array([numbers.setdefault(k, len(numbers)) for k in keys], dtype=np.int64)
    firsts = np.unique(key_id, return_index=True)[1]
    sigs, lengths = sigs[firsts], np.array([len(k) for k in numbers])
    parent = list(range(len(numbers)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for band in range(BANDS):
        block = sigs[:, band * (NUM_PERM // BANDS) : (band + 1) * (NUM_PERM // BANDS)]
        buckets: dict[tuple, int] = {}
        for i, row in enumerate(map(tuple, block.tolist())):
            lead = buckets.setdefault(row, i) if lengths[i] >= 2 * SHINGLE else i
            if lead != i and (sigs[lead] == sigs[i]).mean() >= threshold:
                a, b = root(lead), root(i)
                parent[max(a, b)] = min(a, b)
    return np.array([root(i) for i in range(len(numbers))], dtype=np.int64)[key_id]


@pytest.fixture(scope="module")
def batched() -> Corpus:
    """A corpus whose examples came from worker batches, with their stored signatures, and duplicates."""
    pairs = Generator(seed=43).clean(500)
    data = examples(pairs + pairs[:60])
    rows = [(e.line, e.prompt, e.response, " ".join(e.prompt_tokens), " ".join(e.response_tokens))
            for e in ExampleSet(data)]
    collected = ExampleSet()
    for lo in range(0, len(rows), 64):
        collected.add_batch(ExampleBatch.of(rows[lo : lo + 64]))
    assert collected.facts() is not None
    return Corpus(collected)


@pytest.mark.parametrize("which", ["corpus", "batched"])
def test_groups_equal_the_direct_grouping_of_the_keys(which, request) -> None:
    corpus = request.getfixturevalue(which)
    columns = corpus.examples
    response_keys = [joined_key(r) for r in columns.response_joined]
    record_keys = list(map(record_key, columns.prompt_joined, columns.response_joined))
    responses = _dict_groups(response_keys, signatures(response_keys), 0.7)
    records = _dict_groups(record_keys, signatures(record_keys), 0.9)
    assert np.array_equal(corpus.response_groups[1], responses)
    assert np.array_equal(corpus.record_groups, records)
    assert np.array_equal(near_duplicate_groups(keys=response_keys), responses)
    assert len(set(responses.tolist())) < corpus.n and len(set(records.tolist())) < corpus.n  # repeats


def test_distinct_prompts_count_prompts_up_to_digits(corpus) -> None:
    rng = random.Random(2)
    joined = corpus.examples.prompt_joined
    for _ in range(50):
        ids = [rng.randrange(corpus.n) for _ in range(rng.randrange(1, 80))]
        assert corpus.distinct_prompts(ids) == len({joined_key(joined[i]) for i in ids})


def test_prompt_similarity_is_the_mean_jaccard_of_token_sets(corpus) -> None:
    def reference(records, drop, sample=30):
        sets = [corpus.token_set(i) - drop for i in list(records)[:sample]]
        sims = [len(a & b) / len(a | b) if a | b else 1.0
                for k, a in enumerate(sets) for b in sets[k + 1:]]
        return float(np.mean(sims)) if sims else 1.0

    rng = random.Random(5)
    for _ in range(300):
        ids = [rng.randrange(corpus.n) for _ in range(rng.choice([0, 1, 2, 7, 30, 45]))]
        if ids and rng.random() < 0.2:
            ids = [ids[0]] * len(ids)  # identical records
        drop = set()
        if ids and rng.random() < 0.5:
            drop = set(list(corpus.token_set(ids[0]))[:2]) | {"not-a-token-at-all"}
        if ids and rng.random() < 0.1:
            drop = set(corpus.token_set(ids[0]))  # a record left without tokens
        if ids and rng.random() < 0.2:
            ids[-1] -= corpus.n  # a negative index counts from the end, as in a list
        assert corpus.prompt_similarity(ids, drop) == reference(ids, drop)
