"""Chinese identifiers: the 18-digit resident ID (GB 11643), the unified social credit code (GB 32100),
passports."""

from __future__ import annotations

from ..checksums import cn_resident_id_ok, uscc_ok
from .base import NOT_ALNUM_AFTER, NOT_ALNUM_BEFORE, Pattern, Recognizer


class CnResidentIdRecognizer(Recognizer):
    name = "cn_resident_id"
    entities = ("CN_RESIDENT_ID",)
    patterns = (
        Pattern(
            NOT_ALNUM_BEFORE + r"[1-8][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
            r"[0-9]{3}[0-9Xx]" + NOT_ALNUM_AFTER,
            0.95,
            prefilter=r"[1-8][0-9]{5}(?:18|19|20)[0-9]{9}[0-9Xx]",
        ),
    )
    context = ("身份证", "证件号", "居民身份", "id card", "resident id", "公民身份")
    negative_context = ("order", "tracking", "订单", "单号", "快递", "运单")
    context_boost = 0.05

    def validate(self, value, text, start, end):
        return ("CN_RESIDENT_ID", 1.0) if cn_resident_id_ok(value) else None


class CnUsccRecognizer(Recognizer):
    name = "cn_uscc"
    entities = ("CN_USCC",)
    patterns = (
        Pattern(
            NOT_ALNUM_BEFORE
            + r"[0-9A-HJ-NP-RTUW-Y][0-9][1-8][0-9]{5}[0-9A-HJ-NP-RTUW-Y]{10}"
            + NOT_ALNUM_AFTER,
            0.9,
            prefilter=r"[0-9A-Y][0-9][1-8][0-9]{5}[0-9A-Y]{10}",
        ),
    )
    context = ("信用代码", "统一社会", "营业执照", "税号", "uscc", "credit code")
    negative_context = ("order", "tracking", "invoice", "订单", "单号", "快递", "运单")
    context_boost = 0.1

    def validate(self, value, text, start, end):
        return ("CN_USCC", 1.0) if uscc_ok(value) else None


class CnPassportRecognizer(Recognizer):
    """Passport numbers have no check digit, so a candidate needs a passport cue nearby to be reported."""

    name = "cn_passport"
    entities = ("CN_PASSPORT",)
    patterns = (
        Pattern(
            NOT_ALNUM_BEFORE + r"(?:[EG][0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|[DSP]E?[0-9]{7})" + NOT_ALNUM_AFTER, 0.7
        ),
    )
    context = ("护照", "passport", "证件")
    negative_context = ("订单", "order", "单号", "tracking")
    requires_context = True
    context_window = 30
