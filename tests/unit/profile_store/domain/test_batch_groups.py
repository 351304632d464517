"""The independent parts of a batch, and which of them a late event makes re-derive (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from profile_store.domain.batch_groups import batch_groups, groups_to_rederive
from profile_store.domain.identity import Sighting
from profile_store.domain.identity_rules import DEFAULT_RULES
from schemas import Identifier

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ident(t: str, v: str) -> Identifier:
    return Identifier(type=t, value=v)


def sighting(event_id: str, *idents: Identifier) -> Sighting:
    return Sighting(event_id, T0 + timedelta(minutes=len(event_id)), idents)


A1, A2, A3 = ident("anonymous_id", "a1"), ident("anonymous_id", "a2"), ident("anonymous_id", "a3")
U1, E1 = ident("user_id", "u1"), ident("email", "ann@shop.io")


def events(groups: list) -> list[set[str]]:  # type: ignore[type-arg]
    return [set(g.event_ids) for g in groups]


def test_events_sharing_an_identifier_or_an_owner_are_one_group() -> None:
    batch = [sighting("e1", A1), sighting("e2", A1, U1), sighting("e3", E1), sighting("e4", A3)]
    groups = batch_groups(batch, {E1: "cus_1", U1: "cus_1"}, {}, DEFAULT_RULES)
    # e1-e2 share a1; e2 and e3 share the owner of u1 and the email; e4 stands alone.
    assert events(groups) == [{"e1", "e2", "e3"}, {"e4"}]
    assert groups[0].customers == {"cus_1"} and groups[0].identifiers == {A1, U1, E1}
    assert groups[1].customers == frozenset() and groups[1].identifiers == {A3}


def test_a_customer_that_refused_an_identifier_joins_its_group() -> None:
    batch = [sighting("e1", A1), sighting("e2", A2)]
    groups = batch_groups(batch, {A2: "cus_2"}, {A1: {"cus_2"}}, DEFAULT_RULES)
    assert events(groups) == [{"e1", "e2"}] and groups[0].customers == {"cus_2"}


def test_blocked_values_connect_nothing() -> None:
    placeholder = ident("email", "test@test.com")
    assert DEFAULT_RULES.is_blocked(placeholder)
    groups = batch_groups(
        [sighting("e1", A1, placeholder), sighting("e2", A2, placeholder)], {}, {}, DEFAULT_RULES
    )
    assert events(groups) == [{"e1"}, {"e2"}]


def test_groups_come_in_the_order_of_their_first_event() -> None:
    batch = [sighting("x", A3), sighting("y", A1), sighting("z", A3)]
    assert events(batch_groups(batch, {}, {}, DEFAULT_RULES)) == [{"x", "z"}, {"y"}]


def test_only_late_groups_and_those_sharing_the_closure_are_rederived() -> None:
    batch = [sighting("late", A1, U1), sighting("other", A2), sighting("near", A3)]
    groups = batch_groups(batch, {U1: "cus_1", A3: "cus_3"}, {}, DEFAULT_RULES)
    assert events(groups_to_rederive(groups, {"late"})) == [{"late"}]
    # cus_3 turned out to be connected to cus_1 through stored events: its group joins.
    grown = groups_to_rederive(groups, {"late"}, {"cus_1", "cus_3"})
    assert events(grown) == [{"late"}, {"near"}]
    # An identifier nobody owns that the closure's events carry joins its group too.
    assert events(groups_to_rederive(groups, {"late"}, {"cus_1"}, {A2})) == [{"late"}, {"other"}]
    assert groups_to_rederive(groups, set()) == []
