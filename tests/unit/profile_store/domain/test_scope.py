"""Which part of a batch to re-derive, and the immutable scope that records it (pure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profile_store.domain.batch_groups import Group, batch_groups
from profile_store.domain.identity import Sighting
from profile_store.domain.identity_rules import DEFAULT_RULES
from profile_store.domain.scope import (
    Closure,
    Scope,
    customers_of,
    events_of,
    first_choice,
    next_choice,
)
from schemas import Identifier

T0 = datetime(2026, 1, 1, tzinfo=UTC)
A1, A2 = Identifier(type="anonymous_id", value="a1"), Identifier(type="anonymous_id", value="a2")
U1 = Identifier(type="user_id", value="u1")


def test_a_scope_never_changes_rederiving_makes_a_new_one() -> None:
    scope = Scope(frozenset({A1, U1}), {U1: "cus_1"}, frozenset({"cus_1"}), unowned=frozenset({A1}))
    closure = Closure(frozenset({"cus_1", "cus_2"}), frozenset({A2}))
    redo = scope.rederiving({"e1"}, closure)
    assert not scope.rederive and scope.customers == {"cus_1"} and scope.unowned == {A1}
    assert redo.rederive and redo.rederive_events == {"e1"}
    assert redo.rederive_customers == {"cus_1", "cus_2"} and redo.customers == {"cus_1", "cus_2"}
    assert redo.unowned == {A1, A2} and redo.owners == scope.owners
    with pytest.raises(dataclasses.FrozenInstanceError):
        scope.customers = frozenset()  # type: ignore[misc]
    with pytest.raises(TypeError):
        scope.owners[A1] = "cus_9"  # type: ignore[index]


def group(
    events: Collection[str], customers: Collection[str] = (), idents: Collection[Identifier] = ()
) -> Group:
    return Group(frozenset(events), frozenset(idents), frozenset(customers))


def test_the_first_choice_is_the_late_parts_or_everything_under_constraints() -> None:
    groups = [group({"late"}, {"cus_1"}), group({"other"}, {"cus_2"})]
    assert first_choice(groups, {"late"}, constrained=False) == groups[:1]
    assert first_choice(groups, {"late"}, constrained=True) == groups


def test_the_choice_grows_with_the_closure_until_it_is_stable() -> None:
    groups = [group({"late"}, {"cus_1"}), group({"near"}, {"cus_3"}), group({"new"}, idents={A2})]
    chosen = first_choice(groups, {"late"}, constrained=False)
    grown = next_choice(
        groups, {"late"}, chosen, Closure(frozenset({"cus_1", "cus_3"}), frozenset({A2})), False
    )
    assert grown == groups
    assert (
        next_choice(
            groups, {"late"}, groups, Closure(frozenset({"cus_1", "cus_3"}), frozenset({A2})), False
        )
        is None
    )
    assert (
        next_choice(groups, {"late"}, chosen, Closure(frozenset({"cus_1"}), frozenset()), False)
        is None
    )
    assert next_choice(groups, {"late"}, groups, Closure(frozenset(), frozenset()), True) is None


CUSTOMERS = [f"cus_{n}" for n in range(6)]
IDENTS = [Identifier(type="anonymous_id", value=f"d{n}") for n in range(6)]


@st.composite
def batches(
    draw: st.DrawFn,
) -> tuple[list[Sighting], dict[Identifier, str], set[str], dict[str, set[str]]]:
    sightings = [
        Sighting(
            f"e{n}",
            T0 + timedelta(minutes=n),
            tuple(draw(st.sets(st.sampled_from(IDENTS), min_size=1, max_size=2))),
        )
        for n in range(draw(st.integers(1, 8)))
    ]
    owners = draw(st.dictionaries(st.sampled_from(IDENTS), st.sampled_from(CUSTOMERS), max_size=4))
    late = draw(st.sets(st.sampled_from([s.event_id for s in sightings])))
    # Stored events connect customers: the closure of a set is its connected component.
    edges = draw(
        st.lists(st.tuples(st.sampled_from(CUSTOMERS), st.sampled_from(CUSTOMERS)), max_size=5)
    )
    links: dict[str, set[str]] = {c: {c} for c in CUSTOMERS}
    for a, b in edges:
        links[a].add(b)
        links[b].add(a)
    return sightings, owners, late, links


def closure_of(
    customers: frozenset[str], links: dict[str, set[str]], owners: dict[Identifier, str]
) -> Closure:
    seen, todo = set(customers), list(customers)
    while todo:
        for other in links[todo.pop()] - seen:
            seen.add(other)
            todo.append(other)
    # An identifier of the batch nobody owns counts as carried by the closure's events.
    return Closure(frozenset(seen), frozenset(i for i in IDENTS if i not in owners))


@settings(max_examples=300)
@given(batches(), st.booleans())
def test_the_chosen_parts_are_closed_under_the_closure(
    drawn: tuple[list[Sighting], dict[Identifier, str], set[str], dict[str, set[str]]],
    constrained: bool,
) -> None:
    sightings, owners, late, links = drawn
    groups = batch_groups(sightings, owners, {}, DEFAULT_RULES)
    chosen = first_choice(groups, late, constrained)
    for _ in range(len(groups) + 1):
        closure = closure_of(customers_of(chosen), links, owners)
        grown = next_choice(groups, late, chosen, closure, constrained)
        if grown is None:
            break
        assert {g.event_ids for g in chosen} <= {g.event_ids for g in grown}  # only grows
        chosen = grown
    else:
        raise AssertionError("the choice did not settle")
    assert late <= events_of(chosen)
    for g in groups:
        if g not in chosen:
            assert not g.customers & closure.customers and not g.identifiers & closure.unowned
            assert not g.event_ids & late and not constrained
