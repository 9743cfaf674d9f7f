"""One combined Hyperscan database over every pattern of every recognizer: a single pass says which patterns
can match a text, so the exact Python pattern and its validator only run where a candidate exists.

Patterns are compiled in Hyperscan's prefilter mode (a superset of the exact pattern, so lookarounds and
back-references are fine) with SINGLEMATCH, so a dense text costs at most one callback per pattern.
Without the `hyperscan` module the matcher falls back to each recognizer's literal triggers.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import hs_cache
from .recognizers.base import Recognizer

try:  # optional: a wheel exists for x86-64 only
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised by forcing use_hyperscan=False in tests
    _hs = None


# Compiled databases per pattern set, so each process compiles a configuration once (forked workers inherit
# it).
_COMPILED: dict[tuple, tuple[object | None, tuple[tuple[int, int], ...]]] = {}


def hyperscan_available() -> bool:
    return _hs is not None


class CombinedMatcher:
    def __init__(self, recognizers: Sequence[Recognizer], use_hyperscan: bool = True) -> None:
        self.slots: list[tuple[int, int]] = [
            (ri, pi) for ri, rec in enumerate(recognizers) for pi in range(len(rec.patterns))
        ]
        self._recognizers = recognizers
        self._always: list[tuple[int, int]] = []
        self._db = None
        if use_hyperscan and _hs is not None and self.slots:
            self._compile()
        self.backend = "hyperscan" if self._db is not None else "re"

    def _compile(self) -> None:
        key = tuple((self._recognizers[ri].patterns[pi], ri, pi) for ri, pi in self.slots)
        cached = _COMPILED.get(key)
        if cached is None:
            cached = _COMPILED[key] = self._build()
        self._db, self._always = cached[0], list(cached[1])
        # An explicit scratch per matcher: without one every scan call allocates its own (2x slower).
        self._scratch = _hs.Scratch(self._db) if self._db is not None else None

    def _build(self) -> tuple[object | None, tuple[tuple[int, int], ...]]:
        exprs, ids, flags, always = [], [], [], []
        for sid, (ri, pi) in enumerate(self.slots):
            pattern = self._recognizers[ri].patterns[pi]
            expr = (pattern.prefilter or pattern.regex).encode("utf-8")
            flag = _hs.HS_FLAG_PREFILTER | _hs.HS_FLAG_SINGLEMATCH | _hs.HS_FLAG_UTF8 | _hs.HS_FLAG_ALLOWEMPTY
            if pattern.ignore_case:
                flag |= _hs.HS_FLAG_CASELESS
            if "[\\s\\S]" in pattern.regex or "(?s" in pattern.regex:
                flag |= _hs.HS_FLAG_DOTALL
            exprs.append(expr)
            ids.append(sid)
            flags.append(flag)
        key = hs_cache.cache_key(str(getattr(_hs, "__version__", "?")), _hs.HS_MODE_BLOCK, exprs, ids, flags)
        db = hs_cache.load(_hs, key, _hs.HS_MODE_BLOCK)
        if db is not None:
            return db, ()
        try:
            db = self._database(exprs, ids, flags)
        except _hs.error:
            pass
        else:
            hs_cache.store(_hs, key, db)
            return db, ()
        # Some pattern is beyond Hyperscan even in prefilter mode: find it, and run it on every text instead.
        keep = [i for i, (e, f) in enumerate(zip(exprs, flags, strict=True)) if self._compiles(e, f)]
        always = tuple(self.slots[ids[i]] for i in range(len(exprs)) if i not in keep)
        db = (
            self._database([exprs[i] for i in keep], [ids[i] for i in keep], [flags[i] for i in keep])
            if keep
            else None
        )
        return db, always

    @staticmethod
    def _database(exprs: list[bytes], ids: list[int], flags: list[int]):
        db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
        db.compile(expressions=exprs, ids=ids, elements=len(exprs), flags=flags)
        return db

    @staticmethod
    def _compiles(expr: bytes, flag: int) -> bool:
        try:
            _hs.Database(mode=_hs.HS_MODE_BLOCK).compile(
                expressions=[expr], ids=[0], elements=1, flags=[flag]
            )
        except _hs.error:
            return False
        return True

    def hits(self, text: str) -> list[tuple[int, int]]:
        """(recognizer index, pattern index) of every pattern that may match somewhere in `text`."""
        if self._db is None:
            return [(ri, pi) for ri, pi in self.slots if self._triggered(self._recognizers[ri], text)]
        found: list[int] = []
        self._db.scan(text.encode("utf-8", "surrogatepass"), match_event_handler=_collect, context=found,
                      scratch=self._scratch)
        slots = self.slots
        out = [slots[i] for i in found]
        if self._always:
            out.extend(self._always)
        return out

    @staticmethod
    def _triggered(rec: Recognizer, text: str) -> bool:
        return not rec.triggers or any(t in text for t in rec.triggers)


def _collect(sid: int, start: int, end: int, flags: int, found: list[int]) -> None:
    found.append(sid)
