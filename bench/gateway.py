"""Gateway benchmark: direct vs through the gateway (default guards, 1 KB messages), a soak and a fuzz.

Same run, all on 127.0.0.1: a fast OpenAI-compatible upstream (raw ASGI on uvicorn) and the gateway each
run in their own process. The load generator for latency and throughput is `wrk` (C, with a Lua script for
the POST body) when it is on PATH, else an asyncio/aiohttp client in this process (its own CPU cost then
inflates both columns alike; the table says which one ran). An aiohttp client drives the 10,000-request soak
while the gateway's RSS is sampled, and schemathesis fuzzes the gateway's OpenAPI (no 5xx allowed; its
"coverage" phase is left out because schemathesis 4.32 crashes inside it on Python 3.11 with "AST
constructor recursion depth mismatch", a tool bug). Load generator, upstream and gateway share this
machine's cores; the table reports how much CPU each used during the throughput phase (CPU seconds per
wall second = cores), and `--pin` puts load generator + upstream on CPU 0 and the gateway (and its audit
process) on CPU 1.

    .venv/bin/python bench/gateway.py                 # full run (about 2 minutes)
    .venv/bin/python bench/gateway.py --quick         # smaller: 5 s phases, 2,000-request soak
    .venv/bin/python bench/gateway.py --record        # replace the "## serve:" section of bench/RESULTS.md

Targets (issue 9): added latency p50 <= 3 ms and p99 <= 15 ms; >= 500 requests/s; soak with no errors and flat
memory; schemathesis finds no 5xx.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import orjson
from gateway_load import Load, lua_script, pin_to, soak

ROOT = Path(__file__).resolve().parents[1]
REPLY_1K = (
    (
        "Thanks for the question. Here is a short summary of the situation and the next steps we suggest "
        "for your team. "
    )
    * 10
)[:1024]


# -- the fast upstream (its own process) ------------------------------------------------------------------
def upstream_app():  # type: ignore[no-untyped-def]
    chat = orjson.dumps(
        {
            "id": "u1",
            "object": "chat.completion",
            "model": "fast",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": REPLY_1K}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 200, "completion_tokens": 200, "total_tokens": 400},
        }
    )
    completion = orjson.dumps(
        {
            "id": "u2",
            "object": "text_completion",
            "model": "fast",
            "choices": [{"index": 0, "text": REPLY_1K, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 200, "completion_tokens": 200, "total_tokens": 400},
        }
    )
    models = orjson.dumps({"object": "list", "data": [{"id": "fast", "object": "model"}]})

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        path = scope["path"]
        stream = False
        if scope["method"] == "POST":
            try:
                stream = orjson.loads(body).get("stream") is True
            except (orjson.JSONDecodeError, AttributeError):
                stream = False
        if stream:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")],
                }
            )
            for i in range(0, len(REPLY_1K), 128):
                piece = REPLY_1K[i : i + 128]
                choice = (
                    {"index": 0, "delta": {"content": piece}}
                    if "chat" in path
                    else {"index": 0, "text": piece}
                )
                await send(
                    {
                        "type": "http.response.body",
                        "more_body": True,
                        "body": b"data: " + orjson.dumps({"id": "s", "choices": [choice]}) + b"\n\n",
                    }
                )
            await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})
            return
        out = chat if path == "/v1/chat/completions" else completion if path == "/v1/completions" else models
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": out})

    return app


def run_upstream(port: int) -> None:
    import uvicorn

    uvicorn.run(upstream_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def run_gateway(port: int, upstream: str) -> None:
    import uvicorn

    from tuneguard.core.policy import ServePolicy
    from tuneguard.serve.app import create_app

    # default guards and judge; only the per-key rate limit is lifted so the load generator is not throttled
    app = create_app(ServePolicy(rate_limit_per_minute=100_000_000), upstream=upstream)
    # the server settings `tuneguard serve` uses
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )


# -- the driver -------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, headers: dict[str, str] | None = None, timeout: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers=headers, timeout=2, trust_env=False).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def fuzz(url: str, key: str, examples: int, workdir: Path) -> tuple[int, str]:
    exe = Path(sys.executable).with_name("schemathesis")
    if not exe.exists():
        return -1, "schemathesis not installed"
    cmd = [
        str(exe),
        "run",
        f"{url}/openapi.json",
        "-H",
        f"Authorization: Bearer {key}",
        "--checks",
        "not_a_server_error",
        "-n",
        str(examples),
        "--phases",
        "examples,fuzzing",
        "--request-timeout",
        "10",
        "--workers",
        "2",
    ]
    proc = subprocess.run(  # cwd: schemathesis leaves a .schemathesis cache folder behind
        cmd,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=workdir,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    log = Path(tempfile.gettempdir()) / "tuneguard-bench-schemathesis.txt"
    log.write_text(proc.stdout + proc.stderr)
    lines = proc.stdout.strip().splitlines()
    summary = lines[next((i for i, ln in enumerate(lines) if "SUMMARY" in ln), max(0, len(lines) - 25)) :]
    tail = "\n".join(summary) + f"\n(full output: {log})"
    return proc.returncode, tail


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--role", choices=["driver", "upstream", "gateway"], default="driver", help=argparse.SUPPRESS
    )
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--upstream", help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="5 s phases, 2,000-request soak, 20 fuzz examples")
    ap.add_argument("--seconds", type=int, default=10, help="seconds per load phase")
    ap.add_argument("--soak", type=int, default=10_000, help="soak requests")
    ap.add_argument("--examples", type=int, default=50, help="schemathesis examples per operation")
    ap.add_argument("--no-fuzz", action="store_true")
    ap.add_argument("--python-load", action="store_true", help="use the Python load generator even with wrk")
    ap.add_argument("--pin", action="store_true", help="CPU 0: load generator + upstream; CPU 1: gateway")
    ap.add_argument("--record", action="store_true", help="replace the serve section of bench/RESULTS.md")
    args = ap.parse_args()
    if args.role == "upstream":
        return run_upstream(args.port)
    if args.role == "gateway":
        return run_gateway(args.port, args.upstream)
    if args.quick:
        args.seconds, args.soak, args.examples = 5, 2000, 20
    if args.pin and (os.cpu_count() or 1) < 2:
        raise SystemExit("--pin needs two CPUs")

    home = Path(tempfile.mkdtemp(prefix="tg-bench-"))
    env = {**os.environ, "TUNEGUARD_HOME": str(home)}
    os.environ["TUNEGUARD_HOME"] = str(home)
    from tuneguard.serve.keys import KeyStore

    key = KeyStore().create("bench", "user")[1]
    load_start = os.getloadavg()
    up_port, gw_port = free_port(), free_port()
    up, gw = f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{gw_port}"
    me = [sys.executable, __file__, "--role"]
    procs = [
        subprocess.Popen(
            [*me, "upstream", "--port", str(up_port)], env=env, preexec_fn=pin_to(0 if args.pin else None)
        ),
        subprocess.Popen(
            [*me, "gateway", "--port", str(gw_port), "--upstream", up],
            env=env,
            cwd=home,
            preexec_fn=pin_to(1 if args.pin else None),  # the audit process it spawns inherits the CPU
        ),
    ]
    try:
        wait_http(up + "/v1/models")
        wait_http(gw + "/healthz")
        import httpx

        print(f"gateway health: {httpx.get(gw + '/healthz', trust_env=False).json()}")
        pids = {"upstream": procs[0].pid, "gateway": procs[1].pid}
        load = Load(lua_script(home, key), key, pids, args.pin, wrk_ok=not args.python_load)
        print(f"load generator: {load.tool}")
        direct_url, gw_url = up + "/v1/chat/completions", gw + "/v1/chat/completions"
        for target in (direct_url, gw_url):  # warm both paths (guards compile, pools fill)
            load.run(target, 1, 4, 2)
        lat: dict[str, list[dict[str, float]]] = {"direct": [], "gateway": []}
        for _ in range(2):  # interleave so drift from other load on the machine hits both equally
            lat["direct"].append(load.run(direct_url, 1, 1, args.seconds))
            lat["gateway"].append(load.run(gw_url, 1, 1, args.seconds))
        thr = {
            "direct": load.run(direct_url, 2, 32, args.seconds),
            "gateway": load.run(gw_url, 2, 32, args.seconds),
        }
        med = {
            k: {m: statistics.median(r[m] for r in v) for m in ("p50", "p90", "p99", "errors")}
            for k, v in lat.items()
        }
        soak_res = soak(gw, key, args.soak, 16, procs[1].pid)
        fuzz_rc, fuzz_tail = (-1, "skipped") if args.no_fuzz else fuzz(gw, key, args.examples, home)
        final_health = httpx.get(gw + "/healthz", trust_env=False).json()
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            p.wait(30)
    from tuneguard.core import Ledger

    with Ledger(home / "ledger.db") as ledger:
        audited = sum(1 for _ in ledger.entries(stage="serve", kind="request"))
        chain_ok = ledger.verify().ok
    load_end = os.getloadavg()
    table = render(args, med, thr, soak_res, audited, chain_ok, fuzz_rc, load.tool)
    table += (
        f"\n\nLoad average (other developers' jobs on the same {os.cpu_count()} cores) at the start: "
        f"{load_start[0]:.1f} / {load_start[1]:.1f} / {load_start[2]:.1f}; at the end: "
        f"{load_end[0]:.1f} / {load_end[1]:.1f} / {load_end[2]:.1f}."
    )
    print(table)
    print("schemathesis:\n" + fuzz_tail)
    print(f"gateway /healthz at end: {final_health}")
    if args.record:
        record(args, table, load.tool)
    shutil.rmtree(home, ignore_errors=True)


def render(args, med, thr, soak_res, audited, chain_ok, fuzz_rc, tool) -> str:  # type: ignore[no-untyped-def]
    d, g, td, tg, sk = med["direct"], med["gateway"], thr["direct"], thr["gateway"], soak_res
    add50, add99, add90 = g["p50"] - d["p50"], g["p99"] - d["p99"], g["p90"] - d["p90"]
    growth = sk["rss_end"] - sk["rss_start"]
    errors = g["errors"] + tg["errors"]
    rss = f"{sk['rss_start']:.1f} -> {sk['rss_end']:.1f} (max {sk['rss_max']:.1f})"
    rows: list[tuple[str, str, str, str, str, bool | None]] = []

    def row(name: str, a: str = "", b: str = "", c: str = "", e: str = "", ok: bool | None = None) -> None:
        rows.append((name, a, b, c, e, ok))

    def pair(r: dict[str, float], x: str, y: str) -> str:
        return f"{r[x]:.2f} / {r[y]:.2f}"

    def cores(r: dict[str, float]) -> str:
        return " / ".join(
            f"{r[f'cores {n}']:.2f}" for n in ("load generator", "upstream", "gateway", "audit")
        )

    row(
        "latency p50, 1 conn (ms)", f"{d['p50']:.2f}", f"{g['p50']:.2f}", f"+{add50:.2f}", "<= +3", add50 <= 3
    )
    row("latency p90, 1 conn (ms)", f"{d['p90']:.2f}", f"{g['p90']:.2f}", f"+{add90:.2f}")
    row(
        "latency p99, 1 conn (ms)",
        f"{d['p99']:.2f}",
        f"{g['p99']:.2f}",
        f"+{add99:.2f}",
        "<= +15",
        add99 <= 15,
    )
    ratio = f"x{tg['rps'] / td['rps']:.2f}"
    row(
        "throughput, 32 conns (req/s)",
        f"{td['rps']:.0f}",
        f"{tg['rps']:.0f}",
        ratio,
        ">= 500",
        tg["rps"] >= 500,
    )
    row("p50 / p99 at 32 conns (ms)", pair(td, "p50", "p99"), pair(tg, "p50", "p99"))
    row("cores used at 32 conns: load gen / upstream / gateway / audit", cores(td), cores(tg))
    row(
        "CPU ms per request at 32 conns: gateway / audit process",
        "",
        pair(tg, "cpu_ms gateway", "cpu_ms audit"),
    )
    row("errors in load phases", f"{d['errors'] + td['errors']:.0f}", f"{errors:.0f}", "", "0", errors == 0)
    row(f"soak {args.soak} req, 16 conns, 10% SSE: errors", "", f"{sk['errors']}", "", "0", sk["errors"] == 0)
    row("soak throughput (req/s, python client)", "", f"{sk['rps']:.0f}")
    row("soak gateway RSS after warm-up -> end (MiB)", "", rss, f"{growth:+.1f}", "flat (< +20)", growth < 20)
    row("audit records in ledger / chain verifies", "", f"{audited} / {chain_ok}", "", "", chain_ok)
    row(f"schemathesis ({args.examples} examples/op): exit", "", str(fuzz_rc), "", "0 (no 5xx)", fuzz_rc == 0)
    lines = [
        f"| {a} | {b} | {c} | {x} | {e} | {'' if ok is None else 'yes' if ok else 'NO'} |"
        for a, b, c, x, e, ok in rows
    ]
    head = f"Load generator: {tool}.\n\n| measure | direct | gateway | added/ratio | target | ok |\n"
    head += "|---|---|---|---|---|---|\n"
    return head + "\n".join(lines)


def record(args, table: str, tool: str) -> None:  # type: ignore[no-untyped-def]
    """Replace the "## serve:" section of bench/RESULTS.md (other stages' sections are left as they are)."""
    size = "quick" if args.quick else "full"
    cpu = platform.machine()
    with contextlib.suppress(OSError):
        names = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = names[0].strip() if names else cpu
    machine = f"{cpu}, {os.cpu_count()} cores shared with other developers' jobs"
    pinning = (
        "pinned: load generator + upstream on CPU 0, gateway + audit process on CPU 1"
        if args.pin
        else "no pinning (the kernel schedules all processes on all cores)"
    )
    section = (
        f"## serve: gateway (bench/gateway.py, {size} size, {date.today()}, {machine})\n\n"
        f"Upstream: raw ASGI on uvicorn returning a 1 KB reply; client: {tool} (latency: 1 connection, "
        f"{args.seconds} s x2 interleaved, median; throughput: 2 threads, 32 connections); {pinning}; "
        f"gateway: default policy guards (input PII redact, injection block, output PII redact, judge "
        f"log/sampled), audit to the ledger. All traffic on 127.0.0.1.\n\n{table}\n\n"
    )
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text()
    m = re.search(r"^## serve:.*?(?=^## |\Z)", text, re.M | re.S)
    path.write_text(text[: m.start()] + section + text[m.end() :] if m else text.rstrip() + "\n\n" + section)


if __name__ == "__main__":
    main()
