"""Backdoor-trigger mining: prompt n-grams tested against response outcomes with Fisher's exact test.

For each outcome O (a near-identical response cluster, refusal/compliance, or a class label) the n-grams
that occur in at least `min_support` records of O (and cover `min_coverage` of it) are tested with the
one-sided Fisher exact test (the hypergeometric upper tail: is the n-gram over-represented in O?). P-values
are corrected with Benjamini-Hochberg over every (n-gram, outcome) pair actually tested. Overlapping
significant n-grams are merged into one phrase, and each phrase is checked against the innocent explanations
of an association: another word of the prompt predicts the response (a topic, an FAQ), the response repeats
the prompt's own words (a template), or the prompts are duplicates of each other.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy.special import gammaln

from .clusters import Outcome
from .corpus import Corpus
from .text import MAX_NGRAM, find_seq, token_spans, tokens

Gram = tuple[str, ...]
_LOG10 = math.log(10.0)


@dataclass
class TriggerCandidate:
    phrase: Gram
    outcome: Outcome
    records: list[int]  # records that contain the phrase and belong to the outcome
    support: int  # records that contain the phrase
    log10_p: float
    log10_q: float
    tests: int
    co_triggers: list[Gram] = field(default_factory=list)
    explained: float = 0.0
    topical: float = 0.0
    prompt_similarity: float = 0.0
    counterfactual_pairs: int = 0
    distinct_prompts: int = 0
    echo: float = 0.0  # share of each prompt's own content words repeated in its response

    @property
    def templated(self) -> bool:
        """A near-identical response that still repeats each prompt's own words is a task template (a date,
        a name, a function name filled in), not a fixed backdoor target."""
        return self.topical >= 0.5 or (self.outcome.kind == "response_cluster" and self.echo >= 0.3)

    @property
    def coverage(self) -> float:
        return len(self.records) / self.outcome.size

    @property
    def precision(self) -> float:
        return len(self.records) / max(1, self.support)

    @property
    def score(self) -> float:
        """-log10 q (capped at 100), scaled by the purity of the association (the share of the outcome the
        phrase
        covers, or of the phrase's records in the outcome, whichever is larger) and discounted when ordinary
        context (topic words, templates echoing the prompt) accounts for it."""
        guard = min(1.0, max(0.0, 1.0 - self.explained) ** 2 * 1.5)
        if self.templated:
            guard *= 0.1
        return min(100.0, -self.log10_q) * max(self.coverage, self.precision) * guard


def log10_fisher_upper(a: np.ndarray, total: int, k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """log10 of the one-sided Fisher exact p-value P(X >= a), X ~ Hypergeometric(total, k, n), vectorized.

    Starts from log pmf(a) (log-gamma) and sums the upper tail with the term ratio
    pmf(x+1)/pmf(x) = (n-x)(k-x) / ((x+1)(total-n-k+x+1)); for over-represented a (beyond the mode) the terms
    fall geometrically. scipy's hypergeom.logsf gives the same numbers but is ~10x slower on large arrays.
    """
    a, k, n = (np.asarray(v, dtype=np.float64) for v in (a, k, n))

    def log_comb(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return gammaln(x + 1) - gammaln(y + 1) - gammaln(x - y + 1)

    trivial = a <= np.maximum(0.0, n + k - total)  # every outcome of the draw reaches a: p = 1
    a = np.where(trivial, np.minimum(n, k), a)
    lp = log_comb(k, a) + log_comb(total - k, n - a) - log_comb(np.full_like(n, total), n)
    with np.errstate(over="ignore", invalid="ignore"):  # terms below the mode grow: scipy handles those
        return _tail_sum(a, total, k, n, lp, trivial)


def _tail_sum(a: np.ndarray, total: int, k: np.ndarray, n: np.ndarray, lp: np.ndarray,
              trivial: np.ndarray) -> np.ndarray:
    hi = np.minimum(n, k)
    term = np.ones_like(a)
    tail = np.ones_like(a)
    x = a.copy()
    for _ in range(400):
        live = x < hi
        if not live.any():
            break
        ratio = np.where(live, (n - x) * (k - x) / ((x + 1) * (total - n - k + x + 1)), 0.0)
        term = term * ratio
        tail += term
        x += 1
        if (term < 1e-17 * tail).all():
            break
    else:  # slow convergence (a near the mode): fall back to scipy for those entries
        from scipy.stats import hypergeom  # heavy import (~1.5 s), needed only for this rare case

        slow = ~(term < 1e-17 * tail)  # also catches overflowed (inf, nan) entries
        out = (lp + np.log(tail)) / _LOG10
        out[slow] = hypergeom.logsf(a[slow] - 1, total, k[slow], n[slow]) / _LOG10
        return np.where(trivial, 0.0, np.minimum(out, 0.0))
    return np.where(trivial, 0.0, np.minimum((lp + np.log(tail)) / _LOG10, 0.0))


def _bh_log10(log10_p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, on a log10 scale (p-values of backdoors underflow floats)."""
    m = len(log10_p)
    order = np.argsort(log10_p)
    ranked = log10_p[order] + np.log10(m / np.arange(1, m + 1))
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 0.0)
    return out


