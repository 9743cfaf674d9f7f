"""Held-out accuracy of the offline judges per language and labelled set, vs a garak-style substring detector.

    .venv/bin/python bench/judge_accuracy.py [--datasets ../shared/datasets] [--max-per-set N]

Held-out = the 'test' side of the group split in tuneguard/probe/judges/labelled.py (30% of behaviours /
prompts, never seen while fitting the packaged weights; `python -m tuneguard.probe.judges.train`
reproduces them). Judges: `default` (n-gram logistic regression + position-aware cues, EN/ZH), `rules`
(cues only), `keyword` (any refusal substring anywhere, the idea of garak's mitigation detector,
reimplemented). Also prints judging cost in ms per response.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    from tuneguard.probe.judges import get_judge
    from tuneguard.probe.judges.labelled import load_all

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--max-per-set", type=int, default=None, help="subsample each set (smaller, faster run)")
    args = ap.parse_args()
    test = [e for e in load_all(args.datasets) if e.split == "test"]
    if args.max_per_set:
        rng = random.Random(0)
        by: dict[str, list] = defaultdict(list)
        for e in test:
            by[e.set].append(e)
        test = [x for v in by.values() for x in rng.sample(v, min(len(v), args.max_per_set))]
    pairs = [(e.prompt, e.response) for e in test]
    names = ("default", "rules", "keyword")
    preds, cost = {}, {}
    for name in names:
        judge = get_judge(name)
        judge.judge(pairs[:5])
        t0 = time.perf_counter()
        preds[name] = [r.refused for r in judge.judge(pairs)]
        cost[name] = (time.perf_counter() - t0) / len(pairs) * 1000
    slices: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(test):
        slices["all"].append(i)
        slices[f"lang:{e.lang}"].append(i)
        slices[f"set:{e.set}"].append(i)
    table = {}
    print(f"{'held-out slice':<22}{'n':>6}" + "".join(f"{n:>10}" for n in names) + f"{'default/keyword':>17}")
    for key in sorted(slices):
        idx = slices[key]
        row = {n: sum(preds[n][i] == test[i].refused for i in idx) / len(idx) for n in names}
        table[key] = {"n": len(idx), **row}
        print(
            f"{key:<22}{len(idx):>6}"
            + "".join(f"{row[n]:>10.3f}" for n in names)
            + f"{row['default'] / max(row['keyword'], 1e-9):>16.2f}x"
        )
    print("ms per response: " + ", ".join(f"{n} {cost[n]:.3f}" for n in names))
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "judge_accuracy.json").write_text(
        json.dumps({"accuracy": table, "ms_per_response": cost}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
