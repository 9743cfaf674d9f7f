"""Per-scan shared state: tokenized prompts, document frequencies and response groupings, computed once and
lazily, so each check pays only for what it uses."""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .clusters import (
    Outcome,
    behaviour_outcomes,
    classification_labels,
    first_seen_ids,
    folded_utf8,
    group_near_duplicates,
    joined_key,
    near_duplicate_groups,
    record_key,
    response_clusters,
    signatures,
)
from .collect import ExampleColumns, ExampleSet, split_tokens
from .model import TuningExample
from .ngrams import GramIndex

# The statistics that cost most and that several checks read; `prepare` computes them up front.
SHARED_STATISTICS = ("grams", "outcomes", "record_groups")


@dataclass(frozen=True, slots=True)
class ScanSettings:
    min_support: int = 5  # a candidate trigger must occur in at least this many records of one outcome
    min_coverage: float = 0.1  # ... and cover at least this share of that outcome
    alpha: float = 1e-3  # Benjamini-Hochberg false-discovery level for reporting a trigger
    max_outcome_share: float = 0.6  # behaviour classes larger than this cannot be a backdoor target
    max_outcomes: int = 200  # response clusters tested, largest first
    judge_limit: int = 200  # responses sent to the probe judges
    flood_min: int = 10  # near-duplicate records before a flood is reported


