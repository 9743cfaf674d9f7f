"""IBAN_CODE: country code, check digits and BBAN, with the per-country length and the mod-97 check."""

from __future__ import annotations

from ..checksums import iban_ok
from .base import NOT_ALNUM_AFTER, NOT_ALNUM_BEFORE, Candidate, Pattern, Recognizer


class IbanRecognizer(Recognizer):
    name = "iban"
    entities = ("IBAN_CODE",)
    # Case-insensitive: lower-case IBANs occur in chat text; mod-97 keeps this precise.
    patterns = (
        Pattern(
            NOT_ALNUM_BEFORE + r"[A-Za-z]{2}[0-9]{2}(?:[ ]?[A-Za-z0-9]){11,30}" + NOT_ALNUM_AFTER,
            0.95,
            prefilter=r"[A-Za-z]{2}[0-9]{2} ?[A-Za-z0-9]{4} ?[A-Za-z0-9]{4}",
        ),
    )

    def validate(self, value, text, start, end):
        return ("IBAN_CODE", 1.0) if iban_ok(value) else None

    def candidates(self, text, pattern_index):
        # A greedy match may swallow a following word ("DE89 3704 ... 00 ABCD"): retry on shorter prefixes.
        # One regex pass serves both the exact try and the retry.
        matches = list(self.compiled[pattern_index].finditer(text))
        if not matches:
            return []
        out = self.from_matches(text, pattern_index, matches)
        if out:
            return out
        found = []
        for m in matches:
            value = m.group()
            while " " in value:
                value = value.rsplit(" ", 1)[0]
                if iban_ok(value):
                    score = self._contextual(self.patterns[0].score, text, m.start(), m.start() + len(value))
                    if score is not None:
                        found.append(Candidate(m.start(), m.start() + len(value), "IBAN_CODE", score))
                    break
        return found
