"""LOCATION without a model: addresses after cues, and Chinese administrative addresses (省/市/区/路/号)."""

from __future__ import annotations

from .base import Pattern, Recognizer

_HAN = r"[\u4e00-\u9fff]"
_CN_ADDR = (
    r"(?P<v>"
    + _HAN
    + r"{2,6}(?:省|自治区|市)"
    + _HAN
    + r"{0,8}?(?:市|区|县|州|盟)?"
    + r"[\u4e00-\u9fff0-9A-Za-z]{0,20}?"
    r"(?:路|街|大道|巷|村|镇|号|座|室|楼|栋|单元)(?:[0-9A-Za-z\u4e00-\u9fff-]{0,12}?(?:号|座|室|楼|单元))?(?:\s?[0-9]{6})?)"
)
_EN_STREET = (
    r"(?P<v>[0-9]{1,6}\s(?:[A-Z][a-z]+\s){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd"
    r"|Court|Ct|Way|Place|Pl|Terrace|Close|Square|Straße|Strasse|Weg|Platz|Allee|Gasse)\.?"
    r"(?:,?\s(?:Apt\.|Suite|Unit|Flat)\s[0-9A-Za-z]+)?)"
)


class LocationCueRecognizer(Recognizer):
    name = "location_cue"
    entities = ("LOCATION",)
    patterns = (
        Pattern(_EN_STREET, 0.7),
        Pattern(
            r"(?:[Ii] live (?:in|at|on)|[Mm]y address is|[Aa]ddress:|[Ll]ives? at|[Mm]oved to|[Rr]esiding (?:in|at))\s+"  # noqa: E501
            r"(?P<v>[A-Z0-9][A-Za-z0-9 ,.'-]{2,80}?)(?=[.;!?\n]|,\s[a-z]|$)",
            0.7,
            prefilter=r"(?:[Ii] live|[Mm]y address|[Aa]ddress:|[Ll]ives? at|[Mm]oved to|[Rr]esiding)",
        ),
        Pattern(
            r"(?:住在|住址[:：]?|地址[:：]?|家住|寄到|送到|位于)\s*(?P<v>[\u4e00-\u9fff0-9A-Za-z-]{2,40})",
            0.75,
            prefilter=r"(?:住在|住址|地址|家住|寄到|送到|位于)",
        ),
        Pattern(
            _CN_ADDR,
            0.7,
            prefilter=r"(?:省|自治区|市)[^\n]{0,40}?(?:路|街|大道|巷|村|镇|号|座|室|楼|栋|单元)",
        ),
    )
    method = "cue-based (no model): street addresses, 'I live in', 地址/住在, 省/市/路/号 addresses"

    def validate(self, value, text, start, end):
        return ("LOCATION", 1.0) if len(value.strip()) >= 3 else None
