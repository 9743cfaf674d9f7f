"""Text primitives for poisoning scans: tokens that work for English and Chinese, n-grams, safe previews."""

from __future__ import annotations

import re
import unicodedata

# A CJK ideograph is one token (Chinese has no spaces, so character n-grams stand in for words); a run of
# other
# letters/digits is one token; any other non-space symbol that is not ordinary punctuation is kept as its own
# token, because odd Unicode (zero-width characters, emoji, homoglyph symbols) is a classic trigger.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+|[^\w\s]")
_PLAIN_PUNCT = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~，。！？：；、“”‘’（）《》【】…—·「」『』〈〉～")
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}
MAX_NGRAM = 4


def normalize(text: str) -> str:
    """NFKC + lower case; invisible characters survive NFKC, which keeps them visible to the miner."""
    return text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).lower()


def tokens(text: str) -> list[str]:
    found = _TOKEN_RE.findall(normalize(text))
    return [t for t in found if t not in _PLAIN_PUNCT]


def token_spans(text: str) -> tuple[list[tuple[str, int, int]], str]:
    """Tokens with character offsets into `text` (used only for the few records shown as evidence)."""
    norm = unicodedata.normalize("NFKC", text)
    if len(norm) != len(text):  # offsets would not map back; fall back to the normalized text
        text = norm
    spans = []
    for m in _TOKEN_RE.finditer(text.lower()):
        tok = m.group(0)
        if tok in _PLAIN_PUNCT:
            continue
        spans.append((tok, m.start(), m.end()))
    return spans, text


def find_seq(toks: list[str], seq: tuple[str, ...]) -> int:
    """Index of the first occurrence of `seq` in `toks`, or -1."""
    n = len(seq)
    first = seq[0]
    for i, tok in enumerate(toks):
        if tok == first and tuple(toks[i : i + n]) == seq:
            return i
    return -1


def is_cjk(tok: str) -> bool:
    return len(tok) == 1 and bool(re.match(f"[{_CJK}]", tok))


def join_tokens(seq: tuple[str, ...] | list[str]) -> str:
    """Readable phrase: no spaces between CJK characters, spaces elsewhere."""
    out = ""
    prev_cjk = False
    for tok in seq:
        cur = is_cjk(tok)
        if out and not (cur and prev_cjk):
            out += " "
        out += tok
        prev_cjk = cur
    return out


def describe_token(tok: str) -> str:
    """Name invisible or unusual characters so a report reader can see them."""
    if len(tok) == 1 and (tok in _INVISIBLE or unicodedata.category(tok) in ("Cf", "Co", "Cn")):
        return f"U+{ord(tok):04X} {unicodedata.name(tok, 'UNNAMED')}"
    return tok


# --- evidence previews: shortened and with anything that looks personal masked
# ---------------------------------
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_CRED = re.compile(r"(\w+://)[^/\s:@]+:[^/\s@]+@")
_LONG_NUMBER = re.compile(r"(?<![\w])\+?\d[\d\s().-]{4,}\d(?![\w])")
_ID_LIKE = re.compile(r"\b[A-Za-z]{0,3}\d{6,}[A-Za-z\d]*\b")
_SECRET_LIKE = re.compile(r"\b(?=[A-Za-z0-9_\-]{20,}\b)(?=\S*\d)(?=\S*[A-Za-z])[A-Za-z0-9_\-]+\b")


def mask_pii(text: str) -> str:
    """Mask e-mail addresses, credentials in URLs, long numbers (phones, ids, cards) and token-like
    strings."""
    text = _EMAIL.sub("<EMAIL>", text)
    text = _URL_CRED.sub(r"\1<CREDENTIALS>@", text)
    text = _SECRET_LIKE.sub("<TOKEN>", text)
    text = _ID_LIKE.sub("<ID>", text)
    text = _LONG_NUMBER.sub("<NUMBER>", text)
    return text


def preview(text: str, limit: int = 120) -> str:
    text = " ".join(mask_pii(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
