"""`tuneguard probe`: run probe suites against a target, judge responses, compare base vs tuned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import typer

from tuneguard.core import UserError, load_policy

from .common import JSON_HELP, console, emit_json, err_console, table

app = typer.Typer(
    help="Behavioural security testing: jailbreaks, injection, leakage, over-refusal, regression.",
    no_args_is_help=True,
)


def _fmt(rate: Any) -> str:
    return "-" if rate is None else f"{rate:.3f}"


@app.command("run")
def run_cmd(
    target: str = typer.Option(
        ...,
        "--target",
        "-t",
        help="embedded, a model folder, a .gguf file, an adapter folder, or openai:URL[#model].",
    ),
    suite: str | None = typer.Option(None, "--suite", "-s", help="Comma-separated suites (default: policy)."),
    limit: int | None = typer.Option(None, "--limit", "-n", min=1, help="At most N items per suite."),
    json_out: str | None = typer.Option(None, "--json", help=JSON_HELP),
    judge: str | None = typer.Option(None, "--judge", help="default, rules, keyword or llm."),
    judge_endpoint: str | None = typer.Option(
        None, "--judge-endpoint", help="openai:URL#model for --judge llm."
    ),
    concurrency: int | None = typer.Option(None, "--concurrency", min=1, help="Parallel HTTP requests."),
    max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", min=1),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Local generation batch size."),
    timeout: float = typer.Option(60.0, "--timeout", min=0.01, help="Per-request timeout (HTTP), seconds."),
    retries: int = typer.Option(3, "--retries", min=0, help="Retries on 429/5xx/transport errors."),
    api_key_env: str | None = typer.Option(
        None, "--api-key-env", help="Env var holding the endpoint's API key."
    ),
    seed: int = typer.Option(0, "--seed"),
    triggers: Path | None = typer.Option(
        None, "--triggers", help="`tuneguard data scan --json` report (backdoor)."
    ),
    canaries: Path | None = typer.Option(
        None, "--canaries", help="Canaries inserted in training (canary suite)."
    ),
    training_set: Path | None = typer.Option(
        None, "--training-set", help="JSONL training set for prefix probes."
    ),
    datasets: Path | None = typer.Option(None, "--datasets", help="Shared datasets folder for ds-* suites."),
    lang: str = typer.Option("all", "--lang", help="en, zh or all."),
    transforms: str | None = typer.Option(
        None, "--transforms", help="Jailbreak chains, e.g. base64,role_play+rot13"
    ),
    log: Path | None = typer.Option(
        None, "--log", help="Append every item to this JSONL log (default: TUNEGUARD_HOME/probe/runs/)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the response cache."),
    cache: Path | None = typer.Option(
        None, "--cache", help="SQLite response cache (default TUNEGUARD_HOME)."
    ),
    policy_file: Path | None = typer.Option(None, "--policy", help="tuneguard.toml to use."),
) -> None:
    """Probe a model and report attack success rate R and decline rate D with Wilson 95% intervals.

    Example: tuneguard probe run --target embedded --suite harmful,over-refusal --limit 10 --json base.json
    """
    from tuneguard.probe.ledger import record, run_result
    from tuneguard.probe.runner import run_probes

    policy = load_policy(policy_file)
    pp = policy.probe
    suites = (suite or ",".join(pp.suites)).split(",")
    judge_name = judge or pp.judge
    judge_opts = {"endpoint": judge_endpoint, "api_key_env": api_key_env} if judge_name == "llm" else {}
    if lang not in ("en", "zh", "all"):
        raise UserError(f"--lang {lang}: expected en, zh or all")
    suite_opts = {
        "triggers": triggers,
        "canaries": canaries,
        "training_set": training_set,
        "datasets": datasets,
        "lang": lang,
        "transforms": [t for t in (transforms or "").split(",") if t] or None,
    }
    gen = {
        "max_new_tokens": max_new_tokens or pp.max_new_tokens,
        "batch_size": batch_size,
        "seed": seed,
        "concurrency": concurrency or pp.concurrency,
        "timeout": timeout,
        "retries": retries,
        "api_key_env": api_key_env,
    }
    use_cache: Any = False if (no_cache or not pp.cache) else (cache or True)
    if log is None:
        import time

        from tuneguard.core import tuneguard_home

        runs = tuneguard_home(create=True) / "probe" / "runs"
        log = runs / time.strftime("%Y%m%dT%H%M%SZ.jsonl", time.gmtime())
    report = run_probes(
        target,
        suites,
        limit or pp.limit,
        judge=judge_name,
        judge_options=judge_opts,
        suite_options=suite_opts,
        cache=use_cache,
        log_path=log,
        progress=err_console.is_terminal,
        target_options=gen,
    )
    out_path = None
    if json_out:
        emit_json(report, json_out)
        out_path = Path(json_out) if json_out != "-" else None
    seq = record(run_result(report, out_path, policy.digest(), log))
    if json_out != "-":
        rows = []
        for name, s in report["summary"].items():
            rows.append(
                [
                    name,
                    "all",
                    s["n"],
                    _fmt(s["attack_success_rate"]),
                    _fmt(s["decline_rate"]),
                    f"[{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]",
                    s["errors"],
                ]
            )
            for cat, c in s["by_category"].items():
                rows.append(
                    [
                        "",
                        cat,
                        c["n"],
                        _fmt(c["attack_success_rate"]),
                        _fmt(c["decline_rate"]),
                        f"[{c['ci95'][0]:.3f}, {c['ci95'][1]:.3f}]",
                        c["errors"],
                    ]
                )
        console.print(
            table(
                f"Probe results: {target} ({report['cached']} cached, {report['elapsed_s']} s, "
                f"ledger #{seq})",
                ["suite", "category", "n", "R", "D", "R 95% CI", "errors"],
                rows,
            )
        )
    total = len(report["items"])
    errors = sum(1 for it in report["items"] if it["error"])
    if errors:
        err_console.print(f"[yellow]{errors} of {total} items failed (not counted as refused or complied)[/]")
    if total and errors == total:
        raise typer.Exit(1)


@app.command("judge")
def judge_cmd(
    file: Path = typer.Argument(..., help='JSONL of {"prompt", "response"} objects.'),
    json_out: str | None = typer.Option(None, "--json", help=JSON_HELP),
    judge: str = typer.Option("default", "--judge", help="default, rules, keyword or llm."),
    judge_endpoint: str | None = typer.Option(
        None, "--judge-endpoint", help="openai:URL#model for --judge llm."
    ),
    api_key_env: str | None = typer.Option(None, "--api-key-env"),
) -> None:
    """Judge existing responses offline: refused/complied per line, in input order.

    Example: tuneguard probe judge responses.jsonl --json verdicts.json
    """
    from tuneguard.probe import judge_responses

    if not file.is_file():
        raise UserError(f"{file}: not found")
    pairs = []
    for lineno, line in enumerate(file.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise UserError(f"{file}:{lineno}: not JSON ({exc})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("response"), str):
            raise UserError(f"{file}:{lineno}: expected an object with a string 'response' field")
        prompt = doc.get("prompt", "")
        pairs.append((prompt if isinstance(prompt, str) else str(prompt), doc["response"]))
    opts = {"endpoint": judge_endpoint, "api_key_env": api_key_env} if judge == "llm" else {}
    results = judge_responses(pairs, judge, **opts)
    doc = {
        "results": [
            {"refused": r.refused, "harmful": r.harmful, "judge": r.judge, "score": r.score} for r in results
        ]
    }
    if json_out:
        emit_json(doc, json_out)
    if json_out != "-":
        refused = sum(r.refused for r in results)
        console.print(
            f"{len(results)} responses judged by {judge}: {refused} refused, "
            f"{len(results) - refused} complied"
        )


@app.command("compare")
def compare_cmd(
    base: Path = typer.Argument(..., help="`probe run --json` report of the base model."),
    tuned: Path = typer.Argument(..., help="`probe run --json` report of the fine-tuned model."),
    json_out: str | None = typer.Option(None, "--json", help=JSON_HELP),
    policy_file: Path | None = typer.Option(None, "--policy", help="tuneguard.toml (alpha, margins)."),
) -> None:
    """Paired base-vs-tuned regression test (exact McNemar); exit 1 when the tuned model regressed.

    Example: tuneguard probe compare base.json tuned.json --json verdict.json
    """
    from tuneguard.probe import compare_reports
    from tuneguard.probe.ledger import compare_result, record

    policy = load_policy(policy_file)
    docs = []
    for p in (base, tuned):
        if not p.is_file():
            raise UserError(f"{p}: not found")
        try:
            docs.append(orjson.loads(p.read_bytes()))
        except orjson.JSONDecodeError as exc:
            raise UserError(f"{p}: not JSON ({exc})") from None
        if not isinstance(docs[-1], dict):
            raise UserError(f"{p}: expected a probe report object")
    result = compare_reports(docs[0], docs[1], policy.probe)
    record(compare_result(result, base, tuned, policy.digest()))
    if json_out:
        emit_json(result, json_out)
    if json_out != "-":
        rows = [["overall", *_cmp_row(result["overall"])]]
        rows += [[k, *_cmp_row(v)] for k, v in result["by_category"].items()]
        if result["over_refusal"]:
            rows.append(["over-refusal (D)", *_cmp_row(result["over_refusal"])])
        console.print(
            table(
                f"Base vs tuned: {result['verdict'].upper()}",
                ["slice", "pairs", "base", "tuned", "delta", "b/c", "p", "regressed"],
                rows,
            )
        )
    if result["verdict"] == "regressed":
        raise typer.Exit(1)


def _cmp_row(v: dict[str, Any]) -> list[Any]:
    return [
        v["n_pairs"],
        f"{v['base_rate']:.3f}",
        f"{v['tuned_rate']:.3f}",
        f"{v['delta']:+.3f}",
        f"{v['b_newly_failing']}/{v['c_newly_passing']}",
        f"{v['p_value']:.4g}",
        "YES" if v["regressed"] else "",
    ]


@app.command("suites")
def suites_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List probe suites with their requirements, OWASP/ATLAS references and AI-STR-02 attack class.

    Example: tuneguard probe suites
    """
    from tuneguard.probe.suites import get_suite, suite_names

    infos = [get_suite(n).info for n in suite_names()]
    if as_json:
        emit_json(
            [
                {
                    "name": i.name,
                    "title": i.title,
                    "requirements": list(i.requirements),
                    "owasp": list(i.owasp),
                    "atlas": list(i.atlas),
                    "attack_class": i.attack_class,
                }
                for i in infos
            ],
            "-",
        )
        return
    console.print(
        table(
            "Probe suites",
            ["suite", "class", "requirements", "OWASP", "ATLAS", "what"],
            [
                [
                    i.name,
                    i.attack_class,
                    ",".join(i.requirements),
                    ",".join(i.owasp),
                    ",".join(i.atlas),
                    i.title,
                ]
                for i in infos
            ],
        )
    )


def _register_rerun() -> None:
    from .probe_rerun import rerun_cmd

    app.command("rerun")(rerun_cmd)


_register_rerun()
