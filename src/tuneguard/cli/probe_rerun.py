"""`tuneguard probe rerun`: re-probe registered versions with the current suites and judges (FT-7, BM-6)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from tuneguard.core import UserError, load_policy, tuneguard_home

from .common import JSON_HELP, console, emit_json, err_console, table


def default_refs(versions: list[dict[str, Any]]) -> list[str]:
    """Every name's latest version plus every version an alias points at (what is or may be deployed)."""
    latest: dict[str, int] = {}
    chosen: set[tuple[str, int]] = set()
    for v in versions:
        latest[v["name"]] = max(latest.get(v["name"], 0), v["version"])
        if v.get("aliases"):
            chosen.add((v["name"], v["version"]))
    chosen.update(latest.items())
    return [f"{n}@v{k}" for n, k in sorted(chosen)]


RefsArg = Annotated[
    list[str] | None, typer.Argument(help="NAME, NAME@vN or NAME:alias (default: latest and aliased).")
]
SuiteOpt = Annotated[
    str | None, typer.Option("--suite", "-s", help="Comma-separated suites (default: as last time).")
]
LimitOpt = Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most N items per suite.")]
CacheOpt = Annotated[
    bool, typer.Option("--cache/--no-cache", help="Reuse cached generations of the same weights.")
]
JsonOpt = Annotated[str | None, typer.Option("--json", help=JSON_HELP)]
PolicyOpt = Annotated[Path | None, typer.Option("--policy", help="tuneguard.toml to use.")]


def rerun_cmd(
    refs: RefsArg = None,
    suite: SuiteOpt = None,
    limit: LimitOpt = None,
    use_cache: CacheOpt = False,
    json_out: JsonOpt = None,
    policy_file: PolicyOpt = None,
) -> None:
    """Re-probe registered versions and report what changed since their last probe run.

    Without REFS: every name's latest version and every aliased version. Each version is pulled into a
    private temporary folder (verified, decrypted, wiped afterwards), probed with the current suites and
    judges, and compared with the last run on the same weights: paired exact McNemar when that run's
    report is still on disk, per-suite rates otherwise. Exit 1 when any version regressed.
    Schedule it (cron or CI), e.g. weekly: 0 3 * * 1 tuneguard probe rerun --json rerun.json

    Example: tuneguard probe rerun support-bot:staging --limit 12 --json rerun.json
    """
    import warnings

    from tuneguard.probe.rerun import rerun_folder
    from tuneguard.registry import Registry

    # Library deprecation notices (transformers renames) are noise in a scheduled job's mail.
    warnings.filterwarnings("ignore", category=FutureWarning)

    policy = load_policy(policy_file)
    suites = [s for s in suite.split(",") if s] if suite else None
    out_dir = tuneguard_home(create=True) / "probe" / "reruns"
    outcomes = []
    with Registry.open(policy=policy) as registry:
        targets = refs or default_refs(registry.list())
        if not targets:
            raise UserError("the registry holds no versions yet; push one with `tuneguard registry push`")
        for ref in targets:
            name, number = registry.resolve(ref)
            exact = f"{name}@v{number}"
            with tempfile.TemporaryDirectory(prefix="tuneguard-rerun-") as tmp:  # created 0700
                folder = Path(registry.pull(exact, Path(tmp) / "model"))
                err_console.print(f"re-probing {exact} ({ref})")
                outcomes.append(rerun_folder(
                    exact, folder, suites=suites, limit=limit, policy=policy, out_dir=out_dir,
                    cache=use_cache, progress=err_console.is_terminal,
                ))
    docs = [o.to_dict() for o in outcomes]
    if json_out:
        emit_json({"reruns": docs}, json_out)
    if json_out != "-":
        _print(docs)
    if any(o.regressed for o in outcomes):
        raise typer.Exit(1)


def _fmt(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)


def _print(docs: list[dict[str, Any]]) -> None:
    rows = []
    for d in docs:
        o = d["overall"] or {}
        rows.append([d["ref"], "overall", _fmt(o.get("base_rate")), _fmt(o.get("tuned_rate")),
                     _fmt(o.get("p_value")), d["verdict"], f"#{d['previous_seq'] or '-'} -> #{d['seq']}"])
        for c in d["changes"]:
            rows.append(["", c["suite"], _fmt(c["r_before"]), _fmt(c["r_now"]), "", "", ""])
    console.print(table("Probe re-assessment (R before -> now)",
                        ["version", "suite", "R before", "R now", "p", "verdict", "ledger"], rows))
