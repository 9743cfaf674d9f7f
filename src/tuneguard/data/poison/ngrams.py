"""Vectorized prompt n-gram statistics: every token n-gram (n <= 4) of every prompt as a 64-bit hash in numpy
arrays, so document frequencies inside outcomes and over the whole set cost a few sorts instead of millions of
Python set insertions (100k prompts: ~2 s instead of ~25 s)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .collect import TokenNumbering
from .text import MAX_NGRAM

Gram = tuple[str, ...]
_MIX = np.uint64(0x9E3779B97F4A7C15)
MAX_INT32_TOKENS = 2**31  # below this many prompt tokens (and records), records and positions are int32


class GramIndex:
    """Sorted, de-duplicated (n-gram hash, record) pairs for n = 1..MAX_NGRAM."""

    def __init__(self, prompt_tokens: Sequence[list[str]], max_n: int = MAX_NGRAM):
        numbering = TokenNumbering()
        for toks in prompt_tokens:
            numbering.add(toks)
        self._index(list(numbering.vocab), numbering.ids, numbering.lengths, max_n)

    @classmethod
    def from_ids(cls, vocab: list[str], ids, lengths, max_n: int = MAX_NGRAM, threads: int = 1) -> GramIndex:
        """The index of prompts already numbered (a TokenNumbering's vocabulary, ids and lengths, as arrays
        or sequences): `ids` are every prompt's tokens as positions in `vocab`, `lengths` the tokens per
        prompt. With `threads` > 1 the levels are built side by side: each is a few whole-array numpy
        operations (hashing, one sort, gathers) that run without the GIL, and each level is independent of
        the others, so the arrays are the same."""
        index = cls.__new__(cls)
        index._index(vocab, ids, lengths, max_n, threads)
        return index

    def _index(self, vocab: list[str], ids, lengths, max_n: int, threads: int = 1) -> None:
        self.vocab = vocab
        self.ids = np.asarray(ids, dtype=np.uint64) + np.uint64(1)
        lengths = np.asarray(lengths, dtype=np.int64)
        # Record numbers and token positions as 32-bit integers while they fit: the index holds one of each
        # per (gram, record) pair, and at the peak of a scan's statistics it is most of the memory (387 -> 351
        # MB on 42k chat records, docs/deployment.md).
        fits = max(len(self.ids), len(lengths)) < MAX_INT32_TOKENS
        self._position_dtype = np.int32 if fits else np.int64
        self.rec = np.repeat(np.arange(len(lengths), dtype=self._position_dtype), lengths)
        self.max_n = max_n
        self.hash: dict[int, np.ndarray] = {}  # n -> hashes of unique (gram, record) pairs, sorted
        self.recs: dict[int, np.ndarray] = {}  # n -> the matching records
        self.first_pos: dict[int, np.ndarray] = {}  # n -> a position of each pair's gram (for decoding)
        if threads > 1 and max_n > 1:
            with ThreadPoolExecutor(min(threads, max_n), thread_name_prefix="tuneguard-ngrams") as pool:
                list(pool.map(self._build, range(1, max_n + 1)))  # list(): re-raises a level's error here
        else:
            for n in range(1, max_n + 1):
                self._build(n)

    def _hashes(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Hash of the n-gram starting at each position, and the positions where it stays inside one
        record."""
        m = len(self.ids) - n + 1
        if m <= 0:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
        h = self.ids[:m].copy()
        for k in range(1, n):
            h = (h * _MIX) ^ self.ids[k : k + m]
            h ^= h >> np.uint64(29)
        if n > 1:
            # A last invertible mix (xor-shift, odd multiplier): the last token only touched the low bits, and
            # the sort in `_order_by_hash` needs the top bits to tell grams apart. Distinct hashes stay
            # distinct, so the index holds the same grams and records.
            h ^= h >> np.uint64(32)
            h *= _MIX
            h ^= h >> np.uint64(29)
        pos = np.flatnonzero(self.rec[:m] == self.rec[n - 1 : n - 1 + m])
        return h[pos], pos

    def _build(self, n: int) -> None:
        h, pos = self._hashes(n)
        order, h = _order_by_hash(h)
        pos = pos[order]
        rec = self.rec[pos]
        keep = np.ones(len(h), dtype=bool)
        keep[1:] = (h[1:] != h[:-1]) | (rec[1:] != rec[:-1])
        self.hash[n], self.recs[n] = h[keep], rec[keep]
        self.first_pos[n] = pos[keep].astype(self._position_dtype)

    def counts_by_outcome(self, labels: np.ndarray, floors: np.ndarray) -> list[tuple[int, int, int, int]]:
        """(n, hash, outcome, count) for every gram occurring in >= floors[outcome] records of that outcome;
        `labels` gives each record's outcome index in one partition of the records (-1: none)."""
        out: list[tuple[int, int, int, int]] = []
        for n in range(1, self.max_n + 1):
            lab = labels[self.recs[n]]
            sel = np.flatnonzero(lab >= 0)
            if not len(sel):
                continue
            h, lab = self.hash[n][sel], lab[sel]
            order = np.lexsort((lab, h))
            h, lab = h[order], lab[order]
            start = np.ones(len(h), dtype=bool)
            start[1:] = (h[1:] != h[:-1]) | (lab[1:] != lab[:-1])
            idx = np.flatnonzero(start)
            counts = np.diff(np.append(idx, len(h)))
            good = counts >= floors[lab[idx]]
            for hv, lv, c in zip(
                h[idx][good].tolist(), lab[idx][good].tolist(), counts[good].tolist(), strict=True
            ):
                out.append((n, hv, lv, c))
        return out

    def support(self, n: int, hashes: np.ndarray) -> np.ndarray:
        """Number of records containing each gram."""
        arr = self.hash[n]
        return np.searchsorted(arr, hashes, side="right") - np.searchsorted(arr, hashes, side="left")

    def first_position(self, n: int, hashes: np.ndarray) -> np.ndarray:
        """Where each gram (all present in the index) first occurs in the prompts: pairs are sorted by hash,
        then record, and each keeps its first position in its record, so a gram's first pair holds it."""
        return self.first_pos[n][np.searchsorted(self.hash[n], hashes, side="left")]

    def records(self, n: int, hash_value: int) -> np.ndarray:
        arr = self.hash[n]
        lo, hi = (
            np.searchsorted(arr, np.uint64(hash_value), "left"),
            np.searchsorted(arr, np.uint64(hash_value), "right"),
        )
        return self.recs[n][lo:hi]

    def decode(self, n: int, hash_value: int) -> Gram:
        arr = self.hash[n]
        i = int(np.searchsorted(arr, np.uint64(hash_value), "left"))
        pos = int(self.first_pos[n][i])
        return tuple(self.vocab[int(t) - 1] for t in self.ids[pos : pos + n])


