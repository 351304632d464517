"""Phone numbers as agents read and type them (schemas.phones): pure, no I/O."""

from __future__ import annotations

import pytest

from schemas.phones import completes_local, display_phone, local_digits


@pytest.mark.parametrize(
    ("e164", "region", "shown"),
    [
        ("+14155550132", "US", "(415) 555-0132"),
        ("+442079460000", "US", "+44 20 7946 0000"),
        ("+442079460000", "GB", "020 7946 0000"),
        ("+14155550132", "GB", "+1 415-555-0132"),
        ("not-a-number", "US", "not-a-number"),
    ],
)
def test_display_phone_reads_home_numbers_nationally(e164: str, region: str, shown: str) -> None:
    assert display_phone(e164, region) == shown


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("555-0132", "5550132"),
        ("555 0132", "5550132"),
        ("5550132", "5550132"),
        # Complete numbers, too short, or not a number at all: not a local number.
        ("(415) 555-0132", None),
        ("+1 415 555 0132", None),
        ("0132", None),
        ("W-5001", None),
        ("maria", None),
    ],
)
def test_local_digits(typed: str, digits: str | None) -> None:
    assert local_digits(typed, "US") == digits


def test_completes_local_needs_the_region_and_an_area_code() -> None:
    assert completes_local("+14155550132", "5550132", "US")
    assert not completes_local("+14155550133", "5550132", "US")
    assert not completes_local("+445550132", "5550132", "US")  # another country
    assert not completes_local("+15550132", "5550132", "US")  # no area code before it
    assert not completes_local("garbage", "5550132", "US")