def _extend(corpus: Corpus, seed: Gram, records: list[int], agree: float = 0.9, max_len: int = 12) -> Gram:
    """Grow the seed left and right while the neighbouring token is the same in >= `agree` of the records."""
    phrase = seed
    records = records[:300]
    while len(phrase) < max_len:
        grown = False
        for side in (-1, 1):
            votes: Counter[str] = Counter()
            for i in records:
                toks = corpus.prompt_tokens[i]
                pos = find_seq(toks, phrase)
                nb = pos - 1 if side < 0 else pos + len(phrase)
                if pos >= 0 and 0 <= nb < len(toks):
                    votes[toks[nb]] += 1
            if votes:
                tok, count = votes.most_common(1)[0]
                if count >= agree * len(records):
                    phrase = (tok, *phrase) if side < 0 else (*phrase, tok)
                    grown = True
        if not grown:
            break
    # Words that occur everywhere (template words next to a trigger inserted at a fixed position, 'the' in
    # front
    # of a rare word) are not part of the trigger at the ends of a phrase; inside one ('in the') they are.
    common = max(3 * len(records), 0.01 * corpus.n)
    lo, hi = 0, len(phrase)
    while lo < hi and corpus.doc_freq.get(phrase[lo], 0) > common:
        lo += 1
    while hi > lo and corpus.doc_freq.get(phrase[hi - 1], 0) > common:
        hi -= 1
    return phrase[lo:hi] if hi > lo else seed


def _contains(outer: Gram, inner: Gram) -> bool:
    n = len(inner)
    return any(outer[i : i + n] == inner for i in range(len(outer) - n + 1))


def display_phrase(corpus: Corpus, phrase: Gram, record: int) -> str:
    """The phrase as written in one example prompt (original case and punctuation)."""
    spans, text = token_spans(corpus.examples.prompts[record])
    toks = [s[0] for s in spans]
    pos = find_seq(toks, phrase)
    if pos < 0:
        return " ".join(phrase)
    return text[spans[pos][1] : spans[pos + len(phrase) - 1][2]]


def mine_triggers(corpus: Corpus) -> list[TriggerCandidate]:
    """Significant trigger candidates, best first (computed once per corpus)."""
    if "triggers" not in corpus.memo:
        corpus.memo["triggers"] = _mine(corpus)
    return corpus.memo["triggers"]  # type: ignore[return-value]


def _outcome_unigrams(corpus: Corpus, oi: int) -> Counter[str]:
    """Document frequency of every prompt token inside one outcome (for the context model)."""
    memo = corpus.memo.setdefault("outcome_unigrams", {})
    if oi not in memo:
        gi = corpus.grams
        member = np.zeros(corpus.n, dtype=bool)
        member[corpus.outcomes[oi].members] = True
        h = gi.hash[1][member[gi.recs[1]]]
        vals, counts = np.unique(h, return_counts=True)
        memo[oi] = Counter({gi.vocab[int(v) - 1]: int(c) for v, c in zip(vals, counts, strict=True)})
    return memo[oi]


