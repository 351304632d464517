"""The helpers every mapping shares: one clip, one name rule, one identifier-key table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.common import MAX_SUMMARY, capped, clip, identifier_type_of, name_traits, names_in
from ingest.web.mapping import map_message
from schemas.events import MAX_SUMMARY_CHARS


def test_clip_is_one_line_within_the_events_summary_limit() -> None:
    assert MAX_SUMMARY == MAX_SUMMARY_CHARS == 500
    assert clip("a\n  b\tc") == "a b c"
    long = clip("x" * 600)
    assert len(long) == 500 and long.endswith("…")
    assert clip("abcdef", 4) == "abc…"


@pytest.mark.parametrize(
    ("args", "traits"),
    [
        (("Maria Lopez",), {"name": "Maria Lopez", "first_name": "Maria", "last_name": "Lopez"}),
        (("Lopez, Maria",), {"name": "Maria Lopez", "first_name": "Maria", "last_name": "Lopez"}),
        (
            ("Ana Maria de la Cruz",),
            {"name": "Ana Maria de la Cruz", "first_name": "Ana Maria de la", "last_name": "Cruz"},
        ),
        (("  Mari  ",), {"name": "Mari"}),
        (
            (None, "Bob", "Norman"),
            {"name": "Bob Norman", "first_name": "Bob", "last_name": "Norman"},
        ),
        ((None, "Bob", None), {"name": "Bob", "first_name": "Bob"}),
        (('"Maria Lopez"',), {"name": "Maria Lopez", "first_name": "Maria", "last_name": "Lopez"}),
        (("maria@shop.io",), {}),
        (("+1 415 555 0132",), {}),
        (("",), {}),
        ((42,), {}),
    ],
)
def test_name_traits(args: tuple[object, ...], traits: dict[str, str]) -> None:
    assert name_traits(*args) == traits


def test_free_form_keys_name_identifiers_and_names() -> None:
    assert identifier_type_of("Customer_ID") == "user_id"
    assert identifier_type_of("e-mail") == identifier_type_of("Email") == "email"
    assert identifier_type_of("mood") is None
    assert identifier_type_of("Order Number") == "order_id"
    assert names_in({"First Name": "Sam", "last_name": "Okafor", "plan": "x"}) == {
        "name": "Sam Okafor",
        "first_name": "Sam",
        "last_name": "Okafor",
    }


def test_capped_keeps_the_first_and_counts_all() -> None:
    assert capped(list(range(120)), 50) == (list(range(50)), 120)


def test_segment_spec_name_traits_become_the_name_traits() -> None:
    msg = {
        "type": "identify",
        "userId": "u-1",
        "messageId": "m-1",
        "traits": {"firstName": "Maria", "lastName": "Lopez", "plan": "gold"},
    }
    traits = map_message(msg, datetime.now(UTC)).attributes["traits"]
    assert traits == {
        "name": "Maria Lopez",
        "first_name": "Maria",
        "last_name": "Lopez",
        "firstName": "Maria",
        "lastName": "Lopez",
        "plan": "gold",
    }
