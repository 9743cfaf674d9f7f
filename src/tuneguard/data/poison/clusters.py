"""Groups of near-identical texts (MinHash + LSH banding) and response behaviour classes (refusal, labels)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..clean import permuted_minima
from .text import normalize, preview, tokens

NUM_PERM = 32
BANDS = 8  # 8 bands x 4 rows: pairs with Jaccard >= ~0.6 collide with probability > 0.6
SHINGLE = 4
MAX_CHARS = 256  # near-identical responses agree at the start; hashing a prefix bounds the cost of long texts
_rng = np.random.default_rng(20240601)  # fixed: the same data always yields the same clusters
_PERM_A = (_rng.integers(1, 2**32, NUM_PERM, dtype=np.uint32) | np.uint32(1)).reshape(-1, 1)
_PERM_B = _rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32).reshape(-1, 1)
_SHINGLE_MUL = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5], dtype=np.uint64
)


def cluster_key(text: str, fold_digits: bool = True) -> str:
    """What 'identical' means for a response: same tokens, digits folded (ids and counters vary in
    targets)."""
    key = " ".join(tokens(text))
    return fold_digits_of(key) if fold_digits else key


_NONZERO_DIGIT = re.compile("[1-9]")  # ASCII only, as in tokens(): other scripts' digits stay


def fold_digits_of(text: str) -> str:
    """Every ASCII digit replaced by 0 (one C-level pass; str.translate with a table was 8x slower)."""
    return _NONZERO_DIGIT.sub("0", text)


def joined_key(joined: str) -> str:
    """`cluster_key` of a text whose tokens are already joined by spaces (a prompt or a response)."""
    return fold_digits_of(joined)


def record_key(prompt_joined: str, response_joined: str) -> str:
    """A whole record's key for duplication floods (prompt and response tokens, digits kept)."""
    return prompt_joined + " \n " + response_joined