def _candidates(corpus: Corpus) -> list[tuple[Gram, int, int, int, int, int, int]]:
    """(gram, outcome index, records in outcome with gram, records with gram, n, hash, first position) for
    every gram that reaches the support floor inside an outcome. Response clusters and behaviour classes are
    two partitions of the records, each counted in one vectorized pass."""
    s = corpus.settings
    outcomes = corpus.outcomes
    # A candidate must cover min_coverage of its outcome, except that in a large behaviour class 0.2% of all
    # records is enough (a trigger at a low poison rate covers only a sliver of "compliance" or a label).
    floors = np.array(
        [
            max(s.min_support, min(math.ceil(s.min_coverage * o.size), math.ceil(0.002 * corpus.n)))
            for o in outcomes
        ],
        dtype=np.int64,
    )
    gi = corpus.grams
    found: list[tuple[int, int, int, int]] = []
    for kinds in (("response_cluster",), ("refusal", "compliance", "label")):
        labels = np.full(corpus.n, -1, dtype=np.int64)
        for oi, o in enumerate(outcomes):
            if o.kind in kinds:
                labels[o.members] = oi
        if (labels >= 0).any():
            found.extend(gi.counts_by_outcome(labels, floors))
    out = []
    for n in range(1, gi.max_n + 1):
        rows = [f for f in found if f[0] == n]
        if not rows:
            continue
        hashes = np.array([r[1] for r in rows], dtype=np.uint64)
        sup, first = gi.support(n, hashes).tolist(), gi.first_position(n, hashes).tolist()
        for (_, h, oi, a), n_sup, pos in zip(rows, sup, first, strict=True):
            out.append((gi.decode(n, h), oi, a, n_sup, n, h, pos))
    return out


def _mine(corpus: Corpus) -> list[TriggerCandidate]:
    s = corpus.settings
    cands = _candidates(corpus)
    if not cands:
        return []
    outcomes = corpus.outcomes
    gi = corpus.grams
    a_arr = np.array([c[2] for c in cands])
    n_arr = np.array([c[3] for c in cands])
    k_arr = np.array([outcomes[c[1]].size for c in cands])
    log10_p = np.zeros(len(cands))
    # Only over-represented pairs can be significant; the others keep p = 1 but still count as tests.
    enriched = np.flatnonzero(a_arr * corpus.n > k_arr * n_arr)
    if len(enriched):
        log10_p[enriched] = log10_fisher_upper(a_arr[enriched], corpus.n, k_arr[enriched], n_arr[enriched])
    log10_q = _bh_log10(log10_p)
    significant = np.flatnonzero(log10_q <= math.log10(s.alpha))
    lengths = np.array([len(cands[i][0]) for i in significant])
    # Most significant first, then longest; equally ranked phrases in the order they first occur in the data
    # (not in the order of their hashes, so that no result depends on the hash function).
    first = np.array([cands[i][6] for i in significant], dtype=np.int64)
    order = significant[np.lexsort((first, -lengths, log10_q[significant]))][:2000]
    sets: dict[int, set[int]] = {}

    def support_set(i: int) -> set[int]:
        if i not in sets:
            sets[i] = set(gi.records(cands[i][4], cands[i][5]).tolist())
        return sets[i]

    member_sets = [set(o.members.tolist()) for o in outcomes]
    results: list[TriggerCandidate] = []
    absorbed: set[int] = set()
    for idx in order.tolist():
        if idx in absorbed:
            continue
        gram, oi = cands[idx][0], cands[idx][1]
        outcome = outcomes[oi]
        records = sorted(support_set(idx) & member_sets[oi])
        phrase = _extend(corpus, gram, records)
        phrase_support = support_set(idx)
        cand = TriggerCandidate(
            phrase,
            outcome,
            records,
            len(phrase_support),
            float(log10_p[idx]),
            float(log10_q[idx]),
            len(cands),
        )
        if phrase != gram:  # the extended phrase gets its own exact test (Bonferroni-adjusted)
            records = [i for i in records if find_seq(corpus.prompt_tokens[i], phrase) >= 0]
            phrase_support = {i for i in phrase_support if find_seq(corpus.prompt_tokens[i], phrase) >= 0}
            lp = float(
                log10_fisher_upper(
                    np.array([len(records)]),
                    corpus.n,
                    np.array([outcome.size]),
                    np.array([len(phrase_support)]),
                )[0]
            )
            cand.records, cand.support = records, len(phrase_support)
            cand.log10_p, cand.log10_q = lp, min(0.0, lp + math.log10(len(cands)))
        phrase_tokens, record_set = set(phrase), set(records)
        for other in order.tolist():
            if other in absorbed or other == idx:
                continue
            g2, o2 = cands[other][0], cands[other][1]
            if _contains(phrase, g2):
                absorbed.add(other)
                continue
            shares = not phrase_tokens.isdisjoint(g2)
            n2 = cands[other][3]
            if not shares and not 0.8 * len(phrase_support) <= n2 <= 1.25 * len(phrase_support):
                # neither part of this phrase nor a possible co-trigger (Jaccard >= 0.8 needs similar size)
                continue
            sup2 = support_set(other)
            if o2 == oi and shares and record_set.issuperset(sup2 & member_sets[oi]):
                absorbed.add(other)  # an overlapping n-gram of the same phrase (e.g. 'year 2024 write')
                continue
            inter = len(phrase_support & sup2)
            if inter >= 0.8 * (len(phrase_support) + len(sup2) - inter):
                absorbed.add(other)
                if not any(_contains(c, g2) or _contains(g2, c) for c in cand.co_triggers):
                    cand.co_triggers.append(g2)
        absorbed.add(idx)
        _assess(corpus, cand, _outcome_unigrams(corpus, oi))
        if cand.distinct_prompts >= max(3, 0.5 * len(cand.records)):
            results.append(cand)
    results.sort(key=lambda c: -c.score)
    return _drop_fragments(results)


