"""Phone numbers as agents read and type them: national format for the home region, and a
local number typed without its area code (`555-0132`)."""

from __future__ import annotations

import re
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

_LOCAL_LIKE: Final = re.compile(r"^[\d\s().\-/]+$")
#: Shortest local number worth matching by its end (shorter ones match too many customers).
MIN_LOCAL_DIGITS: Final = 6


def display_phone(e164: str, region: str = "US") -> str:
    """`+14155550132` as `(415) 555-0132` when it belongs to `region`, else in international
    format (`+44 20 7946 0000`); the value unchanged when it cannot be parsed."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    home = phonenumbers.region_code_for_number(number) == region.upper()
    style = PhoneNumberFormat.NATIONAL if home else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


def local_digits(query: str, region: str = "US") -> str | None:
    """The digits of a number typed without its area code (`555-0132` in the US gives
    `5550132`): possible only as a local number in `region`. None for anything else."""
    text = query.strip()
    if not _LOCAL_LIKE.match(text):
        return None
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < MIN_LOCAL_DIGITS:
        return None
    try:
        number = phonenumbers.parse(text, region.upper())
    except NumberParseException:
        return None
    reason = phonenumbers.is_possible_number_with_reason(number)
    return digits if reason == ValidationResult.IS_POSSIBLE_LOCAL_ONLY else None


def completes_local(e164: str, digits: str, region: str = "US") -> bool:
    """True when `e164` is a number of `region`'s country whose national number is `digits`
    preceded by an area code (`+14155550132` completes `5550132` in the US)."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return False
    if number.country_code != phonenumbers.country_code_for_region(region.upper()):
        return False
    national = str(number.national_number)
    return len(national) > len(digits) and national.endswith(digits)
