"""The probe runner: expand suites into items, generate (cached, bounded, async), judge, log, summarise.

A run never hangs on a bad endpoint (targets carry timeouts and bounded retries) and never counts a
failed item as refused or complied: errors are their own column in the summary.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from tuneguard.core import UserError, tuneguard_home

from .cache import ResponseCache, cache_key
from .scoring import score_items
from .suites import ProbeItem, get_suite
from .suites.base import SuiteInfo
from .summary import summarize
from .targets import Target, load_target

REPORT_FORMAT = "tuneguard.probe-report/1"
PUBLIC_KEYS = ("suite", "category", "prompt_id", "prompt", "response", "refused", "harmful", "error")


def expand(
    suites: Sequence[str], limit: int | None, options: dict[str, Any]
) -> tuple[list[ProbeItem], dict[str, SuiteInfo]]:
    names = [s.strip() for s in suites if s.strip()]
    if not names:
        raise UserError("no suite given (known: see `tuneguard probe suites`)")
    objs = {n: get_suite(n) for n in names}  # unknown names raise before any work starts
    items: list[ProbeItem] = []
    for suite in objs.values():
        items.extend(suite.items(limit=limit, **options))
    return items, {n: s.info for n, s in objs.items()}


def run_probes(
    target: Target | str | Any, suites: Sequence[str] | str, limit: int | None = None, **kwargs: Any
) -> dict[str, Any]:
    """Run suites against a target and return the report dict (the `--json` shape). Safe to call from
    inside a running event loop (it then runs on a helper thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun_probes(target, suites, limit, **kwargs))
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["r"] = asyncio.run(arun_probes(target, suites, limit, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["e"] = exc

    t = threading.Thread(target=work, name="tuneguard-probe")
    t.start()
    t.join()
    if "e" in box:
        raise box["e"]
    return box["r"]


async def arun_probes(
    target: Target | str | Any,
    suites: Sequence[str] | str,
    limit: int | None = None,
    *,
    judge: str = "default",
    judge_options: dict[str, Any] | None = None,
    suite_options: dict[str, Any] | None = None,
    cache: bool | str | Path = True,
    log_path: str | Path | None = None,
    progress: bool = False,
    chunk_size: int | None = None,
    target_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if isinstance(suites, str):
        suites = suites.split(",")
    items, infos = expand(suites, limit, suite_options or {})
    spec = target if isinstance(target, str) else getattr(target, "id", "callable")
    tgt: Target = (
        load_target(target, **(target_options or {}))
        if isinstance(target, str) or (callable(target) and not hasattr(target, "agenerate"))
        else target
    )
    started = time.time()
    t0 = time.perf_counter()
    store = _open_cache(cache)
    log = _open_log(log_path)
    records = [_record(it) for it in items]
    keys = [cache_key(tgt.id, tgt.gen_params, it.messages()) for it in items]
    hits = store.get_many(keys) if store is not None else {}
    todo = []
    for rec, key in zip(records, keys, strict=True):
        if key in hits:
            rec["response"], rec["error"], rec["cached"] = hits[key], None, True
        else:
            todo.append((rec, key))
    bar = _Progress(len(records), progress, spec)
    bar.advance(len(records) - len(todo))
    try:
        size = chunk_size or max(1, getattr(tgt, "preferred_batch", 8))
        chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
        gate = asyncio.Semaphore(4)

        async def run_chunk(chunk: list[tuple[dict[str, Any], str]]) -> None:
            async with gate:
                gens = await tgt.agenerate([r["_messages"] for r, _k in chunk])
            rows = []
            for (rec, key), gen in zip(chunk, gens, strict=True):
                rec["response"], rec["error"], rec["latency_s"] = gen.text, gen.error, round(gen.latency_s, 4)
                if gen.error is None and store is not None:
                    rows.append((key, tgt.id, gen.text))
            if store is not None:
                store.put_many(rows)
            bar.advance(len(chunk))

        await asyncio.gather(*(run_chunk(c) for c in chunks))
    finally:
        bar.close()
        await tgt.aclose()
        if store is not None:
            store.close()
    gen_s = time.perf_counter() - t0
    score_items(records, judge, judge_options)
    public = [_public(r) for r in records]
    if log:
        with log.open("ab") as fh:
            for rec in public:
                fh.write(orjson.dumps(rec) + b"\n")
    report = {
        "format": REPORT_FORMAT,
        "target": str(spec),
        "target_info": {"id": tgt.id, **tgt.describe()},
        "judge": judge,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "elapsed_s": round(time.perf_counter() - t0, 3),
        "generation_s": round(gen_s, 3),
        "cached": sum(1 for r in records if r.get("cached")),
        "suites": {
            n: {
                "title": i.title,
                "requirements": list(i.requirements),
                "owasp": list(i.owasp),
                "atlas": list(i.atlas),
                "attack_class": i.attack_class,
            }
            for n, i in infos.items()
        },
        "items": public,
        "summary": summarize(public),
    }
    return report


def _record(it: ProbeItem) -> dict[str, Any]:
    return {
        "suite": it.suite,
        "category": it.category,
        "prompt_id": it.prompt_id,
        "prompt": it.prompt,
        "response": "",
        "refused": None,
        "harmful": None,
        "error": None,
        "attack_class": it.attack_class,
        "lang": it.lang,
        "_messages": it.messages(),
        "_scoring": it.scoring,
        "_expected": list(it.expected),
        "_meta": dict(it.meta),
    }


def _public(rec: dict[str, Any]) -> dict[str, Any]:
    out = {k: rec[k] for k in PUBLIC_KEYS}
    for k, v in rec.items():
        if k not in out and not k.startswith("_"):
            out[k] = v
    out["scoring"] = rec["_scoring"]
    if rec["_meta"]:
        out["meta"] = {k: v for k, v in rec["_meta"].items() if k != "response_pattern"}
    return out


def _open_cache(cache: bool | str | Path) -> ResponseCache | None:
    if cache is False or cache is None:
        return None
    path = tuneguard_home(create=True) / "probe" / "cache.sqlite" if cache is True else Path(cache)
    return ResponseCache(path)


def _open_log(log_path: str | Path | None) -> Path | None:
    if log_path is None:
        return None
    p = Path(log_path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


class _Progress:
    """A Rich progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, enabled: bool, label: str) -> None:
        self._p = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            from tuneguard.cli.common import err_console

            self._p = Progress(
                TextColumn("probing {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
            )
            self._p.start()
            self._task = self._p.add_task(str(label)[:40], total=total)

    def advance(self, n: int) -> None:
        if self._p is not None and n:
            self._p.advance(self._task, n)

    def close(self) -> None:
        if self._p is not None:
            self._p.stop()
