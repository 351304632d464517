"""Identifier normalisation: emails, phones (E.164 via phonenumbers), opaque ids."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import Identifier, InvalidIdentifier, normalise_identifier
from schemas.identifiers import primary_identifier


@pytest.mark.parametrize(
    "raw",
    [
        "(415) 555-0100",
        "415.555.0100",
        "+1 415 555 0100",
        "1-415-555-0100",
        "tel:+14155550100",
        " 4155550100 ",
    ],
)
def test_us_phone_formats_normalise_to_e164(raw: str) -> None:
    assert normalise_identifier("phone", raw) == "+14155550100"


def test_default_region_decides_national_numbers() -> None:
    assert normalise_identifier("phone", "020 7946 0018", "GB") == "+442079460018"
    assert normalise_identifier("phone", "whatsapp:+44 20 7946 0018") == "+442079460018"


def test_possible_but_unassigned_numbers_are_accepted() -> None:
    # 555-01xx numbers are reserved for fiction: possible, not valid. A real customer's
    # number must never be refused because the numbering metadata lags.
    assert normalise_identifier("phone", "(212) 555-0199") == "+12125550199"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("555-0100", "local number"),
        ("12", "not a possible number"),
        ("call me", "cannot be parsed"),
        ("", "empty"),
    ],
)
def test_impossible_phones_are_rejected_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        normalise_identifier("phone", raw)


def test_emails_are_trimmed_and_lower_cased() -> None:
    assert normalise_identifier("email", "  Jane.Doe@Example.COM ") == "jane.doe@example.com"
    assert normalise_identifier("email", "mailto:Ann@Shop.io") == "ann@shop.io"


@pytest.mark.parametrize(
    "raw", ["jane", "jane@", "@shop.io", "a b@shop.io", "jane@shop", "x" * 250 + "@a.io"]
)
def test_non_addresses_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidIdentifier, match="email"):
        normalise_identifier("email", raw)


def test_opaque_ids_keep_case_and_refuse_control_characters() -> None:
    assert normalise_identifier("user_id", " U-42 ") == "U-42"
    assert normalise_identifier("loyalty_id", 12345) == "12345"
    with pytest.raises(InvalidIdentifier, match="control"):
        normalise_identifier("user_id", "a\x00b")
    with pytest.raises(InvalidIdentifier, match="string"):
        normalise_identifier("user_id", {"a": 1})
    with pytest.raises(InvalidIdentifier, match="lower-case name"):
        normalise_identifier("User Id", "x")


def test_identifier_model_refuses_unnormalised_values() -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        Identifier(type="phone", value="415 555 0100")
    with pytest.raises(ValueError, match="normalised"):
        Identifier(type="email", value="Jane@Shop.io")
    assert Identifier.parse("email", "Jane@Shop.io").value == "jane@shop.io"


def test_primary_identifier_follows_priority() -> None:
    ids = [
        Identifier.parse("anonymous_id", "d1"),
        Identifier.parse("email", "a@b.io"),
        Identifier.parse("order_id", "W1"),
    ]
    assert primary_identifier(ids).type == "email"
    assert primary_identifier(ids[:1]).type == "anonymous_id"


@given(st.text(max_size=40))
def test_normalisation_never_raises_anything_else(raw: str) -> None:
    for type_ in ("email", "phone", "user_id"):
        try:
            value = normalise_identifier(type_, raw)
        except InvalidIdentifier:
            continue
        assert normalise_identifier(type_, value) == value  # idempotent


def test_an_email_with_control_characters_is_refused() -> None:
    import pytest

    from schemas import InvalidIdentifier
    from schemas.identifiers import normalise_email

    for bad in ("ann\x00@shop.io", "ann@shop\x07.io"):
        with pytest.raises(InvalidIdentifier, match="control characters"):
            normalise_email(bad)
