"""Prompt-injection and jailbreak signals: known phrasings plus MinHash similarity to jailbreak templates."""

from __future__ import annotations

import csv
import re
import zlib
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .base import Guard, Span, register_guard

# Each pattern names a signal; the names go to metrics and the audit log instead of the text.
_PATTERNS: dict[str, str] = {
    "ignore_instructions": r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+)*"
    r"(?:previous|prior|above|earlier|preceding|system|original)\s+"
    r"(?:instructions?|prompts?|rules|directions|guidelines|messages?)",
    "system_prompt_exfiltration": r"\b(?:reveal|print|show|repeat|output|leak|tell\s+me)\s+(?:me\s+)?"
    r"(?:your|the)\s+"
    r"(?:full\s+|hidden\s+|initial\s+|original\s+)*(?:system\s+prompt|"
    r"hidden\s+instructions|initial\s+instructions|instructions\s+above)",
    "persona_override": r"\b(?:you\s+are\s+now|from\s+now\s+on,?\s+you\s+(?:are|will\s+be|will\s+act\s+as)|"
    r"act\s+as|pretend\s+(?:to\s+be|you\s+are))\s+(?:a\s+|an\s+)?"
    r"(?:DAN\b|unfiltered|uncensored|unrestricted|amoral|evil|jailbroken)",
    "do_anything_now": r"\bdo\s+anything\s+now\b",
    "developer_mode": r"\b(?:developer|god|jailbreak|dev)\s+mode\s+(?:enabled|activated|on)\b",
    "no_restrictions": r"\b(?:without|no|free\s+of|bypass(?:ing)?|ignore)\s+(?:any\s+|all\s+)?"
    r"(?:ethical|moral|safety|content)\s+(?:guidelines|restrictions|filters|polic(?:y|ies)|limits)",
    "stay_in_character": r"\bstay\s+in\s+character\b",
    "never_refuse": r"\b(?:never|will\s+not|won't|must\s+not|shall\s+not|cannot|can't)\s+(?:ever\s+)?"
    r"(?:refuse|decline|say\s+no)\b",
    "policy_evasion": r"\b(?:not\s+bound\s+by|free\s+(?:from|of)|break(?:s|ing)?|ignor(?:e|es|ing)|"
    r"bypass(?:es|ing)?|violat(?:e|es|ing)|disregard(?:s|ing)?)\s+(?:any\s+|all\s+|the\s+|its\s+|"
    r"(?:openai|anthropic)'?s?\s+|typical\s+|usual\s+)*(?:rules|polic(?:y|ies)|guidelines|"
    r"restrictions|filters|censorship|limitations|confines)",
    "unrestricted_persona": r"\b(?:unfiltered|uncensored|unrestricted|amoral|unethical|unlimited)\s+"
    r"(?:ai|chatbot|assistant|model|version|persona|responses?|language\s+model)\b",
    "no_limits": r"\b(?:without\s+any|has\s+no|have\s+no|with\s+no)\s+(?:ethical\s+|moral\s+)?"
    r"(?:restrictions|limitations|filters|censorship|boundaries|morals|ethics)\b",
    "delimiter_injection": r"(?:<\|im_start\|>\s*system|\[/?INST\]|<\|system\|>|###\s*system\s*:)",
}
_COMPILED = re.compile("|".join(f"(?P<{name}>{pat})" for name, pat in _PATTERNS.items()), re.IGNORECASE)
# Cheap substring triggers: a pattern runs only when one of its words occurs, so benign text costs little.
_TRIGGERS: dict[str, tuple[str, ...]] = {
    "ignore_instructions": ("ignore", "disregard", "forget", "override"),
    "system_prompt_exfiltration": ("prompt", "instructions"),
    "persona_override": ("you are now", "from now on", "act as", "pretend"),
    "do_anything_now": ("anything now",),
    "developer_mode": (" mode",),
    "no_restrictions": ("guidelines", "restrictions", "filters", "polic", "limits"),
    "stay_in_character": ("character",),
    "never_refuse": ("refuse", "decline", "say no"),
    "policy_evasion": (
        "rules",
        "polic",
        "guidelines",
        "restrictions",
        "filters",
        "censorship",
        "limitations",
        "confines",
    ),
    "unrestricted_persona": ("unfiltered", "uncensored", "unrestricted", "amoral", "unethical", "unlimited"),
    "no_limits": (" no ", "without any"),
    "delimiter_injection": ("im_start", "inst]", "<|system", "system:"),
}
_SINGLE = {name: re.compile(pat, re.IGNORECASE) for name, pat in _PATTERNS.items()}
_WORD = re.compile(r"[a-z0-9']+")
NUM_PERM = 64
SHINGLE_WORDS = 3
MIN_SIMILARITY_CHARS = 120


