"""The speed-ups on the per-record scan path give the same answers as the reference code they replace."""

from __future__ import annotations

import random
import string

from tuneguard.data import PiiEngine
from tuneguard.data.fields import iter_strings, string_fields
from tuneguard.data.pii.checksums import char_classes, luhn_check_digit, luhn_ok
from tuneguard.data.pii.engine import CACHE_MAX_CHARS
from tuneguard.data.pii.recognizers.base import words_regex


class _Str(str):
    """A str subclass (never made by a JSON parser, possible in rows built by hand)."""


def test_string_fields_equals_iter_strings() -> None:
    records = [
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo", "n": 3}]},
        {"a": "x", "b": [1, "y", {"c": "z", "d": [["q"]]}], "e": None, "f": {"g": {}}, "h": []},
        {1: "int key", "nested": {"deep": {"er": ["s", {"t": "u"}]}}},
        "top",
        ["a", {"k": "v"}],
        {"g": {2: {"h": "deep"}}, "": "empty key", "m": {"": {"": "e2"}}},
        {"": {"a": "x", "": {"b": "y", 3: {"c": "z"}}, "l": ["w", {"": "v"}]}},
        {"": {1: {"b": "x"}}, "k": {"": {"n": "u"}}},
        {"s": _Str("sub"), "l": [_Str("t"), 3, {"k": _Str("u")}], "d": {"e": [[{"f": "g"}]]}},
        {},
    ]
    for record in records:
        assert string_fields(record) == list(iter_strings(record))


def test_luhn_and_char_classes_match_the_reference() -> None:
    rng = random.Random(3)
    for _ in range(20000):
        digits = "".join(rng.choice(string.digits) for _ in range(rng.randint(2, 20)))
        assert luhn_ok(digits) == (luhn_check_digit(digits[:-1]) == digits[-1])
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112") and not luhn_ok("4a")

    def reference(value: str) -> int:
        return sum(
            (
                any(c.islower() for c in value),
                any(c.isupper() for c in value),
                any(c.isdigit() for c in value),
                any(c in string.punctuation for c in value),
            )
        )

    alphabet = string.printable + "éÄß密码１"
    for _ in range(20000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        assert char_classes(value) == reference(value), value


def test_words_regex_is_substring_search() -> None:
    words = ("phone", "tel", "电话", "a.b")
    rx = words_regex(words)
    assert rx is not None and words_regex(()) is None
    for text in ("my telephone", "电话号码", "axb", "a.b", "nothing", ""):
        assert bool(rx.search(text)) == any(w in text for w in words)


def test_short_text_cache_returns_fresh_equal_lists() -> None:
    engine = PiiEngine()
    text = "mail a.b@example.com now"
    assert len(text) <= CACHE_MAX_CHARS
    first = engine.find(text)
    first.clear()  # a caller mutating its result must not change what the next caller gets
    again = engine.find(text)
    assert [text[s.start : s.end] for s in again] == ["a.b@example.com"]
    assert engine.find(text) == PiiEngine(use_hyperscan=False).find(text)


def test_phone_and_ip_verdicts_are_remembered_per_engine_not_per_process() -> None:
    """A scan builds its own engine: it must not start with the verdicts of an earlier scan in the same
    process (a second scan then looked faster than a fresh process or a pool worker), and it must remember
    its own (repeated numbers cost a lookup)."""
    text = "Call (415) 555-0132 from 10.1.2.3 or 2001:db8::7 at 2024-05-01 12:30:45 ok"
    first = PiiEngine()
    found = [(s.entity, text[s.start : s.end]) for s in first.find(text)]
    assert ("PHONE_NUMBER", "(415) 555-0132") in found and ("IP_ADDRESS", "10.1.2.3") in found
    memos = {r.name: r for r in first.recognizers if r.name in ("phone", "ip_address")}
    assert memos["phone"]._verdict.cache_info().currsize > 0
    assert memos["ip_address"]._is_ip.cache_info().currsize > 0
    hits = memos["phone"]._verdict.cache_info().hits
    assert first.find(text + " ") and memos["phone"]._verdict.cache_info().hits > hits
    second = PiiEngine()
    for rec in second.recognizers:
        if rec.name == "phone":
            assert rec._verdict.cache_info().currsize == 0 and rec._valid.cache_info().currsize == 0
        if rec.name == "ip_address":
            assert rec._is_ip.cache_info().currsize == 0
    assert [(s.entity, text[s.start : s.end]) for s in second.find(text)] == found
