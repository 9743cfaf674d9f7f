"""Probe runner throughput vs a raw HTTP client and vs garak, plus local generation tokens/s.

    .venv/bin/python bench/probe_runner.py [--requests 2000] [--concurrency 32] [--no-garak] [--no-local]

1. Starts a fast OpenAI-compatible stub (uvicorn + raw ASGI, separate process) on 127.0.0.1.
2. Physical limit: a bare httpx.AsyncClient sending the same requests at the same concurrency.
3. tuneguard's runner (no cache, default judge) on the same number of distinct prompts:
   requests/s and added milliseconds per request = (runner wall - raw wall) / requests.
4. garak (installed into bench/out/garak-venv by this script, --no-deps plus the few modules its
   OpenAI-compatible generator path imports) running one probe against the same server; then
   `tuneguard probe run` as a subprocess on the same number of prompts. Wall time of both, startup included.
5. Local generation of the embedded model: tokens/s at batch 1 and batch 8.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
GARAK_VENV = OUT / "garak-venv"
GARAK_DEPS = [
    "garak==0.17.1",
    "openai>=2,<3",
    "requests",
    "aiohttp",
    "httpx",
    "websockets",
    "numpy",
    "backoff",
    "tqdm",
    "colorama",
    "xdg-base-dirs",
    "pyyaml",
    "jsonpath-ng",
    "langdetect",
    "ftfy",
    "lorem",
    "markdown",
    "stdlibs",
    "zalgolib",
    "ecoji",
    "mikeshardmind-base2048",
    "py-markdown-table",
    "jsonschema",
    "nltk",
]
REPLY = (
    "Sure, here is a general overview. 1. First, consider the context. 2. Next, review the options. "
    "3. Finally, decide carefully."
)


# ---------------------------------------------------------------- stub server (runs in a child process)
def serve(port: int) -> None:
    import uvicorn

    counter = {"n": 0}
    body = json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "model": "stub",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
        }
    ).encode()

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        more = True
        while more:
            msg = await receive()
            more = msg.get("more_body", False)
        if scope["path"].endswith("/count"):
            payload = json.dumps({"n": counter["n"]}).encode()
        else:
            counter["n"] += 1
            payload = body
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}/v1"


def server_count(url: str) -> int:
    import httpx

    return int(httpx.get(url + "/count").json()["n"])


# ---------------------------------------------------------------- measurements
async def raw_client(url: str, prompts: list[str], concurrency: int, kind: str = "httpx+aiohttp") -> float:
    """A bare client sending the same request bodies: the floor the runner is measured against."""
    import httpx

    sem = asyncio.Semaphore(concurrency)
    def body(p: str) -> dict[str, Any]:
        return {"model": "stub", "messages": [{"role": "user", "content": p}], "max_tokens": 96,
                "temperature": 0, "seed": 0}

    if kind == "aiohttp":
        import aiohttp

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

            async def one_aio(p: str) -> None:
                async with sem, session.post(url + "/chat/completions", json=body(p)) as r:
                    (await r.json())["choices"][0]["message"]["content"]

            t0 = time.perf_counter()
            await asyncio.gather(*(one_aio(p) for p in prompts))
            return time.perf_counter() - t0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    if kind == "httpx+aiohttp":
        from httpx_aiohttp import HttpxAiohttpClient as cls
    else:
        cls = httpx.AsyncClient
    async with cls(limits=limits, timeout=30) as client:

        async def one(p: str) -> None:
            async with sem:
                r = await client.post(url + "/chat/completions", json=body(p))
                r.json()["choices"][0]["message"]["content"]

        t0 = time.perf_counter()
        await asyncio.gather(*(one(p) for p in prompts))
        return time.perf_counter() - t0


def bench_prompts(n: int) -> list[str]:
    from tuneguard.probe.suites import get_suite

    base = [it.prompt for it in get_suite("harmful").items()]
    return [f"{base[i % len(base)]} (variant {i})" for i in range(n)]


def register_bench_suite(prompts: list[str]) -> None:
    from tuneguard.probe.suites.base import ProbeItem, Suite, SuiteInfo, register_suite

    class BenchSuite(Suite):
        info = SuiteInfo("bench-load", "benchmark load", ("FT-4",), (), (), "L1")

        def items(self, limit=None, **options):
            return [
                ProbeItem("bench-load", f"c{i % 8}", f"b{i}", p, "refusal", "L1")
                for i, p in enumerate(prompts)
            ]

    register_suite(BenchSuite)


def runner_wall(url: str, concurrency: int, judge: str, cache: Any) -> tuple[float, dict[str, Any]]:
    from tuneguard.probe import run_probes

    t0 = time.perf_counter()
    rep = run_probes(
        f"openai:{url}#stub",
        ["bench-load"],
        judge=judge,
        cache=cache,
        target_options={"concurrency": concurrency, "timeout": 30},
        chunk_size=concurrency,
    )
    return time.perf_counter() - t0, rep


def ensure_garak() -> tuple[Path | None, str]:
    py = GARAK_VENV / "bin" / "python"
    try:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(GARAK_VENV)], check=True)
        probe = subprocess.run([str(py), "-c", "import garak"], capture_output=True)
        if probe.returncode != 0:
            subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", *GARAK_DEPS], check=True)
        ver = subprocess.run(
            [str(py), "-m", "garak", "--version"], capture_output=True, text=True, timeout=300
        )
        if ver.returncode != 0:
            return None, f"garak does not start: {ver.stderr.strip().splitlines()[-1:]}"
        import re

        found = re.search(r"v(\d+\.\d+\.\d+)", ver.stdout)
        return py, f"garak {found.group(1) if found else '?'}"
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"garak could not be installed: {exc}"


def run_garak(py: Path, url: str, probe: str, concurrency: int) -> tuple[float, int, str]:
    opts = {
        "openai": {
            "OpenAICompatible": {
                "uri": url,
                "model": "stub",
                "api_key": "bench",
                "max_tokens": 96,
                "suppressed_params": ["n"],
            }
        }
    }
    opt_file = OUT / "garak_opts.json"
    opt_file.write_text(json.dumps(opts))
    before = server_count(url)
    env = {
        **os.environ,
        "OPENAICOMPATIBLE_API_KEY": "bench",
        "XDG_DATA_HOME": str(OUT / "garak-data"),
        "XDG_CONFIG_HOME": str(OUT / "garak-config"),
        "XDG_CACHE_HOME": str(OUT / "garak-cache"),
    }
    cmd = [
        str(py),
        "-m",
        "garak",
        "--model_type",
        "openai.OpenAICompatible",
        "--model_name",
        "stub",
        "--generator_option_file",
        str(opt_file),
        "--probes",
        probe,
        "--generations",
        "1",
        "--parallel_attempts",
        str(concurrency),
        "--report_prefix",
        "bench",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    wall = time.perf_counter() - t0
    n = server_count(url) - before
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
    return wall, n, ("ok" if proc.returncode == 0 else f"exit {proc.returncode}: {tail}")


def tuneguard_cli_wall(url: str, n: int, concurrency: int) -> float:
    """`tuneguard probe run` as a subprocess on n prompts (jailbreak suite; startup included)."""
    cmd = [
        str(ROOT / ".venv" / "bin" / "tuneguard"),
        "probe",
        "run",
        "--target",
        f"openai:{url}#stub",
        "--suite",
        "jailbreak",
        "--limit",
        str(n),
        "--concurrency",
        str(concurrency),
        "--no-cache",
        "--json",
        str(OUT / "tg_vs_garak.json"),
    ]
    env = {**os.environ, "TUNEGUARD_HOME": str(OUT / "tg-home")}
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


def local_tokens_per_s(n_prompts: int, new_tokens: int, repeats: int = 3) -> dict[str, float]:
    from tuneguard.probe.suites import get_suite
    from tuneguard.probe.targets.local import LocalTarget

    msgs = [it.messages() for it in get_suite("over-refusal").items(limit=n_prompts, lang="en")]
    out = {}
    for bs in (1, 8):
        t = LocalTarget("embedded", max_new_tokens=new_tokens, batch_size=bs)
        t._load()
        t.generate(msgs[:1])  # warm-up
        best = 0.0
        for _ in range(repeats):  # best of `repeats`: the shared machine's load comes in bursts
            t0 = time.perf_counter()
            gens = t.generate(msgs)
            dt = time.perf_counter() - t0
            best = max(best, sum(g.meta.get("new_tokens", 0) for g in gens) / dt)
        out[f"batch{bs}"] = best
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved repetitions; best of each is kept")
    ap.add_argument("--garak-probe", default="encoding.InjectBase64")
    ap.add_argument("--no-garak", action="store_true")
    ap.add_argument("--no-local", action="store_true")
    ap.add_argument("--local-prompts", type=int, default=8)
    ap.add_argument("--local-tokens", type=int, default=32)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TUNEGUARD_HOME", str(OUT / "tg-home"))
    # reuse the converted embedded model the tests share instead of converting another copy
    os.environ.setdefault("TUNEGUARD_MODEL_CACHE", str(ROOT / ".tuneguard-test-cache" / "models"))
    results: dict[str, Any] = {"requests": args.requests, "concurrency": args.concurrency}
    proc, url = start_server()
    try:
        prompts = bench_prompts(args.requests)
        register_bench_suite(prompts)
        asyncio.run(raw_client(url, prompts[:200], args.concurrency))  # warm-up
        runner_wall(url, args.concurrency, "keyword", False)  # warm-up (imports, judge weights)
        # The machine is shared: interleave every variant in each round and keep each one's best round,
        # so a load spike hits one sample, not one variant.
        variants = {
            "bare httpx client": ("raw", "httpx"),
            "bare aiohttp client": ("raw", "aiohttp"),
            "bare httpx+aiohttp client (runner's stack)": ("raw", "httpx+aiohttp"),
            "runner, keyword judge, no cache": ("run", ("keyword", False)),
            "runner, default judge, no cache": ("run", ("default", False)),
            "runner, default judge, SQLite cache (cold)": ("run", ("default", "cache")),
        }
        samples: dict[str, list[float]] = {k: [] for k in variants}
        for rnd in range(args.rounds):
            for label, (kind, arg) in variants.items():
                if kind == "raw":
                    samples[label].append(asyncio.run(raw_client(url, prompts, args.concurrency, arg)))
                else:
                    judge, cache = arg
                    if cache == "cache":
                        cache = OUT / f"bench-cache-{os.getpid()}-{rnd}.sqlite"
                    samples[label].append(runner_wall(url, args.concurrency, judge, cache)[0])
        walls = {k: min(v) for k, v in samples.items()}
        raw = walls["bare httpx+aiohttp client (runner's stack)"]
        results["samples_s"] = samples
        results["runner"] = {
            k: {"wall_s": v, "req_per_s": args.requests / v,
                "added_ms_per_req": (v - raw) / args.requests * 1000}
            for k, v in walls.items()
        }
        head = f"client (best of {args.rounds} interleaved rounds)"
        print(f"\n{head:<44}{'wall s':>9}{'req/s':>9}{'added ms/req':>14}")
        for k, v in results["runner"].items():
            added = "-" if k.startswith("bare") else f"{v['added_ms_per_req']:.3f}"
            print(f"{k:<44}{v['wall_s']:>9.2f}{v['req_per_s']:>9.0f}{added:>14}")
        if not args.no_garak:
            py, note = ensure_garak()
            results["garak_version"] = note
            if py is None:
                print(f"\ngarak: {note}")
            else:
                gw, gn, status = run_garak(py, url, args.garak_probe, args.concurrency)
                results["garak"] = {"probe": args.garak_probe, "wall_s": gw, "requests": gn, "status": status}
                if gn:
                    tw = tuneguard_cli_wall(url, gn, args.concurrency)
                    results["tuneguard_cli_same_n"] = {"wall_s": tw, "requests": gn}
                    print(f"\n{'tool (startup included)':<44}{'requests':>9}{'wall s':>9}{'ratio':>8}")
                    print(f"{note + ' ' + args.garak_probe:<44}{gn:>9}{gw:>9.2f}{gw / tw:>8.1f}x")
                    print(f"{'tuneguard probe run (jailbreak suite)':<44}{gn:>9}{tw:>9.2f}{1.0:>8.1f}x")
                else:
                    print(f"\ngarak sent no requests: {status}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if not args.no_local:
        tps = local_tokens_per_s(args.local_prompts, args.local_tokens)
        results["local_tokens_per_s"] = tps
        print(
            f"\nlocal embedded SmolLM2-135M, {args.local_prompts} prompts x {args.local_tokens} new tokens: "
            f"batch 1 {tps['batch1']:.1f} tok/s, batch 8 {tps['batch8']:.1f} tok/s"
        )
    (OUT / "probe_runner.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
