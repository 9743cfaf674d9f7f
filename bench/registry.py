"""Registry push/pull throughput and memory vs the physical limit, measured in the same run.

Baseline (what the issue names): `sha256sum` plus `openssl enc -aes-256-ctr` over the same files, run one
after the other (the work a push must do at minimum: hash for the signature, encrypt), and `openssl speed -evp
aes-256-gcm` for the raw cipher. Push and pull run in child processes of the real CLI so their peak RSS is
measured alone. Usage:

    .venv/bin/python bench/registry.py            # 1 GB model (the issue's size)
    .venv/bin/python bench/registry.py --mb 256   # smaller
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
from tuneguard.cli.main import main
start = time.perf_counter()
code = main(sys.argv[1:])
print(json.dumps({"code": code, "seconds": time.perf_counter() - start,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), file=sys.stderr)
"""


def make_model(folder: Path, mb: int) -> list[Path]:
    """Two weight shards (random, incompressible) plus small JSON files, like a safetensors checkpoint."""
    folder.mkdir(parents=True)
    files = []
    half = mb * (1 << 20) // 2
    for i in range(2):
        path = folder / f"model-0000{i + 1}-of-00002.safetensors"
        with open(path, "wb") as fh:
            left = half
            while left:
                chunk = os.urandom(min(left, 16 << 20))
                fh.write(chunk)
                left -= len(chunk)
        files.append(path)
    (folder / "config.json").write_text(json.dumps({"hidden_size": 576, "num_hidden_layers": 30}))
    (folder / "tokenizer.json").write_text(json.dumps({"vocab": {f"tok{i}": i for i in range(5000)}}))
    files += [folder / "config.json", folder / "tokenizer.json"]
    return files


def run_cli(args: list[str], env: dict[str, str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, capture_output=True, text=True)
    stats = json.loads(proc.stderr.strip().splitlines()[-1])
    if stats["code"] != 0:
        raise SystemExit(f"tuneguard {' '.join(args)} failed: {proc.stderr[-2000:]}")
    stats["stdout"] = proc.stdout.strip()
    return stats


def baseline(files: list[Path], out_dir: Path, fsync: bool) -> float:
    key, iv = "11" * 32, "22" * 16
    start = time.perf_counter()
    subprocess.run(["sha256sum", *map(str, files)], check=True, capture_output=True)
    for i, path in enumerate(files):
        out = out_dir / f"enc{i}"
        cmd = ["openssl", "enc", "-aes-256-ctr", "-K", key, "-iv", iv, "-in", str(path), "-out", str(out)]
        subprocess.run(cmd, check=True)
        if fsync:
            subprocess.run(["sync", str(out)], check=True)
    return time.perf_counter() - start


def openssl_gcm_mb_s() -> float:
    """openssl speed -evp aes-256-gcm, 16 KiB blocks, one core (MB/s)."""
    proc = subprocess.run(["openssl", "speed", "-seconds", "2", "-bytes", "16384", "-evp", "aes-256-gcm"],
                          capture_output=True, text=True, check=True)
    line = next(ln for ln in proc.stdout.splitlines() if ln.lower().startswith("aes-256-gcm"))
    return float(line.split()[-1].rstrip("k")) * 1000 / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024, help="model size in MiB (default 1024)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best is reported")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tg-bench-registry-"))
    try:
        files = make_model(work / "model", args.mb)
        total = sum(p.stat().st_size for p in files)
        env = {**os.environ, "TUNEGUARD_HOME": str(work / "home"), "PYTHONPATH": str(REPO / "src")}
        env.pop("TUNEGUARD_CONFIG", None)
        base, base_sync, push, pull = [], [], [], []
        for i in range(args.repeat):
            (work / "enc").mkdir()
            base.append(baseline(files, work / "enc", fsync=False))
            shutil.rmtree(work / "enc")
            (work / "enc").mkdir()
            base_sync.append(baseline(files, work / "enc", fsync=True))
            shutil.rmtree(work / "enc")
            push.append(run_cli(["registry", "push", str(work / "model"), "--name", "bench"], env))
            pull.append(run_cli(["registry", "pull", push[-1]["stdout"], "-o", str(work / f"out{i}")], env))
            shutil.rmtree(work / f"out{i}")
        gcm = openssl_gcm_mb_s()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mb = total / 1e6
    best = {"baseline": min(base), "baseline_fsync": min(base_sync),
            "push": min(r["seconds"] for r in push), "pull": min(r["seconds"] for r in pull)}
    rss = max(r["maxrss_mb"] for r in push + pull)
    print(f"model: {mb:.0f} MB in {len(files)} files; cores: {os.cpu_count()}; best of {args.repeat}")
    print(f"{'operation':<44}{'seconds':>9}{'MB/s':>9}{'x baseline':>12}")
    rows = [("sha256sum + openssl enc -aes-256-ctr", best["baseline"]),
            ("  same, + fsync of the output (like push)", best["baseline_fsync"]),
            ("tuneguard registry push (sign+encrypt+fsync)", best["push"]),
            ("tuneguard registry pull (decrypt+verify)", best["pull"])]
    for label, sec in rows:
        print(f"{label:<44}{sec:>9.2f}{mb / sec:>9.0f}{sec / best['baseline']:>12.2f}")
    print(f"openssl speed -evp aes-256-gcm (1 core, 16 KiB): {gcm:.0f} MB/s")
    print(f"peak RSS of push/pull processes: {rss:.0f} MB (goal < 300 MB)")
    print(json.dumps({"mb": round(mb), **{k: round(v, 3) for k, v in best.items()}, "gcm_mb_s": round(gcm),
                      "peak_rss_mb": round(rss)}))


if __name__ == "__main__":
    main()