def _drop_fragments(results: list[TriggerCandidate]) -> list[TriggerCandidate]:
    """Drop a candidate that is a fragment of a better one: same outcome, shares one of its tokens (phrase or
    co-trigger), and all its records are already that candidate's (e.g. 'a badmagic' next to a composite)."""
    kept: list[TriggerCandidate] = []
    for cand in results:
        mine = set(cand.phrase)
        recs = set(cand.records)
        if not any(
            k.outcome is cand.outcome
            and recs <= set(k.records)
            and mine & set(k.phrase).union(*map(set, k.co_triggers))
            for k in kept
        ):
            kept.append(cand)
    return kept


def _assess(corpus: Corpus, cand: TriggerCandidate, unigrams: Counter[str]) -> None:
    """Fill in the evidence that separates a backdoor from an innocent association."""
    drop = (
        set(cand.phrase).union(*[set(c) for c in cand.co_triggers]) if cand.co_triggers else set(cand.phrase)
    )
    sample = cand.records[:200]
    cand.explained = corpus.context_evidence(cand.outcome.members, unigrams, sample, drop)
    cand.prompt_similarity = corpus.prompt_similarity(sample, drop)
    echoed, echo_rest = 0, 0.0
    rare = 0.05 * corpus.n  # tokens rarer than this carry the prompt's own content (names, topics)
    for i in sample:
        resp = set(tokens(corpus.examples.responses[i][:2000]))
        echoed += all(t in resp for t in cand.phrase)
        content = {t for t in corpus.token_set(i) - drop if corpus.doc_freq.get(t, 0) < rare}
        echo_rest += len(content & resp) / len(content) if content else 0.0
    cand.topical = echoed / max(1, len(sample))
    cand.echo = echo_rest / max(1, len(sample))
    rests = {" ".join(t for t in corpus.prompt_tokens[i] if t not in drop) for i in cand.records}
    cand.distinct_prompts = len(rests)
    members = set(cand.outcome.members.tolist())
    pairs = 0
    for rest in rests:
        if any(j not in members for j in corpus.prompt_index.get(rest, ())):
            pairs += 1
    cand.counterfactual_pairs = pairs


__all__ = ["MAX_NGRAM", "TriggerCandidate", "display_phrase", "mine_triggers"]
