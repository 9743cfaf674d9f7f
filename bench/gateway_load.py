"""Load generators of bench/gateway.py: wrk with a Lua script for the POST body (or an asyncio/aiohttp
fallback), per-process CPU metering of a load phase, and the soak run with the gateway's RSS sampled."""

from __future__ import annotations

import asyncio
import os
import re
import resource
import shutil
import subprocess
import threading
import time
from pathlib import Path

import orjson

SENTENCE = (
    "The quarterly report shows that our support team resolved most tickets within two days, and customers "
    "mostly asked about billing, shipping times and the new mobile app. "
)
MESSAGE_1K = (SENTENCE * 8)[:1024]
_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}
CHAT_BODY = orjson.dumps({"model": "fast", "messages": [{"role": "user", "content": MESSAGE_1K}]})


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNIT[m.group(2)]


def pin_to(cpu: int | None):  # type: ignore[no-untyped-def]
    return None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))


def wrk(url: str, lua: Path, threads: int, conns: int, seconds: int, cpu: int | None) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(lua), url],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=pin_to(cpu),
    ).stdout
    res: dict[str, float] = {}
    for pct in ("50", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}"] = _ms(m.group(1)) if m else float("nan")
    res["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    res["requests"] = float(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["errors"] = float(bad.group(1) if bad else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    return res


def pyload(url: str, key: str, conns: int, seconds: int) -> dict[str, float]:
    """The fallback load generator: `conns` keep-alive connections posting CHAT_BODY for `seconds`."""
    import aiohttp

    lat: list[float] = []
    errors = 0

    async def drive() -> None:
        nonlocal errors
        headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        async with aiohttp.ClientSession(
            headers=headers, connector=aiohttp.TCPConnector(limit=conns), timeout=aiohttp.ClientTimeout(30)
        ) as session:
            deadline = time.perf_counter() + seconds

            async def worker() -> None:
                nonlocal errors
                while (t0 := time.perf_counter()) < deadline:
                    try:
                        async with session.post(url, data=CHAT_BODY) as r:
                            await r.read()
                            ok = r.status == 200
                    except (TimeoutError, aiohttp.ClientError):
                        ok = False
                    lat.append((time.perf_counter() - t0) * 1000)
                    errors += not ok

            await asyncio.gather(*(worker() for _ in range(conns)))

    started = time.perf_counter()
    asyncio.run(drive())
    wall = time.perf_counter() - started
    lat.sort()
    res = {f"p{q}": lat[min(len(lat) - 1, int(q / 100 * len(lat)))] for q in (50, 90, 99)}
    return {**res, "rps": len(lat) / wall, "requests": float(len(lat)), "errors": float(errors)}


class Load:
    """Runs one load phase with wrk (or the Python fallback) and meters every process's CPU during it."""

    def __init__(self, lua: Path, key: str, procs: dict[str, int], pin: bool, wrk_ok: bool = True) -> None:
        import psutil

        self.lua, self.key, self.pin = lua, key, pin
        self.tool = "wrk" if wrk_ok and shutil.which("wrk") else "python (aiohttp)"
        self.procs = {name: psutil.Process(pid) for name, pid in procs.items()}

    def _cpu(self) -> dict[str, float]:
        gw = self.procs["gateway"]
        out = {name: sum(p.cpu_times()[:2]) for name, p in self.procs.items()}
        out["audit"] = sum(sum(c.cpu_times()[:2]) for c in gw.children(recursive=True))
        who = resource.RUSAGE_CHILDREN if self.tool == "wrk" else resource.RUSAGE_SELF
        ru = resource.getrusage(who)
        out["load generator"] = ru.ru_utime + ru.ru_stime
        return out

    def run(self, url: str, threads: int, conns: int, seconds: int) -> dict[str, float]:
        before, t0 = self._cpu(), time.perf_counter()
        if self.tool == "wrk":
            res = wrk(url, self.lua, threads, conns, seconds, 0 if self.pin else None)
        else:
            res = pyload(url, self.key, conns, seconds)
        wall, after = time.perf_counter() - t0, self._cpu()
        for name in after:
            res[f"cores {name}"] = (after[name] - before[name]) / wall
            res[f"cpu_ms {name}"] = (after[name] - before[name]) / max(res["requests"], 1) * 1000
        return res


def lua_script(folder: Path, key: str) -> Path:
    path = folder / "post.lua"
    path.write_text(
        f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {key}"\nwrk.body = [==[{CHAT_BODY.decode()}]==]\n'
    )
    return path


def soak(url: str, key: str, total: int, conc: int, gw_pid: int) -> dict[str, float]:
    import psutil

    proc = psutil.Process(gw_pid)
    samples: list[tuple[int, float]] = []
    done = [0]
    errors = [0]
    stop = threading.Event()

    def sampler() -> None:
        while not stop.is_set():
            samples.append((done[0], proc.memory_info().rss / 2**20))
            time.sleep(0.5)

    body = CHAT_BODY

    async def drive() -> None:
        import aiohttp

        headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
        conn = aiohttp.TCPConnector(limit=conc)
        async with aiohttp.ClientSession(
            url, headers=headers, connector=conn, timeout=aiohttp.ClientTimeout(total=30)
        ) as session:
            queue = iter(range(total))

            async def worker() -> None:
                for i in queue:
                    stream = i % 10 == 9  # every tenth request streams
                    payload = body if not stream else body[:-1] + b',"stream":true}'
                    try:
                        async with session.post("/v1/chat/completions", data=payload) as r:
                            text = await r.text()
                            ok = r.status == 200 and (not stream or text.rstrip().endswith("[DONE]"))
                    except (TimeoutError, aiohttp.ClientError):
                        ok = False
                    errors[0] += not ok
                    done[0] += 1

            await asyncio.gather(*(worker() for _ in range(conc)))

    t = threading.Thread(target=sampler, daemon=True)
    t.start()
    started = time.perf_counter()
    asyncio.run(drive())
    elapsed = time.perf_counter() - started
    stop.set()
    t.join()
    samples.append((done[0], proc.memory_info().rss / 2**20))
    after_warm = [rss for n, rss in samples if n >= total * 0.2]
    return {
        "requests": done[0],
        "errors": errors[0],
        "seconds": elapsed,
        "rps": done[0] / elapsed,
        "rss_start": after_warm[0],
        "rss_end": after_warm[-1],
        "rss_max": max(after_warm),
        "rss_min": min(after_warm),
    }