class Corpus:
    """The examples plus everything several checks derive from them."""

    def __init__(
        self, examples: Sequence[TuningExample], settings: ScanSettings | None = None, threads: int = 1
    ):
        # The data gate's ExampleSet has numbered the prompt tokens while the records were read (a plain list
        # is numbered here, in the same first-seen order): the n-gram index starts there. Numbering, columns
        # and facts are copied now, so examples added to the set later cannot put the corpus out of step.
        if not isinstance(examples, ExampleSet):
            examples = ExampleSet(examples)
        self._numbered = examples.numbering()
        self.examples: ExampleColumns = examples.columns()
        self._facts = examples.facts()
        self.settings = settings or ScanSettings()
        self.n = len(self.examples)
        self.memo: dict[str, object] = {}  # results one check computes and another reuses (mined triggers)
        # Token lists of single records, split from the joined column when a check asks (checks look at
        # the records of a few candidates, not at all of them).
        self.prompt_tokens = TokenLists(self.examples.prompt_joined)
        self.response_tokens = TokenLists(self.examples.response_joined)
        self.threads = max(1, threads)
        self._grams_pool: ThreadPoolExecutor | None = None
        self._grams_ahead: Future[GramIndex] | None = None

    def prepare(self, statistics: Iterable[str]) -> None:
        """With `threads` > 1, compute the named costly statistics (`SHARED_STATISTICS`) now: the n-gram
        index in a background thread, its levels side by side, while this thread computes the outcomes and
        record groups. The index is numpy work that runs without the GIL and the others are Python work, so
        the two overlap on two cores (bench/RESULTS.md "## data on Ray"). With one thread nothing is done
        here: each statistic is computed when a check first reads it. Call `close` when done."""
        wanted = set(statistics)
        unknown = wanted - set(SHARED_STATISTICS)
        if unknown:
            raise ValueError(f"not a shared corpus statistic: {', '.join(sorted(unknown))}")
        if self.threads <= 1:
            return
        if "grams" in wanted and self._grams_ahead is None and "grams" not in vars(self):
            self._grams_pool = ThreadPoolExecutor(1, thread_name_prefix="tuneguard-grams")
            self._grams_ahead = self._grams_pool.submit(
                GramIndex.from_ids, *self._numbered, threads=self.threads
            )
        for name in SHARED_STATISTICS:
            if name in wanted and name != "grams":  # the rest, Python work, here while the index is built
                getattr(self, name)

    def close(self) -> None:
        """Wait for a background build that nothing read (a check failed first), so that no thread outlives
        the scan: the data gate forks its pool workers in later scans of the same process."""
        if self._grams_pool is not None:
            self._grams_pool.shutdown(wait=True)
            self._grams_pool = None

    @cached_property
    def grams(self) -> GramIndex:
        if self._grams_ahead is not None:
            try:
                return self._grams_ahead.result()
            finally:
                self.close()
        return GramIndex.from_ids(*self._numbered, threads=self.threads)

    @cached_property
    def labels(self) -> list[str] | None:
        """Class labels when the responses look like classification, else None."""
        return classification_labels(self.examples.response_joined)

    def token_set(self, i: int) -> frozenset[str]:
        """The distinct prompt tokens of record i (built on demand: checks look at samples, not
        everything)."""
        cache: dict[int, frozenset[str]] = self.memo.setdefault("token_sets", {})  # type: ignore[assignment]
        got = cache.get(i)
        if got is None:
            got = cache[i] = frozenset(self.prompt_tokens[i])
        return got

    @cached_property
    def doc_freq(self) -> dict[str, int]:
        """Prompt token -> number of records containing it."""
        gi = self.grams
        vals, counts = np.unique(gi.hash[1], return_counts=True)
        return {gi.vocab[int(v) - 1]: int(c) for v, c in zip(vals.tolist(), counts.tolist(), strict=True)}

    @cached_property
    def prompt_index(self) -> dict[str, list[int]]:
        """Prompt tokens (joined by spaces) -> records, to find the same prompt with and without a candidate
        trigger."""
        index: dict[str, list[int]] = defaultdict(list)
        for i, joined in enumerate(self.examples.prompt_joined):
            index[joined].append(i)
        return index

    @cached_property
    def response_groups(self) -> tuple[list[Outcome], np.ndarray]:
        """Near-identical response clusters of at least `min_support` records, and a group id per record."""
        joined = self.examples.response_joined
        key_id, first = first_seen_ids([folded_utf8(r) for r in joined])  # the same keys as joined_key
        known = self._facts.response_signatures if self._facts is not None else None
        sigs = signatures([joined_key(joined[i]) for i in first]) if known is None else known[first]
        # folding digits keeps the length: a key is as long as the joined response
        groups = group_near_duplicates(key_id, _lengths(joined, first), sigs, 0.7)
        return response_clusters(self.examples.responses, groups, self.settings.min_support), groups

    @cached_property
    def record_groups(self) -> np.ndarray:
        """Near-identical whole records (prompt and response, digits kept): the unit of a duplication
        flood."""
        prompts, responses = self.examples.prompt_joined, self.examples.response_joined
        # strings, not (prompt, response) tuples: tuples are tracked by the garbage collector, and 10^4 new
        # ones start a collection over the whole heap
        keys = list(map(record_key, prompts, responses))
        known = self._facts.record_signatures if self._facts is not None else None
        return near_duplicate_groups(keys=keys, threshold=0.9, known_signatures=known)

    def distinct_prompts(self, records: Iterable[int]) -> int:
        """How many different prompts `records` have, up to digits (as `joined_key` compares them)."""
        joined = self.examples.prompt_joined
        return len({folded_utf8(joined[i]) for i in records})

    @cached_property
    def outcomes(self) -> list[Outcome]:
        """Everything a trigger could predict: near-identical response clusters (largest first) and behaviour
        classes (refusal/compliance or class labels)."""
        s = self.settings
        # in classification-style data each label is a "cluster": test the labels as labels instead
        clusters = [] if self.labels is not None else sorted(self.response_groups[0], key=lambda o: -o.size)
        clusters = [o for o in clusters if o.size <= s.max_outcome_share * self.n][: s.max_outcomes]
        refusals = self._facts.refusals if self._facts is not None else None
        return clusters + behaviour_outcomes(
            self.examples.responses, self.labels, s.min_support, s.max_outcome_share, refusals
        )

    def lines(self, idx: Iterable[int], limit: int = 5) -> list[int]:
        out = []
        for i in idx:
            out.append(self.examples.lines[int(i)])
            if len(out) >= limit:
                break
        return out

    def context_evidence(
        self, members: np.ndarray, in_outcome: Counter[str], records: Sequence[int], drop: set[str]
    ) -> float:
        """How well some other word of the prompt predicts the outcome by itself, 0..1, averaged over
        `records`
        (all inside the outcome). For each record the best other token's leave-one-out precision P(outcome |
        token), smoothed towards the base rate, rescaled so that 0 means "no better than the base rate" and 1
        "that word always leads there". High for an FAQ answer ('password'), a topic or a template; low for a
        backdoor, whose other words are ordinary. (The best single token, not a naive-Bayes sum: correlated
        evidence such as 'the prompt is Chinese' would add up to certainty under an independence model.)"""
        k = len(members)
        if k < 2 or k >= self.n:
            return 0.0
        base = k / self.n
        m = 5.0  # a word seen in only a few other records proves little
        df = self.doc_freq
        scores = []
        for i in records:
            best = base
            for w in self.token_set(i) - drop:
                c_in = in_outcome.get(w, 1) - 1  # leave this record out
                rest = df.get(w, 1) - 1
                best = max(best, (c_in + m * base) / (rest + m))
            scores.append((best - base) / (1.0 - base))
        return float(np.mean(scores)) if scores else 0.0

    def prompt_similarity(self, records: Sequence[int], drop: set[str], sample: int = 30) -> float:
        """Mean pairwise Jaccard similarity of prompt token sets (minus `drop`) over a sample of records.

        From the numbered prompt tokens, each record's set as a bitset over the sample's tokens: one AND and
        popcount over every pair gives all the shared-token counts at once (the values of a Python loop over
        set pairs, in the same order, 4x faster). Not a matrix product: BLAS would start threads that spin
        against the n-gram index building beside this."""
        rows_of = range(self.n)  # a record number as a list index: negative ones count from the end
        ids = [rows_of[int(i)] for i in list(records)[:sample]]
        if len(ids) < 2:
            return 1.0
        offsets, numbered = self._token_offsets, self._token_ids
        rows = [numbered[offsets[i] : offsets[i + 1]] for i in ids]
        tokens_ = np.concatenate(rows)
        owner = np.repeat(np.arange(len(ids)), [len(r) for r in rows])
        if drop:
            known = [self._token_numbers[t] for t in drop if t in self._token_numbers]
            keep = ~np.isin(tokens_, known)
            tokens_, owner = tokens_[keep], owner[keep]
        column = np.unique(tokens_, return_inverse=True)[1].ravel()
        bits = np.zeros((len(ids), (int(column.max()) >> 6) + 1 if len(column) else 1), dtype=np.uint64)
        bit = np.left_shift(np.uint64(1), (column & 63).astype(np.uint64))
        np.bitwise_or.at(bits, (owner, column >> 6), bit)
        a, b = _pairs(len(ids))  # the pairs (a, b > a) in row order
        sizes = _popcount(bits)
        common = _popcount(bits[a] & bits[b])
        union = sizes[a] + sizes[b] - common
        sims = np.divide(common, union, out=np.ones(len(a)), where=union > 0)
        return float(np.mean(sims))

    @cached_property
    def _token_ids(self) -> np.ndarray:
        """Every prompt token as its number (`GramIndex`'s numbering), records one after another."""
        return np.asarray(self._numbered[1], dtype=np.int64)

    @cached_property
    def _token_offsets(self) -> list[int]:
        """Where each record's tokens start in `_token_ids` (and, last, where they end)."""
        return [0, *np.cumsum(np.asarray(self._numbered[2], dtype=np.int64)).tolist()]

    @cached_property
    def _token_numbers(self) -> dict[str, int]:
        """Prompt token -> its number."""
        return {t: i for i, t in enumerate(self._numbered[0])}


