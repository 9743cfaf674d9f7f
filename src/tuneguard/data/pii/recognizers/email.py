"""EMAIL_ADDRESS: RFC 5322 dot-atoms with an alphabetic TLD; ASCII classes so CJK punctuation ends the
address."""

from __future__ import annotations

from .base import NOT_ALNUM_BEFORE, Pattern, Recognizer


class EmailRecognizer(Recognizer):
    name = "email"
    entities = ("EMAIL_ADDRESS",)
    patterns = (
        Pattern(
            NOT_ALNUM_BEFORE.replace("A-Za-z", "A-Za-z._%+-")
            + r"[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
            r"[A-Za-z]{2,24}(?![A-Za-z0-9-])",
            0.9,
            prefilter=r"[A-Za-z0-9._%+-]@[A-Za-z0-9-]+\.[A-Za-z]{2}",
        ),
    )
    triggers = ("@",)

    def validate(self, value, text, start, end):
        local, _, domain = value.rpartition("@")
        if ".." in local or local.endswith(".") or ".." in domain:
            return None
        return "EMAIL_ADDRESS", 1.0
