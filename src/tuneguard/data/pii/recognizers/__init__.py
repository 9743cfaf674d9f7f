"""Built-in recognizers. Adding one = one class in one file, listed in BUILTIN_RECOGNIZERS."""

from __future__ import annotations

from .base import Candidate, Pattern, Recognizer
from .cn_ids import CnPassportRecognizer, CnResidentIdRecognizer, CnUsccRecognizer
from .credit_card import CreditCardRecognizer
from .email import EmailRecognizer
from .iban import IbanRecognizer
from .ip_address import IpAddressRecognizer
from .location import LocationCueRecognizer
from .mac_address import MacAddressRecognizer
from .person import PersonCueRecognizer
from .phone import PhoneRecognizer
from .registry import RecognizerRegistry
from .secrets import (
    ApiKeyRecognizer,
    AwsKeyRecognizer,
    GithubTokenRecognizer,
    JwtRecognizer,
    PasswordAssignmentRecognizer,
    PrivateKeyRecognizer,
    SlackTokenRecognizer,
)
from .url import UrlRecognizer
from .us_ssn import UsSsnRecognizer

BUILTIN_RECOGNIZERS: tuple[type[Recognizer], ...] = (
    EmailRecognizer,
    PhoneRecognizer,
    CreditCardRecognizer,
    IbanRecognizer,
    UsSsnRecognizer,
    IpAddressRecognizer,
    UrlRecognizer,
    CnResidentIdRecognizer,
    CnUsccRecognizer,
    CnPassportRecognizer,
    MacAddressRecognizer,
    AwsKeyRecognizer,
    GithubTokenRecognizer,
    SlackTokenRecognizer,
    ApiKeyRecognizer,
    JwtRecognizer,
    PrivateKeyRecognizer,
    PasswordAssignmentRecognizer,
    PersonCueRecognizer,
    LocationCueRecognizer,
)


def default_registry() -> RecognizerRegistry:
    """A fresh registry holding every built-in recognizer (callers may register more on their own copy)."""
    return RecognizerRegistry(BUILTIN_RECOGNIZERS)


__all__ = [
    "BUILTIN_RECOGNIZERS",
    "Candidate",
    "Pattern",
    "Recognizer",
    "RecognizerRegistry",
    "default_registry",
]