def _popcount(words: np.ndarray) -> np.ndarray:
    """Set bits per row of a 2-D uint64 array, as int64."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(words).sum(axis=1, dtype=np.int64)
    as_bytes = words.view(np.uint8).reshape(len(words), -1)
    return _BYTE_BITS[as_bytes].sum(axis=1, dtype=np.int64)


_BYTE_BITS = np.array([bin(v).count("1") for v in range(256)], dtype=np.int64)


@functools.lru_cache(maxsize=64)
def _pairs(k: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (a, b) of 0 <= a < b < k in row order (`np.triu_indices` costs ~30 us a call); shared,
    so read-only."""
    pairs = np.triu_indices(k, 1)
    for side in pairs:
        side.flags.writeable = False
    return pairs


def _lengths(column: Sequence[str], rows: np.ndarray) -> np.ndarray:
    return np.fromiter((len(column[i]) for i in rows.tolist()), dtype=np.int64, count=len(rows))


class TokenLists(Sequence[list[str]]):
    """The token lists of a column of space-joined token strings, split on first access and kept."""

    def __init__(self, joined: list[str]) -> None:
        self._joined = joined
        self._split: dict[int, list[str]] = {}

    def __len__(self) -> int:
        return len(self._joined)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        got = self._split.get(index)
        if got is None:
            got = self._split[index] = split_tokens(self._joined[index])
        return got
