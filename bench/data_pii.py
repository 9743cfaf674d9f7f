"""Throughput and memory of the data gate vs Presidio on one generated bilingual (EN/ZH/DE) chat corpus.

Run: .venv/bin/python bench/data_pii.py --mb 100            (default 100 MB; --mb 10 for a quick run)
     .venv/bin/python bench/data_pii.py --mb 1000 --skip-presidio --workers 2   (peak RSS on a 1 GB file)

Prints one table: tuneguard end-to-end `data scan` (1 and 2 worker processes, PII+secret checks and all
default checks), the bare engine on the same texts, and Presidio's AnalyzerEngine with pattern recognizers
only on a blank spaCy pipeline, run on a sample of the same texts (its MB/s is extrapolated from the sample).
It also prints the floor of any pure-Python scan of this design, timed in the same run (parsing and walking
the records, the Hyperscan prefilter, the exact patterns, nothing else), the pattern matches per MB and the
cost of the barest Python loop over them: the per-match budget that 20 MB/s per core would leave.
Throughput is reported per wall second and per CPU second of the whole process tree (the machine is shared).
Peak RSS is the whole process tree (parent + workers), sampled every 50 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from tuneguard.data.synth import CorpusBuilder  # noqa: E402

FILLER_EN = ("Thanks for reaching out, I have checked the account settings and everything looks fine now.",
             "Could you restart the application and tell me whether the error still appears?",
             "The release notes for version 2.14.3 mention a fix for the timeout you described.",
             "Our office hours are Monday to Friday, 9am to 6pm, except public holidays.",
             "I understand the frustration; the refund usually takes five to seven business days.")
FILLER_ZH = ("您好，感谢您的耐心等待，我们已经为您查询了相关信息。",
             "请您重新登录后再试一次，如果问题仍然存在请告诉我们。",
             "根据公司规定，退款会在七个工作日内原路返回。", "我们的客服时间是周一至周五上午九点到下午六点。",
             "这个问题已经在最新版本中修复，请更新后使用。")


def build_corpus(path: Path, mb: float, seed: int = 0, pool: int = 12000) -> int:
    """Write a chat JSONL of about `mb` MB: about 60% of user turns carry planted PII, the rest is filler.

    User turns draw from `pool` generated PII texts, so values repeat once the corpus needs more than that;
    a process that has validated a value before answers from its memo tables (phone, IP), which favours one
    process over several workers that each warm their own. `--pool 100000` makes most values unique."""
    rng = random.Random(seed)
    builder = CorpusBuilder(seed)
    pii = [s.text for s in builder.corpus(pool, negative_share=0.25)]
    filler = list(FILLER_EN + FILLER_ZH) + [builder.fakers[loc].sentence(nb_words=14) for loc in
                                            ("en_US", "de_DE", "zh_CN") for _ in range(300)]
    target, written, n = int(mb * 1e6), 0, 0
    with open(path, "wb") as fh:
        while written < target:
            user = " ".join(rng.choice(pii) if rng.random() < 0.6 else rng.choice(filler)
                            for _ in range(rng.randint(1, 3)))
            answer = " ".join(rng.choice(filler) for _ in range(rng.randint(1, 3)))
            line = orjson.dumps({"messages": [{"role": "system", "content": "You are a helpful support agent."},  # noqa: E501
                                              {"role": "user", "content": user},
                                              {"role": "assistant", "content": answer}]}) + b"\n"
            fh.write(line)
            written += len(line)
            n += 1
    return n


SCAN = ("import json, sys\n"
        "from tuneguard.core.policy import DataPolicy\n"
        "from tuneguard.data.checks import parse_checks\n"
        "from tuneguard.data.pipeline import scan_dataset\n"
        "r = scan_dataset(sys.argv[1], DataPolicy(), parse_checks([sys.argv[3]]), workers=int(sys.argv[2]),"
        " keep_findings=0)\n"
        "print(json.dumps(r['stats']))\n")


def run_scan(path: Path, workers: int, checks: str) -> dict:
    """The `data scan` pipeline in a subprocess: wall and CPU MB/s, and the peak RSS of its process tree."""
    env = {**os.environ, "TUNEGUARD_HOME": tempfile.mkdtemp(), "PYTHONPATH": str(REPO / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = psutil.Popen([sys.executable, "-c", SCAN, str(path), str(workers), checks], env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        try:
            rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    wall = time.perf_counter() - started
    out = proc.stdout.read()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"scan failed with exit code {proc.returncode}")
    stats = json.loads(out)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    size = path.stat().st_size
    return {"mb_per_s": size / wall / 1e6, "mb_per_cpu_s": size / cpu / 1e6, "cpu_s": cpu, "wall_s": wall,
            "rss_mb": peak / 1e6, "findings": stats["findings"], "records": stats["records"]}


def field_texts(path: Path, limit_bytes: int) -> list[str]:
    texts, total = [], 0
    with open(path, "rb") as fh:
        for line in fh:
            for m in orjson.loads(line)["messages"]:
                texts.append(m["content"])
                total += len(m["content"].encode())
            if total >= limit_bytes:
                break
    return texts


def time_engine(texts: list[str]) -> tuple[float, int]:
    from tuneguard.data import PiiEngine

    engine = PiiEngine()
    engine.find("warm up a@b.com")
    size = sum(len(t.encode()) for t in texts)
    started = time.process_time()
    n = sum(len(engine.find(t)) for t in texts)
    return size / (time.process_time() - started) / 1e6, n


def time_floor(path: Path, limit_bytes: int) -> dict[str, float]:
    """What the steps every pure-Python scan of this design must take cost alone, per CPU second (best of 3),
    on the first `limit_bytes` of the file: parsing each line and walking its string fields, the Hyperscan
    prefilter over each field text, and the exact `re` pass of the patterns the prefilter let through. No
    validation, context scoring, findings or tallying: the sum is a bound on any Python-level tuning of
    the rest (short texts, which the engine remembers, count once, as in the engine)."""
    from tuneguard.data import PiiEngine
    from tuneguard.data.fields import string_fields
    from tuneguard.data.pii.matcher import CombinedMatcher
    from tuneguard.data.pii.spans import PiiSpan

    lines, read = [], 0
    with open(path, "rb") as fh:
        for line in fh:
            lines.append(line)
            read += len(line)
            if read >= limit_bytes:
                break
    size = read / 1e6
    recognizers = PiiEngine().recognizers
    matcher = CombinedMatcher(recognizers)
    texts: list[str] = []

    def best(step) -> float:
        times = []
        for _ in range(3):
            started = time.process_time()
            step()
            times.append(time.process_time() - started)
        return min(times)

    def parse() -> None:
        texts.clear()
        for line in lines:
            texts.extend(value for _, value in string_fields(orjson.loads(line)))

    parse_s = best(parse)
    short = {t for t in texts if 3 <= len(t) <= 64}
    work = [t for t in texts if len(t) > 64] + sorted(short)
    slots: list[list[tuple[int, int]]] = []

    def prefilter() -> None:
        slots.clear()
        slots.extend(matcher.hits(t) for t in work)

    prefilter_s = best(prefilter)

    def exact() -> None:
        for text, hits in zip(work, slots, strict=True):
            for ri, pi in hits:
                for _ in recognizers[ri].compiled[pi].finditer(text):
                    pass

    exact_s = best(exact)
    matches: list[int] = []

    def bare() -> None:
        # The least a Python recognizer does per match: its span, the value, one span object (no validation).
        matches.clear()
        for text, hits in zip(work, slots, strict=True):
            for ri, pi in hits:
                for m in recognizers[ri].compiled[pi].finditer(text):
                    start, end = m.span()
                    value = text[start:end]
                    matches.append(PiiSpan("X", start, end, 1.0, "bare", "LOW").end - len(value))

    bare_s = best(bare)
    return {"mb": size, "parse": size / parse_s, "prefilter": size / prefilter_s, "exact": size / exact_s,
            "floor": size / (parse_s + prefilter_s + exact_s), "matches_per_mb": len(matches) / size,
            "us_per_match": (bare_s - exact_s) / max(len(matches), 1) * 1e6}


def time_presidio(texts: list[str]) -> tuple[float, int]:
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    blank = Path(tempfile.mkdtemp()) / "blank_en"
    spacy.blank("en").to_disk(blank)  # no model download: an empty pipeline, so only pattern recognizers work
    nlp = NlpEngineProvider(nlp_configuration={"nlp_engine_name": "spacy",
                                               "models": [{"lang_code": "en", "model_name": str(blank)}]}
                            ).create_engine()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp)
    registry.remove_recognizer("SpacyRecognizer")
    analyzer = AnalyzerEngine(nlp_engine=nlp, registry=registry, supported_languages=["en"])
    analyzer.analyze("warm up a@b.com", language="en")
    size = sum(len(t.encode()) for t in texts)
    started = time.process_time()
    n = sum(len(analyzer.analyze(t, language="en")) for t in texts)
    return size / (time.process_time() - started) / 1e6, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=100.0, help="corpus size in MB (default 100)")
    ap.add_argument("--presidio-mb", type=float, default=1.0, help="sample of the same texts for Presidio")
    ap.add_argument("--engine-mb", type=float, default=20.0, help="texts for the bare-engine measurement")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--skip-presidio", action="store_true")
    ap.add_argument("--all-checks", action="store_true", help="also time pii,secrets,clean (dedup, near-dup)")
    ap.add_argument("--keep", type=Path, help="write the corpus here and keep it")
    ap.add_argument("--pool", type=int, default=12000,
                    help="planted-PII texts that user turns draw from (default 12000; values repeat beyond)")
    args = ap.parse_args()

    path = args.keep or Path(tempfile.mkdtemp()) / "corpus.jsonl"
    t0 = time.perf_counter()
    if not path.exists():
        records = build_corpus(path, args.mb, pool=args.pool)
        print(f"corpus: {path} {path.stat().st_size / 1e6:.1f} MB, {records:,} records, "
              f"PII pool {args.pool:,} (generated in {time.perf_counter() - t0:.0f} s)")
    rows = []
    for workers in args.workers:
        r = run_scan(path, workers, "pii,secrets")
        rows.append((f"tuneguard data scan --checks pii,secrets --workers {workers}", r))
    if args.all_checks:
        r = run_scan(path, args.workers[-1], "pii,secrets,clean")
        rows.append((f"tuneguard data scan --checks pii,secrets,clean --workers {args.workers[-1]}", r))
    texts = field_texts(path, int(args.engine_mb * 1e6))
    engine_mbps, engine_n = time_engine(texts)
    floor = time_floor(path, int(args.engine_mb * 1e6))
    presidio = None
    if not args.skip_presidio:
        sample = field_texts(path, int(args.presidio_mb * 1e6))
        engine_sample_mbps, engine_sample_n = time_engine(sample)
        presidio = time_presidio(sample)
    load = os.getloadavg()
    print(f"\nmachine: {os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
          "MB/CPU-s = input MB per CPU second of the whole process tree (per-core throughput)")
    print("\n| run | wall MB/s | MB/CPU-s | peak RSS MB | findings |\n|---|---:|---:|---:|---:|")
    for name, r in rows:
        print(f"| {name} | {r['mb_per_s']:.2f} | {r['mb_per_cpu_s']:.2f} | {r['rss_mb']:.0f} | {r['findings']:,} |")  # noqa: E501
    print(f"| tuneguard PiiEngine.find, {args.engine_mb:g} MB of field texts | | {engine_mbps:.2f} | | {engine_n:,} |")  # noqa: E501
    print(f"| pure-Python floor of this design, first {floor['mb']:.1f} MB: parse+walk, Hyperscan prefilter, "
          f"exact re; no validation, no findings | | {floor['floor']:.2f} | | |")
    if presidio:
        print(f"| tuneguard PiiEngine.find, Presidio sample ({args.presidio_mb:g} MB) | | {engine_sample_mbps:.2f} | | "  # noqa: E501
              f"{engine_sample_n:,} |")
        print(f"| Presidio AnalyzerEngine (pattern recognizers, blank spaCy), same sample | | {presidio[0]:.3f} | | "  # noqa: E501
              f"{presidio[1]:,} |")
        print(f"\nengine / Presidio on the same sample, per CPU second: {engine_sample_mbps / presidio[0]:.0f}x; "  # noqa: E501
              f"end-to-end 1-worker scan / Presidio: {rows[0][1]['mb_per_cpu_s'] / presidio[0]:.0f}x")
    print(f"\nfloor steps alone, MB/CPU-s: parse+walk {floor['parse']:.1f}, Hyperscan prefilter "
          f"{floor['prefilter']:.1f}, exact re {floor['exact']:.1f}; "
          f"1-worker scan / floor: {rows[0][1]['mb_per_cpu_s'] / floor['floor']:.2f}")
    left = 1 / 20 - 1 / floor["floor"]  # CPU-s per MB that 20 MB/s per core leaves beyond the floor
    print(f"{floor['matches_per_mb']:,.0f} pattern matches per MB; the barest Python loop over them (span, "
          f"value, span object) costs {floor['us_per_match']:.2f} us per match; 20 MB/s per core leaves "
          f"{left * 1e6 / floor['matches_per_mb']:.2f} us per match for validation, context, findings, tally")


if __name__ == "__main__":
    main()
