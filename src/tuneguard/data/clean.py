"""Cleaning checks: per-record (empty, overlong, broken chat, control characters) and corpus-level
(exact duplicates by content hash, near-duplicates by MinHash LSH)."""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import zlib
from typing import Any

import orjson

from .fields import iter_strings

CHAT_ROLES = {"system", "user", "assistant", "tool", "function", "human", "gpt"}
# C0/C1 controls other than tab, newline and carriage return; also U+FFFD left by invalid UTF-8.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CLEAN_SEVERITY = {
    "malformed_json": "medium",
    "not_an_object": "medium",
    "invalid_utf8": "low",
    "blank_line": "info",
    "empty_record": "low",
    "overlong_record": "low",
    "broken_chat": "medium",
    "control_chars": "low",
    "exact_duplicate": "low",
    "near_duplicate": "info",
}


def strip_controls(text: str) -> str:
    return _CONTROL.sub("", text)


def has_controls(text: str) -> bool:
    return _CONTROL.search(text) is not None


def chat_problems(record: dict[str, Any]) -> list[str]:
    """Structural problems of a `messages` chat: unknown roles, empty assistant turns, wrong turn order."""
    messages = record.get("messages")
    if messages is None:
        return []
    if not isinstance(messages, list) or not messages:
        return ["messages is not a non-empty list"]
    problems, roles = [], []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("content", ""), str | None | list):
            problems.append(f"messages[{i}] is not a message object")
            continue
        role = m.get("role")
        if role not in CHAT_ROLES:
            problems.append(f"messages[{i}] has unknown role {str(role)[:20]!r}")
        if role == "assistant" and not (m.get("content") or m.get("tool_calls")):
            problems.append(f"messages[{i}] is an empty assistant turn")
        roles.append(role)
    turns = [r for r in roles if r in ("user", "assistant")]
    if turns and turns[0] != "user":
        problems.append("first turn is not from the user")
    if "assistant" not in turns:
        problems.append("no assistant turn")
    if any(a == b for a, b in zip(turns, turns[1:], strict=False)):
        problems.append("user and assistant turns do not alternate")
    if "system" in roles[1:]:
        problems.append("system message after the first turn")
    return problems


def record_problems(
    record: dict[str, Any], max_chars: int, strings: list[str] | None = None
) -> list[tuple[str, str]]:
    """(check, message) for each per-record cleaning problem; `strings`: the record's string fields in
    walk order, when the caller already has them."""
    out: list[tuple[str, str]] = []
    if strings is None:
        strings = [s for _, s in iter_strings(record)]
    total = sum(len(s) for s in strings)
    if not any(s.strip() for s in strings):
        out.append(("empty_record", "record has no non-empty text field"))
    elif total > max_chars:
        out.append(("overlong_record", f"record has {total} characters (max {max_chars})"))
    for problem in chat_problems(record):
        out.append(("broken_chat", problem))
    if any(has_controls(s) for s in strings):
        out.append(("control_chars", "text contains control characters"))
    return out


def content_key(record: dict[str, Any]) -> int:
    """64-bit digest of the record's content (key order ignored) for exact-duplicate detection."""
    data = orjson.dumps(record, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def shingles(text: str, max_shingles: int = 2048) -> list[bytes]:
    """Word 3-grams for spaced text, character 4-grams for text without spaces (Chinese)."""
    words = text.split()
    if len(words) >= 8 and len(words) * 12 > len(text) / 2:
        words = words[: max_shingles + 2]
        grams = [f"{a} {b} {c}" for a, b, c in zip(words, words[1:], words[2:], strict=False)]  # word 3-grams
    else:
        compact = "".join(words)
        grams = [compact[i : i + 4] for i in range(min(max(1, len(compact) - 3), max_shingles))]
    # No shingle holds a newline (words are split on whitespace): one encode and one split for all of them
    # instead of an encode call per shingle.
    return "\n".join(grams).encode("utf-8").split(b"\n")


# MinHash: CRC-32 of each shingle, the MurmurHash3 32-bit finalizer as a fixed pre-mix, then num_perm affine
# maps h -> a*h + b (mod 2^32, `a` odd, so each map is a bijection) and the minimum per map. These are the
# values datasketch's default ("affine32") MinHash gives with hashfunc=crc32 and seed=1 (tests/data/
# test_minhash.py checks it), computed here because `import datasketch` pulls in scipy.integrate for its LSH
# module: 0.6-0.75 s in every process that scans (each CLI run, pool worker and Ray worker), for a computation
# that is a few lines of numpy.
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)
MINHASH_SEED = 1
MINHASH_DTYPE = "uint32"


@functools.lru_cache(maxsize=4)
def _permutations(num_perm: int):
    """(a, b) of the affine maps, drawn once from a fixed seed so every process and run uses the same maps."""
    import numpy as np

    gen = np.random.RandomState(MINHASH_SEED)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


