"""Speed-up of `data scan --engine ray` with workers, against the local engine, on one generated chat corpus.

Run: .venv/bin/python bench/data_ray.py --mb 20            (default 20 MB; --mb 5 for a quick run)

Each configuration runs in its own process (local 1 and 2 workers; Ray 1 and 2 workers on a private local Ray
instance sized to the workers; with --repeat N, N rounds over them), on the same file, with every default
check (PII, secrets, cleaning with exact and near-duplicates, poisoning). Ray's start-up (`ray.init`) is timed
apart from the scan. Each process scans twice: the cold scan includes worker processes starting and building
their recognizers, the warm scan is the steady state (what a large file sees). The poisoning statistics run on
the driver in both engines, so the records phase is the part that workers can speed up. The findings of every
run are hashed: the table says whether they are identical to the local single-worker run. The machine's load
average is printed, because on a shared machine it bounds what the second worker can add; the CPU seconds of
the whole process tree during the warm scan (driver, pool or Ray processes) and the cores they amount to show
how much of the machine a run actually got, and the Ray engine's CPU overhead per record against the local
engine.

The physical limit is measured in the same rounds: two copies of the local single-worker scan run side by
side, their warm scans started together. They share nothing, so what two processes of this workload gain on
this machine at that moment (2 x one copy alone / the pair) is the ceiling for any x2 run. On the shared
2-core VM of bench/RESULTS.md it moves from minute to minute, between ~1.2x (each copy of the pair needs more
CPU seconds than one copy alone) and ~2.0x. Each x2 / x1 is reported as a share of that ceiling, per round
and from each job's best run; a ceiling that comes out above 2x (the single run was slowed) is capped at 2x.

The bound of any split of the records into two processes is measured too ("split"): two copies of the local
single-worker scan side by side, one on each half of the corpus. They exchange nothing and share no tally, so
the slower half's records phase is the shortest records phase two workers can have here. The poisoning
statistics after the last record need every example, so they cannot be split that way: the bound of a
2-worker scan is that records phase plus the local x2 run's own tail, and x2 / x1 is also reported as a share
of the speed-up that bound allows.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

CHILD = """
import hashlib, json, resource, sys, time
import orjson, psutil
from tuneguard.core.policy import DataPolicy
from tuneguard.data.checks import parse_checks
from tuneguard.data.pipeline import scan_dataset
path, engine, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
paired = len(sys.argv) > 4  # one of two copies run side by side: start the warm scan when told to
startup = 0.0
if engine == "ray":
    from tuneguard.data import ray_engine
    t = time.perf_counter()
    ray_engine.connect(None, workers)
    startup = time.perf_counter() - t
def tree_cpu():
    # CPU seconds of this process, its reaped children (local pool workers) and every live descendant
    # (Ray's raylet, GCS and worker processes), so the Ray engine's own overhead is counted too.
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        total += ru.ru_utime + ru.ru_stime
    for proc in psutil.Process().children(recursive=True):
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total
runs = []
for i in range(2):  # cold (worker processes start, recognizers build), then warm (same processes)
    if paired and i == 1:
        print("ready", flush=True)
        sys.stdin.readline()
    t, c = time.perf_counter(), tree_cpu()
    r = scan_dataset(path, DataPolicy(), parse_checks([]), workers=workers, engine=engine)
    runs.append((time.perf_counter() - t, r))
cpu = tree_cpu() - c
digest = hashlib.sha256(orjson.dumps(r["findings"], option=orjson.OPT_SORT_KEYS)).hexdigest()
(scan, cold), (warm_scan, warm) = runs
print(json.dumps({"startup_s": startup, "scan_s": scan, "records_s": cold["stats"]["seconds"],
                  "poison_s": cold["stats"]["poison_seconds"], "warm_scan_s": warm_scan,
                  "warm_records_s": warm["stats"]["seconds"], "records": cold["stats"]["records"],
                  "findings": cold["stats"]["findings"], "digest": digest,
                  "same_twice": cold["findings"] == warm["findings"], "warm_cpu_s": cpu}))
