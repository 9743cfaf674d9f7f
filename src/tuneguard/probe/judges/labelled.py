"""Loaders for the human-labelled refusal/compliance sets in the shared datasets folder, with a group split.

Each example is (set, group, prompt, response, refused, lang). `refused` is True when the response
declined the request (XSTest full refusal; HarmBench human majority 0; JailbreakBench not jailbroken;
JADE v3 safe answer) and False when it complied. XSTest partial refusals (refuse-then-comply mixtures)
are ambiguous by the authors' own definition and are kept out of the binary sets.
The split hashes the *group* (the behaviour/prompt), so the same prompt never sits on both sides.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tuneguard.core import UserError

TEST_SHARE = 30  # percent of groups held out


@dataclass(frozen=True, slots=True)
class Labelled:
    set: str
    group: str
    prompt: str
    response: str
    refused: bool
    lang: str

    @property
    def split(self) -> str:
        h = int(hashlib.sha256(f"{self.set}:{self.group}".encode()).hexdigest()[:8], 16) % 100
        return "test" if h < TEST_SHARE else "train"


def _need(path: Path) -> Path:
    if not path.is_file():
        raise UserError(f"labelled set {path}: not found")
    return path


def xstest(root: Path) -> Iterator[Labelled]:
    folder = root / "xstest" / "model_completions"
    for f in sorted(folder.glob("xstest_v2_completions_*.csv")):
        with _need(f).open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                label = row["final_label"]
                if label.startswith("3"):
                    continue
                yield Labelled(
                    "xstest", row["id"], row["prompt"], row["completion"] or "", label.startswith("2"), "en"
                )


def harmbench(root: Path) -> Iterator[Labelled]:
    doc = json.loads(_need(root / "harmbench" / "classifier_val_set_text_behaviors.json").read_text("utf-8"))
    for behaviour, records in doc.items():
        for rec in records:
            votes = sum(int(rec[f"human_{i}"]) for i in range(3))
            yield Labelled("harmbench", behaviour, rec["test_case"], rec["generation"] or "", votes < 2, "en")


def jailbreakbench(root: Path) -> Iterator[Labelled]:
    with _need(root / "jailbreakbench" / "jbb_attack_artifacts.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec.get("response") is None or rec.get("jailbroken") is None:
                continue
            yield Labelled(
                "jailbreakbench",
                str(rec["index"]),
                rec["prompt"] or rec["goal"],
                rec["response"],
                not rec["jailbroken"],
                "en",
            )


def _strip_tag(answer: str) -> str:
    """JADE safe answers sometimes end with a short line naming the risk; it is not model output."""
    lines = answer.rstrip().split("\n")
    if len(lines) > 1 and len(lines[-1]) <= 30 and not any(p in lines[-1] for p in "。！？.!?"):
        lines = lines[:-1]
    return "\n".join(lines).strip()


def jade(root: Path) -> Iterator[Labelled]:
    for name in ("v3.0_jade_alignment_medium_zh.csv", "v3.0_jade_alignment_hard_zh.csv"):
        with _need(root / "jade" / name).open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                group = f"{name[:25]}:{row['ID']}"
                yield Labelled("jade", group, row["问题"], _strip_tag(row["违规回答"]), False, "zh")
                yield Labelled("jade", group, row["问题"], _strip_tag(row["安全有用回答"]), True, "zh")


LOADERS = {"xstest": xstest, "harmbench": harmbench, "jailbreakbench": jailbreakbench, "jade": jade}


def load_all(root: Path) -> list[Labelled]:
    out: list[Labelled] = []
    for loader in LOADERS.values():
        out.extend(loader(root))
    return out