def _shingle_hashes(text: str) -> np.ndarray:
    """32-bit hashes of the word 3-grams of `text` (vectorised: each word is hashed once)."""
    words = _WORD.findall(text.lower())
    if not words:
        return np.empty(0, dtype=np.uint64)
    h = np.fromiter((zlib.crc32(w.encode()) for w in words), dtype=np.uint64, count=len(words))
    if len(h) < SHINGLE_WORDS:
        return h
    return (h[:-2] * np.uint64(0x9E3779B1) + h[1:-1] * np.uint64(0x85EBCA77) + h[2:]) & np.uint64(0xFFFFFFFF)


def builtin_templates() -> list[str]:
    text = resources.files(__package__).joinpath("jailbreak_templates.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def load_template_file(path: Path) -> list[str]:
    """Templates from .txt (one a line), .jsonl ("template"), .json (list of strings) or .csv ("prompt")."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return [
            str(orjson.loads(line).get("template", ""))
            for line in path.read_bytes().splitlines()
            if line.strip()
        ]
    if suffix == ".json":
        data = orjson.loads(path.read_bytes())
        return [str(x) for x in data] if isinstance(data, list) else []
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            return [row.get("prompt", "") for row in csv.DictReader(fh)]
    return [
        ln.strip() for ln in path.read_text("utf-8").splitlines() if ln.strip() and not ln.startswith("#")
    ]


class TemplateIndex:
    """MinHash signatures of the templates; `similarity(text)` is the best estimated Jaccard to any of them.

    The signatures are computed with numpy (64 multiply-shift hash functions, ((a*x + b) mod 2^64) >> 32, a
    2-independent family that needs no modulo, over 32-bit shingle hashes)
    and compared against all templates at once: for a few hundred templates one vectorised comparison is
    cheaper than an LSH lookup; the whole check costs ~0.15 ms on a 1 KB prompt where building a
    datasketch.MinHash (SHA-1 per shingle) took ~0.35 ms on this machine.
    """

    _SHIFT = np.uint64(32)

    def __init__(self, templates: Iterable[str], threshold: float) -> None:
        rng = np.random.default_rng(1729)
        self._a = rng.integers(1, 1 << 63, NUM_PERM, dtype=np.uint64) | np.uint64(1)
        self._b = rng.integers(0, 1 << 63, NUM_PERM, dtype=np.uint64)
        sigs = [
            sig
            for t in dict.fromkeys(t for t in templates if len(t) >= 40)
            if (sig := self._signature(t)) is not None
        ]
        self._sigs = np.stack(sigs) if sigs else np.empty((0, NUM_PERM), dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._sigs)

    def _signature(self, text: str) -> np.ndarray | None:
        hv = _shingle_hashes(text)
        if hv.size == 0:
            return None
        with np.errstate(over="ignore"):  # wrapping uint64 arithmetic is the hash
            return ((np.outer(hv, self._a) + self._b) >> self._SHIFT).min(axis=0)

    def similarity(self, text: str) -> float:
        sig = self._signature(text)
        if sig is None or not len(self._sigs):
            return 0.0
        return float((self._sigs == sig).mean(axis=1).max())


@lru_cache(maxsize=8)
def _index(paths: tuple[str, ...], threshold: float) -> TemplateIndex:
    templates = builtin_templates()
    for p in paths:
        path = Path(p)
        files = (
            sorted(f for f in path.iterdir() if f.suffix in (".txt", ".jsonl", ".json", ".csv"))
            if path.is_dir()
            else [path]
        )
        for f in files:
            templates.extend(load_template_file(f))
    return TemplateIndex(templates, threshold)


@register_guard
class InjectionGuard(Guard):
    """Instruction-override phrasings and near-copies of known jailbreak templates in prompts."""

    name = "input_injection"
    direction = "input"

    def __init__(
        self,
        action: Any,
        templates: Iterable[str | Path] = (),
        similarity_threshold: float = 0.5,
        **options: Any,
    ) -> None:
        super().__init__(action, **options)
        self.threshold = similarity_threshold
        self.index = _index(tuple(str(p) for p in templates), similarity_threshold)

    def find(self, text: str) -> list[Span]:
        low = text.lower()
        spans = [
            Span(m.start(), m.end(), name)
            for name, words in _TRIGGERS.items()
            if any(w in low for w in words)
            for m in _SINGLE[name].finditer(text)
        ]
        if len(text) >= MIN_SIMILARITY_CHARS:
            score = self.index.similarity(text)
            if score >= self.threshold:
                spans.append(Span(0, len(text), "jailbreak_template", score))
        return spans
