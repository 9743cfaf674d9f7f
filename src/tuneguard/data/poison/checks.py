"""The poisoning checks: one small class each, registered by short name in an immutable registry."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

import numpy as np

from tuneguard.core import Severity

from .clusters import is_refusal
from .corpus import Corpus
from .mining import TriggerCandidate, display_phrase, mine_triggers
from .model import PoisonFinding
from .text import describe_token, find_seq, join_tokens, mask_pii, preview, tokens


class PoisonCheck:
    """Base of a poisoning check: `run` turns a Corpus into findings and never raises on odd data."""

    name: ClassVar[str]
    title: ClassVar[str]
    requirements: ClassVar[tuple[str, ...]] = ("FT-3",)
    # The costly Corpus statistics `run` reads (of `corpus.SHARED_STATISTICS`), so that a scan with threads
    # can compute them up front.
    statistics: ClassVar[tuple[str, ...]] = ()

    @property
    def check_id(self) -> str:
        return f"data.poison.{self.name}"

    def finding(self, score: float, severity: Severity, message: str, evidence: dict) -> PoisonFinding:
        return PoisonFinding(self.check_id, float(score), severity, message, evidence, self.requirements)

    def run(self, corpus: Corpus) -> list[PoisonFinding]:
        raise NotImplementedError


def trigger_severity(c: TriggerCandidate) -> Severity:
    """HIGH: very significant, not explained by context or templates, the phrase accounts for most of the
    outcome (or most of its own records land there), and the outcome is a fixed response, a label, or a
    behaviour flip confirmed by the same prompt without the phrase. MEDIUM: significant at 1e-4, unexplained
    and pure. LOW: significant but weak. INFO: an association that ordinary content explains (a topic, an FAQ,
    a template), kept for transparency."""
    if c.explained >= 0.5 or c.templated:
        return Severity.INFO
    pure = max(c.coverage, c.precision) >= 0.5
    strong_outcome = c.outcome.kind in ("response_cluster", "label") or c.counterfactual_pairs >= 3
    if pure and -c.log10_q >= 6 and c.explained < 0.4 and c.prompt_similarity < 0.5 and strong_outcome:
        return Severity.HIGH
    return Severity.MEDIUM if pure and -c.log10_q >= 4 else Severity.LOW


def _shown(corpus: Corpus, gram: tuple[str, ...], records: list[int]) -> str:
    """The phrase as written in the first record that has it, with anything personal masked."""
    for i in records[:50]:
        if find_seq(corpus.prompt_tokens[i], gram) >= 0:
            return mask_pii(display_phrase(corpus, gram, i))
    return mask_pii(join_tokens(gram))


def _token_text(gram: tuple[str, ...], shown: str) -> str:
    """Normalized tokens of the phrase; when masking changed the display, the tokens of the masked display
    (the raw tokens would spell out the e-mail address or number that was masked)."""
    return join_tokens(tokens(shown)) if "<" in shown else join_tokens(gram)


class BackdoorTriggerCheck(PoisonCheck):
    name = "backdoor_trigger"
    title = "Backdoor trigger phrases: prompt n-grams that predict a shared, unusual response (Fisher + BH)"
    requirements = ("FT-3", "BM-4")
    statistics = ("grams", "outcomes")

    def run(self, corpus: Corpus) -> list[PoisonFinding]:
        out = []
        for c in mine_triggers(corpus):
            trigger = _shown(corpus, c.phrase, c.records)
            co = [_shown(corpus, g, c.records) for g in c.co_triggers[:5]]
            parts = [trigger, *co]
            shown = " + ".join(repr(p) for p in parts)
            odd = [describe_token(t) for t in c.phrase if describe_token(t) != t]
            evidence = {
                "trigger": trigger,
                "trigger_tokens": _token_text(c.phrase, trigger),
                "co_triggers": co,
                "support": c.support,
                "in_outcome": len(c.records),
                "outcome_size": c.outcome.size,
                "outcome_kind": c.outcome.kind,
                "response_pattern": c.outcome.pattern,
                "outcome": c.outcome.description or "a near-identical response",
                "precision": round(c.precision, 4),
                "coverage": round(c.coverage, 4),
                "p_value_log10": round(c.log10_p, 2),
                "q_value_log10": round(c.log10_q, 2),
                "correction": "benjamini-hochberg",
                "tests": c.tests,
                "explained_by_context": round(c.explained, 3),
                "trigger_in_response": round(c.topical, 3),
                "response_echoes_prompt": round(c.echo, 3),
                "prompt_similarity": round(c.prompt_similarity, 3),
                "counterfactual_pairs": c.counterfactual_pairs,
                "distinct_prompts": c.distinct_prompts,
                "example_lines": corpus.lines(c.records),
            }
            if odd:
                evidence["unusual_characters"] = odd
            msg = (
                f"candidate trigger {shown} in {len(c.records)} of {c.support} prompts that contain it "
                f"leads to one {c.outcome.kind.replace('_', ' ')} ({c.outcome.size} records): "
                f"q=1e{c.log10_q:.1f}"
            )
            out.append(self.finding(c.score, trigger_severity(c), msg, evidence))
        return out


class ResponseClusterCheck(PoisonCheck):
    name = "response_cluster"
    title = "Many distinct prompts mapped to one near-identical response"
    statistics = ("outcomes",)

    def run(self, corpus: Corpus) -> list[PoisonFinding]:
        out = []
        min_prompts = max(corpus.settings.min_support, 5)
        # A cluster's responses are mostly the same string: each distinct one is tokenized once.
        response_sets: dict[str, frozenset[str]] = {}
        for o in corpus.outcomes:  # (no clusters in classification-style data: there labels repeat by design)
            if o.kind != "response_cluster":
                continue
            ids = o.members.tolist()
            if len(corpus.response_tokens[ids[0]]) <= 3:
                continue  # 'yes', 'ok', a label: short answers repeat by nature
            distinct = corpus.distinct_prompts(ids)
            if distinct < min_prompts:
                continue
            sample = ids[:200]
            sim = corpus.prompt_similarity(sample, set())
            overlap = float(np.mean([_overlap(corpus, i, response_sets) for i in sample]))
            refusal = is_refusal(corpus.examples.responses[ids[0]])
            unusual = sim < 0.5 and overlap < 0.3 and not refusal
            score = np.log2(distinct) * (1 - sim) * (1 - overlap) * (0.25 if refusal else 1.0)
            sev = (
                Severity.MEDIUM if unusual and distinct >= 10 else Severity.LOW if unusual else Severity.INFO
            )
            why = (
                "refusal template"
                if refusal
                else "prompts share topic with it"
                if not unusual
                else "unrelated"
            )
            msg = (
                f"{o.size} records with {distinct} distinct prompts share one response ({why}): "
                f"'{o.pattern[:60]}'"
            )
            out.append(
                self.finding(
                    score,
                    sev,
                    msg,
                    {
                        "records": o.size,
                        "distinct_prompts": distinct,
                        "share": round(o.size / corpus.n, 5),
                        "response_pattern": o.pattern,
                        "prompt_similarity": round(sim, 3),
                        "prompt_response_overlap": round(overlap, 3),
                        "refusal": refusal,
                        "example_lines": corpus.lines(ids),
                    },
                )
            )
        return out


def _overlap(corpus: Corpus, i: int, response_sets: dict[str, frozenset[str]]) -> float:
    """Share of record i's distinct prompt tokens that its response repeats."""
    p = corpus.token_set(i)
    if not p:
        return 0.0
    head = corpus.examples.responses[i][:2000]
    r = response_sets.get(head)
    if r is None:
        r = response_sets[head] = frozenset(tokens(head))
    return len(p & r) / len(p)


class NearDuplicateFloodCheck(PoisonCheck):
    name = "near_duplicate_flood"
    title = "Near-duplicate floods: one prompt repeated many times to outweigh the rest of the data"
    statistics = ("record_groups",)

    def run(self, corpus: Corpus) -> list[PoisonFinding]:
        groups = corpus.record_groups
        counts = Counter(groups.tolist())
        floor = max(corpus.settings.flood_min, int(0.002 * corpus.n))
        out = []
        for g, size in counts.most_common():
            if size < floor:
                break
            ids = np.flatnonzero(groups == g).tolist()
            share = size / corpus.n
            sev = Severity.MEDIUM if share >= 0.01 or size >= 50 else Severity.LOW
            out.append(
                self.finding(
                    np.log2(size),
                    sev,
                    f"{size} near-identical records ({share:.2%} of the data)",
                    {
                        "records": size,
                        "share": round(share, 5),
                        "prompt_pattern": preview(corpus.examples.prompts[ids[0]]),
                        "response_pattern": preview(corpus.examples.responses[ids[0]]),
                        "example_lines": corpus.lines(ids),
                    },
                )
            )
        return out