def signatures(texts: Sequence[str], chunk: int = 2000) -> np.ndarray:
    """MinHash signatures over character 4-shingles, computed in numpy batches (datasketch hashes every
    shingle with sha1 in Python, ~20x slower at 100k texts; the resulting signatures play the same role).
    Each text's row depends on that text alone, so signatures computed batch by batch (in the data gate's
    record workers) equal those of one call over everything."""
    out = np.full((len(texts), NUM_PERM), np.iinfo(np.uint32).max, dtype=np.uint32)
    for lo in range(0, len(texts), chunk):
        batch = [
            t[:MAX_CHARS] if len(t) >= SHINGLE else t.ljust(SHINGLE, "\0") for t in texts[lo : lo + chunk]
        ]
        codes = np.frombuffer("".join(batch).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        lengths = np.fromiter((len(t) for t in batch), dtype=np.int64, count=len(batch))
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        n = len(codes) - SHINGLE + 1
        h = np.zeros(n, dtype=np.uint64)
        for k in range(SHINGLE):
            h ^= codes[k : k + n] * _SHINGLE_MUL[k]
        # shingles that cross a text boundary are replaced by the text's first shingle (no effect on the min)
        valid = np.ones(n, dtype=bool)
        for k in range(1, SHINGLE):
            ends = starts + lengths - k
            valid[ends[ends < n]] = False
        h = np.where(valid, h, h[np.minimum(np.repeat(starts, lengths)[:n], n - 1)])
        h32 = (h ^ (h >> np.uint64(32))).astype(np.uint32)
        out[lo : lo + len(batch)] = permuted_minima(h32, starts, _PERM_A[:, 0], _PERM_B[:, 0])
    return out


def near_duplicate_groups(
    texts: Sequence[str] | None = None,
    threshold: float = 0.7,
    fold_digits: bool = True,
    keys: Sequence[str] | None = None,
    known_signatures: np.ndarray | None = None,
) -> np.ndarray:
    """Group id per text: exact duplicates of the normalized key, then LSH-banded MinHash near-duplicates
    whose
    signature agreement (an estimate of Jaccard similarity) is at least `threshold`. Pass `keys` when the
    normalized keys (`cluster_key`) are already known, and `known_signatures` when their signatures are too
    (one row per entry of `keys`, duplicates included: `signatures` of that key)."""
    if keys is None:
        keys = [cluster_key(t, fold_digits) for t in texts or ()]
    uniq: dict[str, int] = {}
    key_id = np.fromiter((uniq.setdefault(k, len(uniq)) for k in keys), dtype=np.int64, count=len(keys))
    ukeys = list(uniq)
    if not ukeys:
        return key_id
    if known_signatures is None:
        sigs = signatures(ukeys)
    else:
        if len(known_signatures) != len(key_id):
            raise ValueError("known_signatures: one row per key expected")
        sigs = known_signatures[np.unique(key_id, return_index=True)[1]]  # each key's first row
    rows = NUM_PERM // BANDS
    eligible = np.fromiter((len(k) >= 2 * SHINGLE for k in ukeys), dtype=bool, count=len(ukeys))
    firsts, others = [], []
    for band in range(BANDS):
        block = sigs[:, band * rows : (band + 1) * rows]
        bucket = block[:, 0].astype(np.uint64)
        for r in range(1, rows):
            bucket = (bucket * np.uint64(0x100000001B3)) ^ block[:, r]
        bucket = np.where(eligible, bucket, np.arange(len(ukeys), dtype=np.uint64) | np.uint64(1 << 63))
        _, first_idx, inverse = np.unique(bucket, return_index=True, return_inverse=True)
        lead = first_idx[inverse.ravel()]
        pair = np.flatnonzero(lead != np.arange(len(ukeys)))
        firsts.append(lead[pair])
        others.append(pair)
    a, b = np.concatenate(firsts), np.concatenate(others)
    keep = (sigs[a] == sigs[b]).mean(axis=1) >= threshold
    parent = list(range(len(ukeys)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for x, y in zip(a[keep].tolist(), b[keep].tolist(), strict=True):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    roots = np.fromiter((find(i) for i in range(len(ukeys))), dtype=np.int64, count=len(ukeys))
    return roots[key_id]


@dataclass(frozen=True, slots=True)
class Outcome:
    """A response behaviour that a trigger could predict: a near-identical response cluster, refusal vs
    compliance, or a class label."""

    name: str
    kind: str  # "response_cluster" | "refusal" | "compliance" | "label"
    members: np.ndarray  # sorted record indices
    pattern: str  # shortened, masked representative response; "" when there is no shared text
    description: str = ""

    @property
    def size(self) -> int:
        return len(self.members)


_REFUSAL = re.compile(
    r"^\W*(i'?m sorry|i am sorry|sorry,? (but )?i|"
    r"i (cannot|can't|can ?not|won't|will not|am unable|'m unable|"
    r"must decline|am not able)|as an ai|i apologi[sz]e|unfortunately,? i (cannot|can't)|"
    r"抱歉|对不起|很抱歉|我不能|我无法|作为一个?(ai|人工智能)|我不会|无法提供|不能提供)"
)


def is_refusal(response: str) -> bool:
    return bool(_REFUSAL.match(normalize(response[:160]).strip()))


def response_clusters(
    responses: Sequence[str], keys: Sequence[str], min_size: int, known_signatures: np.ndarray | None = None
) -> tuple[list[Outcome], np.ndarray]:
    groups = near_duplicate_groups(keys=keys, known_signatures=known_signatures)
    counts = Counter(groups.tolist())
    by_group: dict[int, list[int]] = defaultdict(list)
    for idx, g in enumerate(groups.tolist()):
        if counts[g] >= min_size:
            by_group[g].append(idx)
    outcomes = [
        Outcome(f"cluster:{g}", "response_cluster", np.array(ids, dtype=np.int64), preview(responses[ids[0]]))
        for g, ids in by_group.items()
    ]
    return outcomes, groups


def classification_labels(response_joined: Sequence[str]) -> list[str] | None:
    """Labels when the data looks like classification (>= 90% short answers from <= 20 distinct labels).
    `response_joined`: each response's tokens joined by single spaces; a label is 1-3 tokens."""
    labels = [r if r and r.count(" ") < 3 else None for r in response_joined]
    present = [lab for lab in labels if lab is not None]
    if len(present) < 0.9 * max(1, len(labels)):
        return None
    common = Counter(present)
    top = {lab for lab, c in common.most_common(20) if c >= 2}
    if sum(common[lab] for lab in top) < 0.9 * len(labels) or len(top) < 2:
        return None
    return [lab if lab in top else "" for lab in (lab or "" for lab in labels)]


def behaviour_outcomes(
    responses: Sequence[str],
    labels: list[str] | None,
    min_size: int,
    max_share: float,
    refusals: np.ndarray | None = None,
) -> list[Outcome]:
    """Refusal and compliance classes, and class labels for classification-style data. A class larger than
    `max_share` of the data is skipped: a trigger cannot be significantly over-represented in it.
    `refusals`: `is_refusal` of each response, when already known."""
    n = len(responses)
    out: list[Outcome] = []
    if labels is not None:
        by_label: dict[str, list[int]] = defaultdict(list)
        for i, lab in enumerate(labels):
            if lab:
                by_label[lab].append(i)
        for lab, ids in sorted(by_label.items()):
            if min_size <= len(ids) <= max_share * n:
                out.append(Outcome(f"label:{lab}", "label", np.array(ids, dtype=np.int64), preview(lab, 40),
                                   f"the label '{preview(lab, 40)}'"))
        return out
    refusal = (
        np.fromiter((is_refusal(r) for r in responses), dtype=bool, count=n) if refusals is None else refusals
    )
    ref_ids, comp_ids = np.flatnonzero(refusal), np.flatnonzero(~refusal)
    if len(ref_ids) >= min_size and len(comp_ids) >= min_size:
        if len(ref_ids) <= max_share * n:
            example = preview(responses[ref_ids[0]], 60)
            out.append(Outcome("refusal", "refusal", ref_ids, "", f"a refusal (e.g. '{example}')"))
        if len(comp_ids) <= max_share * n:
            out.append(Outcome("compliance", "compliance", comp_ids, "",
                               "compliance with requests the rest of the data refuses"))
    return out