"""


def _env() -> dict[str, str]:
    env = {**os.environ, "TUNEGUARD_HOME": tempfile.mkdtemp(), "PYTHONPATH": str(REPO / "src")}
    env.pop("RAY_ADDRESS", None)  # always a private local instance
    return env


def run(path: Path, engine: str, workers: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), engine, str(workers)], env=_env(),
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} x{workers} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_pair(paths: tuple[Path, Path]) -> dict:
    """Two copies of the local single-worker scan, one on each path, whose warm scans start together.

    On the same path twice: the machine's own ceiling for two processes. Two copies do twice the work of one,
    with no coordination at all, so 2 x (one copy alone) / (the pair's time) is the most that two workers can
    gain here, measured on this very workload. On the two halves of the corpus: the records phase of a
    perfect split (see the module docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        logs = [Path(tmp) / f"copy{i}.err" for i in range(2)]
        procs = []
        try:
            for path, log in zip(paths, logs, strict=True):  # stderr to a file: an unread pipe could stall
                with log.open("w") as err:
                    argv = [sys.executable, "-c", CHILD, str(path), "local", "1", "paired"]
                    procs.append(subprocess.Popen(argv, env=_env(), stdin=subprocess.PIPE,
                                                  stdout=subprocess.PIPE, stderr=err, text=True))
            for proc, log in zip(procs, logs, strict=True):
                for line in proc.stdout:  # up to "ready"; any other line before it is skipped
                    if line.strip() == "ready":
                        break
                else:
                    raise SystemExit(f"paired local x1 failed:\n{log.read_text()[-3000:]}")
            for proc in procs:
                proc.stdin.write("go\n")
                proc.stdin.flush()
            outs = []
            for proc, log in zip(procs, logs, strict=True):
                out, _ = proc.communicate(timeout=3600)
                if proc.returncode != 0:
                    raise SystemExit(f"paired local x1 failed:\n{log.read_text()[-3000:]}")
                outs.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    return {"warm_scan_s": max(o["warm_scan_s"] for o in outs),
            "warm_records_s": max(o["warm_records_s"] for o in outs),
            "warm_cpu_s": sum(o["warm_cpu_s"] for o in outs), "digests": {o["digest"] for o in outs}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=20.0, help="corpus size in MB")
    ap.add_argument("--engines", default="local,ray", choices=("local,ray", "local"), metavar="ENGINES",
                    help="engines to compare: local,ray (default) or local")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds over all configurations (the table shows each one's best run; the speed-up "
                         "per round is printed as a median and range)")
    args = ap.parse_args()
    from data_pii import build_corpus

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.jsonl"
        records = build_corpus(path, args.mb)
        size = path.stat().st_size
        print(f"corpus: {records:,} records, {size / 1e6:.1f} MB; "
              f"sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:16]}")
        halves = _halves(path, Path(tmp))
        loads = [os.getloadavg()[0]]
        configs = [(engine, workers) for engine in args.engines.split(",") for workers in (1, 2)]
        jobs = [*configs, "pair", "split"]
        pairs = {"pair": (path, path), "split": halves}
        rounds: list[dict] = []
        # Round-robin, not one configuration after another: this shared VM's speed drifts by up to 2x within
        # minutes, so x2 is compared with the x1 run of the same round (seconds apart); each round starts one
        # job later than the one before, so that no configuration always runs first or last.
        for r in range(args.repeat):
            rounds.append({})
            for job in jobs[r % len(jobs):] + jobs[: r % len(jobs)]:
                rounds[-1][job] = run_pair(pairs[job]) if job in pairs else run(path, *job)
                loads.append(os.getloadavg()[0])
        results = []
        for engine, workers in configs:
            best = min((rnd[(engine, workers)] for rnd in rounds), key=lambda r: r["warm_scan_s"])
            results.append((engine, workers, best))
            print(f"  {engine} x{workers}: scan {best['scan_s']:.2f} s (records {best['records_s']:.2f} s, "
                  f"poisoning {best['poison_s']:.2f} s), start-up {best['startup_s']:.2f} s; warm scan "
                  f"{best['warm_scan_s']:.2f} s (records {best['warm_records_s']:.2f} s)", flush=True)
        for engine in dict.fromkeys(e for e, _ in configs):
            one, two = [rnd[(engine, 1)] for rnd in rounds], [rnd[(engine, 2)] for rnd in rounds]
            whole = sorted(a["warm_scan_s"] / b["warm_scan_s"] for a, b in zip(one, two, strict=True))
            rec = sorted(a["warm_records_s"] / b["warm_records_s"] for a, b in zip(one, two, strict=True))
            print(f"  {engine} x2 / x1 per round (warm): whole scan median {statistics.median(whole):.2f}x "
                  f"({whole[0]:.2f}-{whole[-1]:.2f}), records phase median {statistics.median(rec):.2f}x "
                  f"({rec[0]:.2f}-{rec[-1]:.2f}), {len(rounds)} rounds")
        _print_ceiling(rounds, [e for e, _ in configs[::2]])
        _print_split_bound(rounds)
    base = results[0][2]
    ray1 = results[2][2] if len(results) > 2 else base
    if any(rnd["pair"]["digests"] != {base["digest"]} for rnd in rounds):
        print("  WARNING: a paired copy's findings differ from the local single-worker run")
    print()
    print("| engine | workers | Ray start-up s | cold scan s | warm scan s (records + poisoning) "
          "| warm MB/s | vs local x1 | vs same engine x1 | records phase vs same engine x1 | warm CPU s "
          "(cores used) | same findings |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for engine, workers, r in results:
        one = base if engine == "local" else ray1
        same = r["digest"] == base["digest"] and r["same_twice"]
        warm, rec = r["warm_scan_s"], r["warm_records_s"]
        print(f"| {engine} | {workers} | {r['startup_s']:.2f} | {r['scan_s']:.2f} | {warm:.2f} ({rec:.2f} + "
              f"{warm - rec:.2f}) | {size / warm / 1e6:.2f} | {base['warm_scan_s'] / warm:.2f}x | "
              f"{one['warm_scan_s'] / warm:.2f}x | {one['warm_records_s'] / rec:.2f}x | "
              f"{r['warm_cpu_s']:.1f} ({r['warm_cpu_s'] / warm:.2f}) | {'yes' if same else 'NO'} |")
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"\nfindings: {base['findings']:,}; load average (1 min) during the runs: "
          f"{min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} CPUs; {now}")


def _print_ceiling(rounds: list[dict], engines: list[str]) -> None:
    """The machine's ceiling for two processes (2 x local x1 / the pair), per round and from each job's best
    run, and each engine's x2 / x1 as a share of it. Best runs: on a shared machine other tenants only ever
    slow a run down, so each job's fastest run is the one nearest to the machine alone."""
    ceilings, shares = [], {e: [] for e in engines}
    for i, rnd in enumerate(rounds, 1):
        pair, one = rnd["pair"], rnd[("local", 1)]
        ceiling = 2 * one["warm_scan_s"] / pair["warm_scan_s"]
        ceilings.append(ceiling)
        line = (f"  round {i}: two local x1 copies side by side {pair['warm_scan_s']:.2f} s (CPU "
                f"{pair['warm_cpu_s']:.1f} s against 2 x {one['warm_cpu_s']:.1f} s alone): ceiling "
                f"{ceiling:.2f}x")
        if ceiling > 2:  # two copies cannot beat 2x: this round's single run was slowed (load, noise)
            ceiling = ceilings[-1] = 2.0
            line += " (above 2x: the single run was slowed; capped at 2.00x)"
        for engine in engines:
            speedup = rnd[(engine, 1)]["warm_scan_s"] / rnd[(engine, 2)]["warm_scan_s"]
            shares[engine].append(speedup / ceiling)
            line += f"; {engine} x2/x1 {speedup:.2f}x = {speedup / ceiling:.0%} of it"
        print(line)
    print(f"  machine ceiling for 2 processes per round: median {statistics.median(ceilings):.2f}x "
          f"({min(ceilings):.2f}-{max(ceilings):.2f}); x2/x1 as a share of the same round's ceiling: "
          + ", ".join(f"{e} median {statistics.median(v):.0%} ({min(v):.0%}-{max(v):.0%})"
                      for e, v in shares.items()))

    def best(job) -> float:
        return min(rnd[job]["warm_scan_s"] for rnd in rounds)

    ceiling = min(2.0, 2 * best(("local", 1)) / best("pair"))
    line = (f"  best runs: local x1 {best(('local', 1)):.2f} s, pair {best('pair'):.2f} s, ceiling "
            f"{ceiling:.2f}x")
    for engine in engines:
        speedup = best((engine, 1)) / best((engine, 2))
        line += f"; {engine} x2/x1 {speedup:.2f}x = {speedup / ceiling:.0%} of it"
    print(line)


def _halves(path: Path, folder: Path) -> tuple[Path, Path]:
    """The corpus's first and second half of lines, as two files."""
    lines = path.read_bytes().splitlines(keepends=True)
    out = (folder / "first-half.jsonl", folder / "second-half.jsonl")
    out[0].write_bytes(b"".join(lines[: len(lines) // 2]))
    out[1].write_bytes(b"".join(lines[len(lines) // 2 :]))
    return out


def _print_split_bound(rounds: list[dict]) -> None:
    """Per round: the records phase of a perfect split (the slower half), the local x2 run's tail, the
    speed-up they allow against local x1, and the share of it local x2 reached."""
    bounds, shares, records = [], [], []
    for i, rnd in enumerate(rounds, 1):
        split, one, two = rnd["split"], rnd[("local", 1)], rnd[("local", 2)]
        tail = two["warm_scan_s"] - two["warm_records_s"]
        bound = one["warm_scan_s"] / (split["warm_records_s"] + tail)
        speedup = one["warm_scan_s"] / two["warm_scan_s"]
        bounds.append(bound)
        shares.append(speedup / bound)
        records.append(split["warm_records_s"] / two["warm_records_s"])
        print(f"  round {i}: local x1 {one['warm_scan_s']:.2f} s (records {one['warm_records_s']:.2f}), x2 "
              f"{two['warm_scan_s']:.2f} s (records {two['warm_records_s']:.2f} + tail {tail:.2f}); halves "
              f"side by side, records {split['warm_records_s']:.2f} s; bound {bound:.2f}x; local x2/x1 "
              f"{speedup:.2f}x = {speedup / bound:.0%} of it")
    print(f"  bound of a 2-worker scan with its tail after the last record: median "
          f"{statistics.median(bounds):.2f}x ({min(bounds):.2f}-{max(bounds):.2f}); local x2/x1 as a share "
          f"of it: median {statistics.median(shares):.0%} ({min(shares):.0%}-{max(shares):.0%}); local x2 "
          f"records phase against the halves': median {statistics.median(records):.0%} "
          f"({min(records):.0%}-{max(records):.0%})")


if __name__ == "__main__":
    main()
