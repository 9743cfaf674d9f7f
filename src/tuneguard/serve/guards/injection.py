"""Prompt-injection and jailbreak signals: known phrasings plus MinHash similarity to jailbreak templates."""

from __future__ import annotations

import csv
import re
import threading
import zlib
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .base import Guard, Span, register_guard

try:  # optional (x86-64 wheels only): one pass over a prompt finds every trigger word
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised through _TriggerScan(use_hyperscan=False) in tests
    _hs = None  # type: ignore[assignment]

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
# Words are the maximal runs of [a-z0-9'] in the lower-cased UTF-8 bytes (the same words as that regex finds
# on the str: a multi-byte character never contains those bytes, so it splits words exactly the same). They
# are cut out by mapping every other byte to a space and splitting, which is several times cheaper than
# re.findall, and crc32 is mapped over the bytes with no encode per word.
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789'")
_TO_SPACE = bytes(c if c in _WORD_BYTES else 0x20 for c in range(256))
NUM_PERM = 64
SHINGLE_WORDS = 3
MIN_SIMILARITY_CHARS = 120


class _TriggerScan:
    """Indices of the trigger words that occur in a lower-cased text.

    With Hyperscan: one pass over the text for all words (a scratch per thread, as Hyperscan requires);
    without it, one substring search per distinct word. Both find exactly the same words (ASCII words occur in
    a str exactly where they occur in its UTF-8 bytes).
    """

    def __init__(self, words: tuple[str, ...], use_hyperscan: bool = True) -> None:
        self.words = words
        self._db: Any = None
        self._local = threading.local()
        if use_hyperscan and _hs is not None:
            db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
            db.compile(
                expressions=[re.escape(w).encode() for w in words],
                ids=list(range(len(words))),
                elements=len(words),
                flags=[_hs.HS_FLAG_SINGLEMATCH] * len(words),
            )
            self._db = db

    def __call__(self, low: str) -> list[int]:
        if self._db is None:
            return [i for i, w in enumerate(self.words) if w in low]
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = _hs.Scratch(self._db)
        found: list[int] = []
        self._db.scan(
            low.encode("utf-8", "surrogatepass"), match_event_handler=_collect, context=found, scratch=scratch
        )
        return found


def _collect(word: int, start: int, end: int, flags: int, found: list[int]) -> None:
    found.append(word)


_TRIGGER_WORDS = tuple(dict.fromkeys(w for words in _TRIGGERS.values() for w in words))
# per trigger word, the pattern names it wakes (in _PATTERNS order, so spans come out as before)
_WAKES = [tuple(n for n, words in _TRIGGERS.items() if w in words) for w in _TRIGGER_WORDS]


_TRIGGER_SCAN = _TriggerScan(_TRIGGER_WORDS)


def _woken(found: list[int]) -> list[str]:
    names = {n for i in found for n in _WAKES[i]}
    return [n for n in _TRIGGERS if n in names]


def _shingle_hashes(text: str, lowered: bool = False) -> np.ndarray:
    """32-bit hashes of the word 3-grams of `text` (vectorised: each word is hashed once)."""
    low = text if lowered else text.lower()
    words = low.encode("utf-8", "surrogatepass").translate(_TO_SPACE).split()
    if not words:
        return np.empty(0, dtype=np.uint64)
    h = np.fromiter(map(zlib.crc32, words), dtype=np.uint64, count=len(words))
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
    cheaper than an LSH lookup. The shift commutes with the minimum (it is monotonic), so it is applied to the
    64 minima rather than the whole shingle x hash matrix, and the matrix is built in place; with that the
    check costs ~0.06 ms on a 1 KB prompt (~0.15 ms before; building a datasketch.MinHash, SHA-1 per shingle,
    took ~0.35 ms on this machine).
    """

    _SHIFT = np.uint64(32)

    def __init__(self, templates: Iterable[str]) -> None:
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

    def _signature(self, text: str, lowered: bool = False) -> np.ndarray | None:
        hv = _shingle_hashes(text, lowered)
        if hv.size == 0:
            return None
        # wrapping uint64 arithmetic is the hash (numpy does not warn about overflow in array operations)
        m = np.multiply.outer(hv, self._a)
        m += self._b
        return m.min(axis=0) >> self._SHIFT

    def similarity(self, text: str, lowered: bool = False) -> float:
        """Best estimated Jaccard similarity to a template; `lowered`: `text` is already lower-cased."""
        if not len(self._sigs):
            return 0.0
        sig = self._signature(text, lowered)
        if sig is None:
            return 0.0
        return int((self._sigs == sig).sum(axis=1).max()) / NUM_PERM


@lru_cache(maxsize=8)
def _index(paths: tuple[str, ...]) -> TemplateIndex:
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
    return TemplateIndex(templates)


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
        self.index = _index(tuple(str(p) for p in templates))

    def find(self, text: str) -> list[Span]:
        low = text.lower()
        # a pattern runs only where one of its trigger words occurs
        spans = [
            Span(m.start(), m.end(), name)
            for name in _woken(_TRIGGER_SCAN(low))
            for m in _SINGLE[name].finditer(text)
        ]
        if len(text) >= MIN_SIMILARITY_CHARS:
            score = self.index.similarity(low, lowered=True)
            if score >= self.threshold:
                spans.append(Span(0, len(text), "jailbreak_template", score))
        return spans
