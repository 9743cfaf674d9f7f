"""ExampleSet numbers prompt tokens while a scan reads its records (one record at a time, or a worker's whole
batch with its facts); the poisoning scan over it must equal the scan over the plain list of examples, and its
n-gram index and groups the ones built from scratch."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest

from tuneguard.data.poison import TuningExample, scan_poisoning
from tuneguard.data.poison.clusters import classification_labels
from tuneguard.data.poison.collect import ExampleBatch, ExampleSet
from tuneguard.data.poison.corpus import Corpus
from tuneguard.data.poison.ngrams import GramIndex
from tuneguard.data.poison.text import tokens

from .synth import TRIGGERS, Generator, examples, sentiment_pairs


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


def _rows(examples_: list[TuningExample]) -> list[tuple[int, str, str, str, str]]:
    return [(e.line, e.prompt, e.response, " ".join(tokens(e.prompt)), " ".join(tokens(e.response)))
            for e in examples_]


@pytest.mark.parametrize("size", [1, 7, 128, 5000])
def test_worker_batches_number_prompts_like_one_example_at_a_time(planted, size) -> None:
    # an empty prompt and a batch whose tokens are all new come along
    rows = _rows(planted[:250] + [TuningExample(9_000, "", "nothing asked")] + planted[250:500])
    rows.append((9_001, "zzqx 𝔘nseen ¥ words", "ok", " ".join(tokens("zzqx 𝔘nseen ¥ words")), "ok"))
    one_by_one, batched = ExampleSet(), ExampleSet()
    for row in rows:
        one_by_one.add_joined(*row)
    for lo in range(0, len(rows), size):
        batch = pickle.loads(pickle.dumps(ExampleBatch.of(rows[lo:lo + size])))
        batched.add_batch(batch)
    assert batched == one_by_one
    assert list(batched.vocab) == list(one_by_one.vocab) and batched.lengths == one_by_one.lengths
    assert batched[250] == TuningExample(9_000, "", "nothing asked") and batched[250].prompt_tokens == []
    assert batched[-1].prompt_tokens == tokens("zzqx 𝔘nseen ¥ words")


def test_a_batch_numbering_that_does_not_add_up_is_refused(planted) -> None:
    batch = ExampleBatch.of(_rows(planted[:20]))
    target, untouched = ExampleSet(planted[20:25]), ExampleSet(planted[20:25])
    for bad in (ExampleBatch(batch.rows, batch.vocab, batch.ids[:-4], batch.lengths),
                ExampleBatch(batch.rows, batch.vocab[:1], batch.ids, batch.lengths)):
        with pytest.raises(ValueError, match="do not match"):
            target.add_batch(bad)
        assert target == untouched and list(target.vocab) == list(untouched.vocab)


def test_the_corpus_reads_joined_tokens_and_splits_single_records(planted) -> None:
    corpus = Corpus(ExampleSet(planted))
    assert corpus.prompt_tokens[3] == tokens(planted[3].prompt)
    assert corpus.response_tokens[3] == tokens(planted[3].response)
    assert corpus.examples[3] == planted[3] and corpus.examples.lines[-1] == planted[-1].line
    assert corpus.prompt_index[" ".join(tokens(planted[3].prompt))][0] <= 3
    # a set that grows (by a worker batch, with facts) after the corpus was made does not change the corpus
    rows = _rows(planted[:20])
    grown = ExampleSet()
    grown.add_batch(ExampleBatch.of(rows[:10]))
    before = Corpus(grown)
    grown.add_batch(ExampleBatch.of(rows[10:]))
    assert len(grown) == 20 and len(grown.facts().refusals) == 20
    assert before.n == 10 and len(before.examples.prompts) == 10 and len(before._facts.refusals) == 10
    assert before.grams.rec.max() == 9 and len(before.grams.vocab) < len(grown.vocab)


def test_labels_come_from_joined_response_tokens() -> None:
    pairs = sentiment_pairs(120, seed=4)
    assert Corpus(examples(pairs)).labels == [r for _, r in pairs]
    # a label is one to three tokens
    assert classification_labels(["a b c"] * 5 + ["x y"] * 5) == ["a b c"] * 5 + ["x y"] * 5
    assert classification_labels(["a b c d"] * 5 + ["x y"] * 5) is None


def test_supplied_tokens_must_be_tokens_of_the_text() -> None:
    good = TuningExample(1, "Hello there", "ok", ["hello", "there"], ["ok"])
    assert Corpus([good]).prompt_tokens[0] == ["hello", "there"]
    for bad in (["hello there"], ["hello", ""]):
        with pytest.raises(ValueError, match="line 7"):
            Corpus([TuningExample(7, "Hello there", "ok", bad, ["ok"])])
        with pytest.raises(ValueError, match="line 7"):
            ExampleSet([TuningExample(7, "Hello there", "ok", ["hello"], bad)])


def test_facts_from_worker_batches_give_the_groups_computed_from_scratch(planted) -> None:
    # a flood (one record 12 times, with other digits each time) and response clusters both occur
    ask = "Please send the quarterly report to the shared drive and tell the finance team, ticket 5550{:02d}"
    flood = [TuningExample(20_000 + k, ask.format(k), "Done, sent it.") for k in range(12)]
    data = planted[:400] + flood + planted[400:700]
    batched = ExampleSet()
    rows = _rows(data)
    for lo in range(0, len(rows), 97):
        # as the batches arrive from a worker process
        batched.add_batch(pickle.loads(pickle.dumps(ExampleBatch.of(rows[lo:lo + 97]))))
    batched.add_batch(ExampleBatch.of([]))  # an empty batch changes nothing
    facts = batched.facts()
    assert facts is not None and len(facts.refusals) == len(data) and facts.refusals.any()
    with_facts, scratch = Corpus(batched), Corpus(ExampleSet(data))
    assert with_facts._facts is not None and scratch._facts is None
    assert np.array_equal(with_facts.record_groups, scratch.record_groups)
    assert np.array_equal(with_facts.response_groups[1], scratch.response_groups[1])
    assert [(o.name, o.members.tolist()) for o in with_facts.outcomes] == \
        [(o.name, o.members.tolist()) for o in scratch.outcomes]
    flood_groups = Counter(with_facts.record_groups[400:412].tolist())
    assert flood_groups.most_common(1)[0][1] >= 11  # the flood is (nearly) one group
    assert [f.to_dict() for f in scan_poisoning(batched)] == [f.to_dict() for f in scan_poisoning(data)]


def test_a_set_with_some_examples_lacking_facts_has_none(planted) -> None:
    rows = _rows(planted[:30])
    without = ExampleSet()
    without.add_batch(ExampleBatch.of(rows[:10], with_facts=False))
    without.add_batch(ExampleBatch.of(rows[10:]))
    assert without.facts() is None
    joined_later = ExampleSet()
    joined_later.add_batch(ExampleBatch.of(rows[:10]))
    joined_later.add_joined(*rows[10])
    assert joined_later.facts() is None
    # a batch whose facts do not match its rows is refused and leaves the set as it was
    whole = ExampleSet()
    whole.add_batch(ExampleBatch.of(rows[:10]))
    short = ExampleBatch.of(rows[10:20])
    short.facts.record_signatures = short.facts.record_signatures[:-1]
    with pytest.raises(ValueError, match="one row per example"):
        whole.add_batch(short)
    assert len(whole) == 10 and len(whole.lengths) == 10 and len(whole.facts().refusals) == 10
