"""Groups of near-identical texts (MinHash + LSH banding) and response behaviour classes (refusal, labels)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
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


def folded_utf8(text: str) -> bytes:
    """`fold_digits_of(text)` in UTF-8, folded in the bytes (an ASCII digit is one byte there and no other
    character contains that byte): two texts have the same `joined_key` exactly when these are equal, at a
    fifth of the regex substitution's cost."""
    return text.encode("utf-8", "surrogatepass").translate(_FOLD_BYTES)


_FOLD_BYTES = bytes.maketrans(b"123456789", b"000000000")


def first_seen_ids(keys: Sequence[Hashable]) -> tuple[np.ndarray, np.ndarray]:
    """Each key's number, keys numbered in order of first appearance, and each number's first row.

    Groups the keys' built-in hashes in numpy, then confirms that each row whose hash came earlier holds
    that earlier key; only a hash clash between different keys (the hashes are 64-bit) falls back to a
    dict, which numbers the keys 3-4x slower."""
    n = len(keys)
    hashes = np.fromiter(map(hash, keys), dtype=np.int64, count=n)
    lead = first_equal(hashes)
    repeats = np.flatnonzero(lead != np.arange(n))
    if all(keys[i] == keys[j] for i, j in zip(repeats.tolist(), lead[repeats].tolist(), strict=True)):
        is_first = lead == np.arange(n)
        return (np.cumsum(is_first) - 1)[lead], np.flatnonzero(is_first)
    numbers: dict[Hashable, int] = {}
    ids = np.fromiter((numbers.setdefault(k, len(numbers)) for k in keys), dtype=np.int64, count=n)
    return ids, np.unique(ids, return_index=True)[1]


def first_equal(values: np.ndarray) -> np.ndarray:
    """For each position of an integer array, the first position that holds an equal value. An unstable
    sort and the minimum position per run of equal values: 2-3x faster than `np.unique` with its indices,
    which sorts stably."""
    n = len(values)
    if not n:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(values)
    ordered = values[order]
    start = np.ones(n, dtype=bool)
    start[1:] = ordered[1:] != ordered[:-1]
    lead = np.empty(n, dtype=np.int64)
    lead[order] = np.minimum.reduceat(order, np.flatnonzero(start))[np.cumsum(start) - 1]
    return lead


def near_duplicate_groups(
    texts: Sequence[str] | None = None,
    threshold: float = 0.7,
    fold_digits: bool = True,
    keys: Sequence[str] | None = None,
    known_signatures: np.ndarray | None = None,
) -> np.ndarray:
    """Group id per text: exact duplicates of the normalized key, then LSH-banded MinHash near-duplicates
    whose signature agreement (an estimate of Jaccard similarity) is at least `threshold`. Pass `keys` when
    the normalized keys (`cluster_key`) are already known, and `known_signatures` when their signatures are
    too (one row per entry of `keys`, duplicates included: `signatures` of that key). A group's id is the
    number of its first key in order of first appearance."""
    if keys is None:
        keys = [cluster_key(t, fold_digits) for t in texts or ()]
    key_id, first = first_seen_ids(keys)
    ukeys = [keys[i] for i in first.tolist()]
    lengths = np.fromiter(map(len, ukeys), dtype=np.int64, count=len(ukeys))
    if known_signatures is None:
        sigs = signatures(ukeys)
    elif len(known_signatures) != len(keys):
        raise ValueError("known_signatures: one row per key expected")
    else:
        sigs = known_signatures[first]  # each key's first row
    return group_near_duplicates(key_id, lengths, sigs, threshold)


def group_near_duplicates(
    key_id: np.ndarray, lengths: np.ndarray, sigs: np.ndarray, threshold: float
) -> np.ndarray:
    """The groups of `near_duplicate_groups` from each row's key number (`first_seen_ids`) and, per key
    number, the key's length and MinHash signature."""
    nkeys = len(lengths)
    if not nkeys:
        return key_id
    rows = NUM_PERM // BANDS
    eligible = lengths >= 2 * SHINGLE
    firsts, others = [], []
    for band in range(BANDS):
        block = sigs[:, band * rows : (band + 1) * rows]
        bucket = block[:, 0].astype(np.uint64)
        for r in range(1, rows):
            bucket = (bucket * np.uint64(0x100000001B3)) ^ block[:, r]
        bucket = np.where(eligible, bucket, np.arange(nkeys, dtype=np.uint64) | np.uint64(1 << 63))
        lead = first_equal(bucket)
        pair = np.flatnonzero(lead != np.arange(nkeys))
        firsts.append(lead[pair])
        others.append(pair)
    a, b = np.concatenate(firsts), np.concatenate(others)
    keep = (sigs[a] == sigs[b]).mean(axis=1) >= threshold
    return _component_minima(nkeys, a[keep], b[keep])[key_id]


def _component_minima(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For nodes 0..n-1 joined by edges (a[i], b[i]): each node's smallest connected node. Union-find over
    the edges only; a node without edges is its own group, so only nodes that have one are looked up."""
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        rx, ry = find(x), find(y)
        if rx != ry:  # the smaller root stays root, so a root is its group's smallest node
            parent[max(rx, ry)] = min(rx, ry)
    roots = np.arange(n, dtype=np.int64)
    linked = np.unique(np.concatenate((a, b))).tolist()
    roots[linked] = [find(i) for i in linked]
    return roots


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


def response_clusters(responses: Sequence[str], groups: np.ndarray, min_size: int) -> list[Outcome]:
    """The groups of `groups` (a group id per response) with at least `min_size` members, in order of each
    group's first member."""
    if not len(groups):
        return []
    rows = np.flatnonzero(np.bincount(groups)[groups] >= min_size)  # ascending
    if not len(rows):
        return []
    by_group = rows[np.argsort(groups[rows], kind="stable")]  # rows of one group together, ascending
    _, starts = np.unique(groups[by_group], return_index=True)
    members = np.split(by_group, starts[1:])
    members.sort(key=lambda m: int(m[0]))
    return [
        Outcome(f"cluster:{int(groups[m[0]])}", "response_cluster", m, preview(responses[int(m[0])]))
        for m in members
    ]


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
