"""PHONE_NUMBER: digit runs with phone-style separators, kept only when `phonenumbers` says they are valid.

International numbers (+CC or 00CC) are parsed as such; national ones are tried against the configured regions
(US, GB, CN, DE by default). A bare run of digits without separators counts only as a Chinese
mobile number (1[3-9] + 9 digits) or next to a phone cue, because order numbers and timestamps look the same.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

from .base import Candidate, Pattern, Recognizer

_DATE = re.compile(r"^(?:[0-9]{4}[-/. ][0-9]{1,2}[-/. ][0-9]{1,2}|[0-9]{1,2}[-/. ][0-9]{1,2}[-/. ][0-9]{4})")
_DECIMAL = re.compile(r"^[0-9]+\.[0-9]+$")
_SSN_SHAPE = re.compile(r"^[0-9]{3}-[0-9]{2}-[0-9]{4}$")
_IPV4 = re.compile(r"^[0-9]{1,3}(?:\.[0-9]{1,3}){3}$")
_CN_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


class PhoneRecognizer(Recognizer):
    name = "phone"
    entities = ("PHONE_NUMBER",)
    # One linear run of digits and separators (no nested quantifiers: they backtrack badly on long digit
    # runs);
    # `candidates` trims trailing groups when the whole run is not a valid number.
    patterns = (
        Pattern(
            r"(?<![0-9A-Za-z+.\-/])(?:\+|00)?\(?[0-9][0-9 ().\-]{4,24}[0-9](?:[ ]?(?:x|ext\.?)[ ]?[0-9]{1,5})?"  # noqa: E501
            r"(?![0-9A-Za-z\-/]|\.[0-9])",
            0.75,
            prefilter=r"(?:[0-9][ ().\-]{0,3}){6,16}[0-9]",
        ),
    )
    context = (
        "phone",
        "tel",
        "call",
        "mobile",
        "cell",
        "fax",
        "whatsapp",
        "contact",
        "number",
        "电话",
        "手机",
        "联系",
        "致电",
        "拨打",
        "号码",
        "座机",
        "热线",
        "telefon",
        "handy",
    )
    negative_context = (
        "order",
        "tracking",
        "invoice",
        "订单",
        "单号",
        "快递",
        "运单",
        "发票",
        "isbn",
        "serial",
    )
    context_boost = 0.15
    # National formats are tried against these regions; other countries need the +CC form.
    regions: tuple[str, ...] = ("US", "GB", "CN", "DE")
    # ... and these too when a phone cue ("phone", "call", "电话" ...) is near.
    cue_regions: tuple[str, ...] = (
        "FR",
        "IT",
        "ES",
        "NL",
        "BE",
        "CH",
        "AT",
        "SE",
        "AU",
        "ZA",
        "IN",
        "JP",
        "CA",
        "IE",
        "HK",
        "TW",
        "SG",
    )

    def __init__(self) -> None:
        super().__init__()
        # Memo tables of this instance (the data gate builds one engine per scan; Ray workers clear them when
        # a new scan starts): verdicts are pure functions of their arguments, and repeated numbers and
        # non-numbers (timestamps, amounts) then cost one dict lookup. Not per process, so a scan never starts
        # with another scan's verdicts (which made a second scan in one process look faster than a fresh
        # process or a pool worker).
        self._valid = functools.lru_cache(maxsize=65536)(_valid)
        self._verdict = functools.lru_cache(maxsize=65536)(functools.partial(_verdict, valid=self._valid))

    def reset_memos(self) -> None:
        self._verdict.cache_clear()
        self._valid.cache_clear()

    def candidates(self, text, pattern_index):
        out = []
        verdict = self._verdict
        window, score0, boost = self.context_window, self.patterns[0].score, self.context_boost
        ctx, neg = self._context_re, self._negative_re
        for m in self.compiled[pattern_index].finditer(text):
            start, value = m.start(), m.group()
            # The text before the match is the same for every trimmed variant: read it once. A negative cue
            # ("order", "订单" ...) rejects every variant, so skip validation altogether.
            before = text[max(0, start - window) : start].lower()
            if neg.search(before):
                continue
            cue = ctx.search(before) is not None
            for _ in range(3):
                if verdict(value, cue, self.regions, self.cue_regions):
                    end = start + len(value)
                    near = cue or ctx.search(text[end : end + 12].lower()) is not None
                    score = min(1.0, score0 + boost) if near else score0
                    out.append(Candidate(start, end, "PHONE_NUMBER", score))
                    break
                cut = value.rfind(" ")
                if cut <= 0:
                    break
                value = value[:cut].rstrip(" .-(")
                if len(value) < 7 or not value[-1].isdigit():
                    break
        return out

    def validate(self, value, text, start, end):
        cue = self._has_cue(text, start)
        return ("PHONE_NUMBER", 1.0) if self._verdict(value, cue, self.regions, self.cue_regions) else None

    def _has_cue(self, text: str, start: int) -> bool:
        before = text[max(0, start - self.context_window) : start].lower()
        return self._context_re.search(before) is not None


# Characters the phone pattern allows besides digits; deleting them leaves the digits (the pattern only
# admits ASCII digits, so this equals filtering with str.isdigit).
_SEPARATORS = str.maketrans("", "", " ().-+")


def _verdict(value: str, cue: bool, regions: tuple[str, ...], cue_regions: tuple[str, ...], *,
             valid: Callable[[str, str | None], bool]) -> bool:
    """Whether `value` is a valid phone number; `cue` = a phone word stands before it; `valid` is `_valid`
    or a memoized copy of it. A pure function of its arguments (memoized per recognizer instance)."""
    core = value.split("x")[0].split("ext")[0].strip()
    digits = core.replace("(0)", "").translate(_SEPARATORS)
    if not 7 <= len(digits) <= 15 or not digits.isdigit():
        # digit counts as in `str.isdigit` filtering; anything else the pattern let through is not a digit
        digits = "".join(c for c in core.replace("(0)", "") if c.isdigit())
        if not 7 <= len(digits) <= 15:
            return False
    if _DATE.match(core) or _IPV4.match(core):
        return False
    if _DECIMAL.match(core) or _SSN_SHAPE.match(core):  # an amount or an SSN-shaped value, not a phone
        return False
    international = core.startswith("+") or core.startswith("00")
    bare = core.isdigit()
    if bare and not international and not _CN_MOBILE.match(core) and not cue:
        return False
    if international:
        return valid(core.replace("(0)", ""), None)
    candidates = [r for r in _plausible_regions(digits) if r in regions]
    if cue:
        candidates += cue_regions
    return any(valid(core, r) for r in candidates)


def _plausible_regions(digits: str) -> tuple[str, ...]:
    """Default regions whose national format fits: a leading 0 is a trunk prefix (GB, DE, CN landlines),
    US numbers have 10 digits (11 with the leading 1), CN mobiles 11 digits starting with 1."""
    if digits[0] == "0":
        return ("GB", "DE", "CN")
    out = []
    if len(digits) == 10 or (len(digits) == 11 and digits[0] == "1"):
        out.append("US")
    if len(digits) == 11 and digits[0] == "1":
        out.append("CN")
    return tuple(out)


def _valid(value: str, region: str | None) -> bool:
    """phonenumbers validity of `value` read in `region` (None = international form).

    Builds the PhoneNumber from the digits and asks `is_valid_number_for_region` directly, which is several
    times faster than `parse` + `is_valid_number`; `_slow_valid` is the reference it must agree with.
    """
    digits = "".join(c for c in value if c.isdigit())
    try:
        if region is None:
            if value.startswith("00"):
                digits = digits[2:]
            for n in (1, 2, 3):
                regions = COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:n]))
                if regions:
                    break
            else:
                return False
            if digits[0] == "0":
                return False
            national = digits[n:]
            # "+46 0417 ..." : a trunk 0 written after the country code is dropped, as `parse` does
            for nat in (national, national[1:]) if national.startswith("0") else (national,):
                number = _number(int(digits[:n]), nat)
                # the main region first (US for +1): `is_valid_number` tries every region of a shared code
                if phonenumbers.is_valid_number_for_region(number, regions[0]):
                    return True
                if len(regions) > 1 and phonenumbers.is_valid_number(number):
                    return True
            return False
        meta = PhoneMetadata.metadata_for_region(region)
        prefix = meta.national_prefix
        if prefix and digits.startswith(prefix):
            digits = digits[len(prefix):]
        number = _number(meta.country_code, digits)
        # +1 and others are shared: a US-format number may be Canadian, so ask for any region of the code
        if phonenumbers.is_valid_number_for_region(number, region):
            return True
        shared = len(COUNTRY_CODE_TO_REGION_CODE[meta.country_code]) > 1
        return shared and phonenumbers.is_valid_number(number)
    except (ValueError, AttributeError):
        return _slow_valid(value, region)


def _number(country_code: int, national: str) -> phonenumbers.PhoneNumber:
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national or "0"))
    zeros = len(national) - len(national.lstrip("0"))
    if zeros:
        number.italian_leading_zero = True
        number.number_of_leading_zeros = zeros if zeros > 1 else None
    return number


def _slow_valid(value: str, region: str | None) -> bool:
    if value.startswith("00"):
        value = "+" + value[2:]
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, region))
    except phonenumbers.NumberParseException:
        return False
