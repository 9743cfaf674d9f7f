"""Text helpers shared by the judges: language detection and normalisation."""

from __future__ import annotations

import re
import unicodedata

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WS = re.compile(r"\s+")
_LETTER = re.compile(r"[^\W\d_]")


def cjk_ratio(text: str) -> float:
    letters = len(_LETTER.findall(text))
    if not letters:
        return 0.0
    return len(_CJK.findall(text)) / letters


def language(text: str) -> str:
    """'zh' when a noticeable share of the letters are CJK ideographs, else 'en'."""
    return "zh" if cjk_ratio(text) >= 0.2 else "en"


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    return _WS.sub(" ", text).strip().lower()