@functools.lru_cache(maxsize=1)
def _fmix32_constants():
    import numpy as np

    return tuple(np.uint32(c) for c in _FMIX32)


def _fmix32(h):
    s1, m1, s2, m2, s3 = _fmix32_constants()
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    return h ^ (h >> s3)


def minhash_values(text: str, num_perm: int = 64):
    """The MinHash signature (numpy uint32 array of num_perm values) of a text's shingles."""
    return minhash_batch([text], num_perm)[0]


def minhash_batch(texts: list[str], num_perm: int = 64):
    """The MinHash signature of each text, as the rows of one (texts, num_perm) uint32 array. One numpy pass
    over the whole batch's shingles instead of ~10 small numpy calls per text, whose fixed cost was most of
    the near-duplicate check's time per record."""
    import numpy as np

    a, b = _permutations(num_perm)
    grams = [shingles(t) for t in texts]
    counts = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
    out = np.full((len(texts), num_perm), 0xFFFFFFFF, dtype=np.uint32)
    total = int(counts.sum())
    if not total:
        return out
    crcs = map(zlib.crc32, itertools.chain.from_iterable(grams))
    hv = _fmix32(np.fromiter(crcs, dtype=np.uint32, count=total))
    some = np.flatnonzero(counts)
    out[some] = permuted_minima(hv, (np.cumsum(counts) - counts)[some], a, b)
    return out


def permuted_minima(hashes, starts, a, b):
    """The MinHash rows of consecutive segments of 32-bit shingle hashes (segment i starts at `starts[i]`; no
    segment is empty): for each affine map p, the minimum of a[p] * h + b[p] (uint32, wrapping) over the
    segment. A (len(starts), len(a)) uint32 array. Shared by the cleaning near-duplicate check and the
    poisoning clusters (`poison.clusters.signatures`), which differ only in their shingles and maps."""
    import numpy as np

    out = np.empty((len(starts), len(a)), dtype=np.uint32)
    row = np.empty(len(hashes), dtype=np.uint32)
    # One map at a time into one reused row: the whole shingles x maps matrix at once leaves the caches (2.3x
    # slower measured).
    for p in range(len(a)):
        np.multiply(hashes, a[p], out=row)
        np.add(row, b[p], out=row)
        out[:, p] = np.minimum.reduceat(row, starts)
    return out


@functools.lru_cache(maxsize=16)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising the equally weighted areas of false positives (similarity below the
    threshold, band collision) and false negatives (above it, no collision) of banded MinHash: the choice
    MinHashLSH makes (Leskovec et al., Mining of Massive Datasets, ch. 3), integrated on a fine grid."""
    import numpy as np

    def area(y, x) -> float:  # trapezoid rule (np.trapezoid needs numpy 2)
        return float(((y[1:] + y[:-1]) * np.diff(x)).sum() / 2)

    best, choice = float("inf"), (1, num_perm)
    below = np.linspace(0.0, threshold, 2001)
    above = np.linspace(threshold, 1.0, 2001)
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = area(1 - (1 - below**rows) ** bands, below)
            fn = area((1 - above**rows) ** bands, above)
            if fp + fn < best:
                best, choice = fp + fn, (bands, rows)
    return choice


class DuplicateIndex:
    """Corpus-level duplicate state: the first line of each content hash, and LSH band buckets of MinHash
    signatures that remember only the first line per bucket.

    The banding is datasketch's (same bands and rows as MinHashLSH for the threshold), but each record costs
    one dict entry per band (about 200 bytes with 3 bands) instead of MinHashLSH's stored band keys and
    bucket sets (6x more memory and time, bench/RESULTS.md); a near-duplicate report needs only one line.
    """

    def __init__(self, near_threshold: float | None, num_perm: int = 64) -> None:
        # ~100 bytes per record: 10^6 records cost about 100 MB (see docs/data.md on very large files)
        self._seen: dict[int, int] = {}
        self._bands: list[dict[int, int]] | None = None
        if near_threshold is not None:
            bands, self._rows = lsh_params(near_threshold, num_perm)
            self._bands = [{} for _ in range(bands)]

    def exact(self, key: int, line: int) -> int | None:
        """The line this record duplicates, or None (and remember it)."""
        first = self._seen.get(key)
        if first is None:
            self._seen[key] = line
        return first

    def near(self, hashvalues, line: int) -> int | None:
        """The first earlier line sharing an LSH band with this signature, or None (and remember it)."""
        if self._bands is None or hashvalues is None:
            return None
        raw, step, first = hashvalues.tobytes(), self._rows * hashvalues.itemsize, None
        for i, table in enumerate(self._bands):
            hit = table.setdefault(hash(raw[i * step:(i + 1) * step]), line)
            if hit != line and (first is None or hit < first):
                first = hit
        return first
