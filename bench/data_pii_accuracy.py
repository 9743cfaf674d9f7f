"""Per-entity precision and recall of tuneguard's PiiEngine and Presidio, side by side, on (1) a labelled
bilingual Faker corpus (en_US, en_GB, zh_CN, de_DE) with planted spans and hard negatives and (2) the
presidio-research synthetic set (/work/shared/datasets/presidio_synth_pii).

Run: .venv/bin/python bench/data_pii_accuracy.py [--n 3000] [--presidio-n 3000]

A prediction is a true positive when it overlaps a labelled span of the same entity type. Presidio runs its
predefined recognizers on a blank spaCy pipeline (no NER model can be downloaded here), so it has no PERSON.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from tuneguard.data import PiiEngine  # noqa: E402
from tuneguard.data.synth import CorpusBuilder  # noqa: E402

DATASET = Path("/work/shared/datasets/presidio_synth_pii/synth_dataset_v2.json")
STRUCTURED = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "URL",
              "MAC_ADDRESS", "CN_RESIDENT_ID", "CN_USCC", "CN_PASSPORT", "SECRET_AWS_KEY", "SECRET_GITHUB_TOKEN",  # noqa: E501
              "SECRET_SLACK_TOKEN", "SECRET_API_KEY", "SECRET_JWT", "SECRET_PRIVATE_KEY", "SECRET_PASSWORD")
PRESIDIO_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "URL",  # noqa: E501
                     "PERSON")


def presidio_analyzer():
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    blank = Path(tempfile.mkdtemp()) / "blank_en"
    spacy.blank("en").to_disk(blank)
    nlp = NlpEngineProvider(nlp_configuration={"nlp_engine_name": "spacy", "models": [
        {"lang_code": "en", "model_name": str(blank)}]}).create_engine()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp)
    analyzer = AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["en"])

    def find(text: str) -> list[tuple[str, int, int]]:
        return [(r.entity_type, r.start, r.end) for r in
                analyzer.analyze(text, language="en", entities=list(PRESIDIO_ENTITIES))]
    return find


def evaluate(docs: list[tuple[str, list[tuple[str, int, int]]]], find, entities: set[str]) -> dict[str, Counter]:  # noqa: E501
    stats: dict[str, Counter] = {}
    for text, gold in docs:
        pred = [p for p in find(text) if p[0] in entities]
        for entity, start, end in gold:
            if entity not in entities:
                continue
            hit = any(p[0] == entity and p[1] < end and start < p[2] for p in pred)
            stats.setdefault(entity, Counter())["tp" if hit else "fn"] += 1
        for entity, start, end in pred:
            if not any(g[0] == entity and g[1] < end and start < g[2] for g in gold):
                stats.setdefault(entity, Counter())["fp"] += 1
    return stats


def pr(c: Counter | None) -> tuple[str, str]:
    if not c:
        return "-", "-"
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else float("nan")
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else float("nan")
    return (f"{p:.3f}" if p == p else "-"), (f"{r:.3f}" if r == r else "-")


def table(title: str, ours: dict[str, Counter], theirs: dict[str, Counter] | None) -> None:
    print(f"\n### {title}\n")
    print("| entity | support | tuneguard P | tuneguard R | Presidio P | Presidio R |")
    print("|---|---:|---:|---:|---:|---:|")
    entities = sorted(set(ours) | set(theirs or {}))
    micro_ours, micro_theirs = Counter(), Counter()
    for e in entities:
        support = ours.get(e, Counter())["tp"] + ours.get(e, Counter())["fn"]
        p1, r1 = pr(ours.get(e))
        p2, r2 = pr(theirs.get(e)) if theirs is not None else ("n/a", "n/a")
        if theirs is not None and e not in PRESIDIO_ENTITIES:
            p2 = r2 = "not supported"
        print(f"| {e} | {support} | {p1} | {r1} | {p2} | {r2} |")
        if e in STRUCTURED:
            micro_ours.update(ours.get(e, Counter()))
            if theirs is not None:
                c = Counter(theirs.get(e, Counter()))
                if e not in PRESIDIO_ENTITIES:
                    c["fn"] += support  # it cannot find them at all
                micro_theirs.update(c)
    p1, r1 = pr(micro_ours)
    p2, r2 = pr(micro_theirs) if theirs is not None else ("n/a", "n/a")
    print(f"| **structured, micro** | {micro_ours['tp'] + micro_ours['fn']} | {p1} | {r1} | {p2} | {r2} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=3000, help="Faker samples (about 30%% hard negatives)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--skip-presidio", action="store_true")
    args = ap.parse_args()

    engine = PiiEngine()

    def ours(text: str) -> list[tuple[str, int, int]]:
        return [(s.entity, s.start, s.end) for s in engine.find(text)]

    theirs = None if args.skip_presidio else presidio_analyzer()
    samples = CorpusBuilder(args.seed).corpus(args.n)
    docs = [(s.text, [(p.entity, p.start, p.end) for p in s.spans]) for s in samples]
    all_entities = set(STRUCTURED) | {"PERSON", "LOCATION"}
    negatives = sum(1 for s in samples if s.negative)
    table(f"Faker bilingual corpus: {len(samples)} texts ({negatives} hard negatives), seed {args.seed}",
          evaluate(docs, ours, all_entities), None if theirs is None else evaluate(docs, theirs, all_entities))  # noqa: E501
    zh = [d for d, s in zip(docs, samples, strict=True) if s.locale == "zh_CN"]
    table(f"... of which zh_CN texts only ({len(zh)})", evaluate(zh, ours, all_entities),
          None if theirs is None else evaluate(zh, theirs, all_entities))
    if DATASET.exists():
        data = json.loads(DATASET.read_text())
        pdocs = [(r["full_text"], [(s["entity_type"], s["start_position"], s["end_position"]) for s in r["spans"]])  # noqa: E501
                 for r in data]
        shared = {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "PERSON"}  # noqa: E501
        table(f"presidio-research synth_dataset_v2 ({len(pdocs)} texts; entities both tools name)",
              evaluate(pdocs, ours, shared), None if theirs is None else evaluate(pdocs, theirs, shared))


if __name__ == "__main__":
    main()
