"""SECRET_*: well-known credential formats, PEM private keys and high-entropy `password=`/`token:`
assignments."""

from __future__ import annotations

import base64
import re

from ..checksums import char_classes, shannon_entropy
from .base import Pattern, Recognizer


class AwsKeyRecognizer(Recognizer):
    name = "aws_key"
    entities = ("SECRET_AWS_KEY",)
    patterns = (
        Pattern(r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?![A-Z0-9])", 0.95),
        Pattern(
            r"aws.{0,20}?secret.{0,20}?[=:：]\s*[\"']?(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
            0.95,
            ignore_case=True,
            prefilter=r"aws.{0,20}secret",
        ),
    )


class GithubTokenRecognizer(Recognizer):
    name = "github_token"
    entities = ("SECRET_GITHUB_TOKEN",)
    patterns = (
        Pattern(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})", 0.98),
    )
    triggers = ("gh", "github_pat_")


class SlackTokenRecognizer(Recognizer):
    name = "slack_token"
    entities = ("SECRET_SLACK_TOKEN",)
    patterns = (
        Pattern(r"(?<![A-Za-z0-9])xox[abposr]-[0-9A-Za-z]{8,}(?:-[0-9A-Za-z]{4,}){1,5}", 0.95),
        Pattern(r"https://hooks\.slack\.com/services/T[0-9A-Z]{6,}/B[0-9A-Z]{6,}/[0-9A-Za-z]{16,}", 0.95),
    )
    triggers = ("xox", "hooks.slack.com")


class ApiKeyRecognizer(Recognizer):
    name = "api_key"
    entities = ("SECRET_API_KEY",)
    patterns = (
        Pattern(r"(?<![A-Za-z0-9_-])sk-(?:proj-|ant-(?:api03-)?)?[A-Za-z0-9_-]{20,}(?![A-Za-z0-9_-])", 0.9),
        Pattern(r"(?<![A-Za-z0-9_])[rs]k_(?:live|test)_[0-9A-Za-z]{16,}", 0.95),
        Pattern(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])", 0.95),
        Pattern(r"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30,40}(?![A-Za-z0-9])", 0.9),
    )
    triggers = ("sk-", "k_live_", "k_test_", "AIza", "hf_")

    def validate(self, value, text, start, end):
        body = value.split("-")[-1].split("_")[-1]
        return ("SECRET_API_KEY", 1.0) if shannon_entropy(body) >= 3.0 and char_classes(body) >= 2 else None


class JwtRecognizer(Recognizer):
    name = "jwt"
    entities = ("SECRET_JWT",)
    patterns = (
        Pattern(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", 0.95),
    )
    triggers = ("eyJ",)

    def validate(self, value, text, start, end):
        head = value.split(".", 1)[0]
        try:
            decoded = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
        except ValueError:
            return None
        return ("SECRET_JWT", 1.0) if b'"alg"' in decoded or b'"typ"' in decoded else None


class PrivateKeyRecognizer(Recognizer):
    name = "private_key"
    entities = ("SECRET_PRIVATE_KEY",)
    patterns = (
        Pattern(
            r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,16384}?-----END (?:[A-Z0-9]+ ){0,3}"  # noqa: E501
            r"PRIVATE KEY(?: BLOCK)?-----",
            1.0,
            prefilter=r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY",
        ),
        # A truncated block (no END line) still leaks the key material that is there.
        Pattern(
            r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----(?:\s*[A-Za-z0-9+/=:-]+(?: [A-Za-z0-9+/=]+)*)*",  # noqa: E501
            0.9,
            prefilter=r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY",
        ),
    )
    triggers = ("PRIVATE KEY",)


_PLACEHOLDER = re.compile(r"^(?:<[^>]*>|\$\{?[A-Za-z_]+\}?|\{\{.*\}\}|%\(?\w+\)?s?|\*+|x+|X+|\.{3,}|tok_.*)$")


def _anycase(pattern: str) -> str:
    return re.sub(r"[a-z]", lambda m: f"[{m.group().upper()}{m.group()}]", pattern)


class PasswordAssignmentRecognizer(Recognizer):
    """`password=...`, `token: ...`, `密码：...` whose value looks random (entropy and character classes)."""

    name = "password_assignment"
    entities = ("SECRET_PASSWORD",)
    # Keywords as explicit [Xx] classes rather than IGNORECASE: Python's re then keeps its first-character
    # prefilter and runs about twice as fast; the value part stays case-sensitive.
    patterns = (
        Pattern(
            _anycase(r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|access[_-]?key|auth|credential")
            + r"|密码|口令|密钥|令牌)[\"']?\s*(?:[:=：]|is|为|是)\s*[\"']?(?P<v>[^\s\"'`,;，。；、）)]{8,200})",  # noqa: E501
            0.85,
            prefilter=_anycase(r"(?:pass|pwd|secret|token|key|auth|credential")
            + r"|密码|口令|密钥|令牌)\w{0,12}[\"']?\s*(?:[:=：]|is|为|是)",
        ),
    )
    triggers = (
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "auth",
        "credential",
        "PASS",
        "Pass",
        "Token",
        "TOKEN",
        "Secret",
        "SECRET",
        "KEY",
        "Key",
        "密码",
        "口令",
        "密钥",
        "令牌",
    )

    def validate(self, value, text, start, end):
        if _PLACEHOLDER.match(value) or value.lower() in ("password", "required", "optional", "none", "null"):
            return None
        entropy = shannon_entropy(value)
        classes = char_classes(value)
        if entropy < 2.8 or classes < 2 or (value.isalpha() and (len(value) < 10 or entropy < 3.2)):
            return None
        return "SECRET_PASSWORD", 1.0 if entropy >= 3.2 else 0.8