def _order_by_hash(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The indices that sort `h`, equal hashes in index order (what a stable argsort gives, and with records
    numbered in position order the (hash, record) order the index needs), and `h` in that order.

    Sorting values is several times faster than sorting indices (numpy's SIMD sort, 0.01 s against 0.12 s
    for a stable argsort of 1.8M hashes): each hash's top bits and its index are packed into one integer and
    those are sorted. Where different hashes share their top bits the packed order can differ from the hash
    order; those runs (a few, more the larger the input, since the index takes more bits) are found and
    sorted again exactly, so the order is always exact.
    """
    count = len(h)
    bits = max(1, (count - 1).bit_length())
    if count < 2 or bits > 40:
        order = np.argsort(h, kind="stable")
        return order, h[order]
    low = np.uint64((1 << bits) - 1)
    index = np.arange(count, dtype=np.uint64)
    if int(h.max()) >> (64 - bits) == 0:  # small values (unigram ids) fit whole above the index: exact
        packed = (h << np.uint64(bits)) | index
        packed.sort()
        return (packed & low).astype(np.int64), packed >> np.uint64(bits)
    packed = (h & ~low) | index
    packed.sort()
    order = (packed & low).astype(np.int64)
    ordered = h[order]
    clash = ((packed[1:] ^ packed[:-1]) <= low) & (ordered[1:] != ordered[:-1])
    if clash.any():
        top = packed & ~low
        shared = np.unique(top[1:][clash])
        starts, ends = np.searchsorted(top, shared, "left"), np.searchsorted(top, shared, "right")
        spans = zip(starts.tolist(), ends.tolist(), strict=True)
        members = np.concatenate([np.arange(a, b) for a, b in spans])
        runs = np.repeat(np.arange(len(shared)), ends - starts)
        again = np.lexsort((ordered[members], runs))  # stable: equal hashes keep index order
        order[members] = order[members][again]
        ordered[members] = ordered[members][again]
    return order, ordered
