"""CREDIT_CARD: 13-19 digits in any space/dash grouping, a known network prefix and a valid Luhn digit."""

from __future__ import annotations

from ..checksums import card_brand, luhn_ok
from .base import NOT_ALNUM_AFTER, NOT_ALNUM_BEFORE, Pattern, Recognizer


class CreditCardRecognizer(Recognizer):
    name = "credit_card"
    entities = ("CREDIT_CARD",)
    patterns = (
        Pattern(
            NOT_ALNUM_BEFORE + r"[0-9](?:[0-9]|[ -](?=[0-9])){10,22}[0-9]" + NOT_ALNUM_AFTER,
            0.9,
            prefilter=r"[0-9][0-9 -]{10,22}[0-9]",
        ),
    )
    context = ("card", "visa", "mastercard", "amex", "credit", "debit", "卡号", "银行卡", "信用卡", "卡")
    negative_context = ("order", "tracking", "invoice", "ref", "订单", "单号", "快递", "运单", "发票")
    context_boost = 0.1

    def validate(self, value, text, start, end):
        if " " in value and "-" in value:  # the pattern admits only digits, spaces and dashes
            return None
        digits = value.replace(" ", "").replace("-", "")
        # cheapest test first: most digit runs (phones, IDs, order numbers) have no card network prefix
        if not 12 <= len(digits) <= 19 or card_brand(digits) is None or not luhn_ok(digits):
            return None
        if len(digits) < 14 and not self._near_context(text, start):
            return None  # short Maestro-style numbers collide with reference numbers: need a card cue
        if len(set(digits)) == 1:  # 0000 0000 0000 0000 is filler, not a card
            return None
        return "CREDIT_CARD", 1.0

    def _near_context(self, text: str, start: int) -> bool:
        before = text[max(0, start - self.context_window) : start].lower()
        return self._context_re.search(before) is not None or " cc" in before
