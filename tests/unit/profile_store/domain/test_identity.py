"""Identity stitching rules as pure functions: no database, no broker."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from profile_store.domain.identity import Sighting, resolve_batch
from profile_store.domain.identity_rules import DEFAULT_RULES, Constraints, IdentityRules, TypeRule
from schemas import Identifier
from tests.support.identity_graph import POOL, Graph

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def sighting(event_id: str, minutes: int, *pairs: tuple[str, str]) -> Sighting:
    return Sighting(
        event_id,
        T0 + timedelta(minutes=minutes),
        tuple(Identifier(type=t, value=v) for t, v in pairs),
    )


def test_identifiers_seen_together_link_into_one_customer() -> None:
    g = Graph()
    g.apply([sighting("e1", 0, ("anonymous_id", "a1"))])
    g.apply([sighting("e2", 1, ("anonymous_id", "a1"), ("user_id", "u1"))])
    assert len(g.partition()) == 1
    assert len(set(g.events.values())) == 1


def test_merge_keeps_the_oldest_customer_and_records_the_cause() -> None:
    g = Graph()
    g.apply([sighting("e1", 0, ("email", "a@x.io"))])
    g.apply([sighting("e2", 1, ("phone", "+14155550100"))])
    older = g.events["e1"]
    idents = {
        Identifier(type="email", value="a@x.io"),
        Identifier(type="phone", value="+14155550100"),
    }
    known = {i: g.owner[i] for i in idents}
    res = resolve_batch(
        [sighting("e3", 2, ("email", "a@x.io"), ("phone", "+14155550100"))],
        known,
        {c: g.customers[c] for c in known.values()},
        g.new_customer,
    )
    assert [(m.merged_id, m.survivor_id, m.event_id) for m in res.merges] == [
        (g.events["e2"], older, "e3")
    ]
    assert res.assignments == {"e3": older}
    assert res.new_customers == []


def test_blocked_placeholders_and_reference_ids_never_link() -> None:
    g = Graph()
    g.apply(
        [
            sighting("e1", 0, ("user_id", "u1"), ("email", "noreply@shop.io"), ("order_id", "W1")),
            sighting("e2", 1, ("user_id", "u2"), ("email", "noreply@shop.io"), ("order_id", "W1")),
            sighting("e3", 2, ("user_id", "u3"), ("phone", "+10000000000")),
            sighting("e4", 3, ("user_id", "u4"), ("phone", "+10000000000")),
            sighting("e5", 4, ("user_id", "u5"), ("loyalty_id", "unknown")),
            sighting("e6", 5, ("user_id", "u6"), ("loyalty_id", "unknown")),
        ]
    )
    assert len(set(g.events.values())) == 6


def test_reference_only_event_joins_the_customer_that_owns_the_reference() -> None:
    g = Graph()
    g.apply([sighting("e1", 0, ("email", "a@x.io"), ("order_id", "W1"))])
    g.apply([sighting("e2", 5, ("order_id", "W1"))])
    assert g.events["e2"] == g.events["e1"]


events_strategy = st.lists(
    st.tuples(st.integers(0, 50), st.lists(st.sampled_from(POOL), min_size=1, max_size=3)),
    min_size=1,
    max_size=12,
).map(lambda evs: [sighting(f"e{n}", m, *ids) for n, (m, ids) in enumerate(evs)])

NO_LIMITS = IdentityRules(
    types={
        t: TypeRule(priority=r.priority, reference=r.reference)
        for t, r in DEFAULT_RULES.types.items()
    }
)


def components(batch: list[Sighting]) -> set[frozenset[Identifier]]:
    """Oracle without limits: connected components of linking identifiers."""
    adj: dict[Identifier, set[Identifier]] = {}
    for s in batch:
        linking = [i for i in s.identifiers if not DEFAULT_RULES.is_reference(i)]
        for i in linking:
            adj.setdefault(i, set()).update(linking)
    seen: set[Identifier] = set()
    out = set()
    for start in adj:
        if start in seen:
            continue
        stack, comp = [start], set()
        while stack:
            cur = stack.pop()
            if cur not in comp:
                comp.add(cur)
                stack.extend(adj[cur] - comp)
        seen |= comp
        out.add(frozenset(comp))
    return out


def batches(stream: list[Sighting], cuts: list[int]) -> list[list[Sighting]]:
    return [stream[lo:hi] for lo, hi in itertools.pairwise([0, *cuts, len(stream)])]


@settings(max_examples=300, deadline=None)
@given(events=events_strategy, data=st.data())
def test_any_arrival_order_batching_and_redelivery_gives_the_same_partition(
    events: list[Sighting], data: st.DataObject
) -> None:
    """Limits, priorities, placeholders and reference-only events included."""
    order = data.draw(st.permutations(events))
    redelivered = data.draw(st.lists(st.sampled_from(events), max_size=5))
    stream = list(order) + redelivered
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=4)))
    g = Graph()
    for batch in batches(stream, cuts):
        g.apply(batch)
    one = Graph()
    one.apply(events)
    assert g.partition() == one.partition()
    assert g.event_groups() == one.event_groups()


@settings(max_examples=300, deadline=None)
@given(events=events_strategy, data=st.data())
def test_time_ordered_batches_applied_incrementally_equal_one_batch(
    events: list[Sighting], data: st.DataObject
) -> None:
    """What lets the writer skip re-derivation for events that arrive in time order."""
    ordered = sorted(events, key=lambda s: (s.occurred_at, s.event_id))
    distinct = sorted({s.occurred_at for s in ordered})
    cut_times = data.draw(st.sets(st.sampled_from(distinct), max_size=4))
    g = Graph()
    for batch in batches(
        ordered, sorted({sum(s.occurred_at < t for s in ordered) for t in cut_times})
    ):
        g.apply(batch)
    one = Graph()
    one.apply(events)
    assert g.partition() == one.partition()
    assert g.event_groups() == one.event_groups()


@settings(max_examples=200, deadline=None)
@given(events=events_strategy)
def test_without_limits_customers_are_the_connected_components(events: list[Sighting]) -> None:
    g = Graph(NO_LIMITS)
    g.apply(events)
    linking = {frozenset(c) for c in components(events)}
    assert g.partition() == linking


def test_a_reference_seen_before_its_owner_joins_the_first_person_to_claim_it() -> None:
    g = Graph()
    g.apply([sighting("agent-reply", 0, ("conversation_id", "CH1"))])
    placeholder = g.events["agent-reply"]
    g.apply([sighting("customer-msg", 1, ("phone", "+14155550100"), ("conversation_id", "CH1"))])
    assert g.events["agent-reply"] == g.events["customer-msg"]
    assert g.merged_into.get(placeholder, placeholder) == g.events["customer-msg"]
    # Once owned by a real person, the reference never links a second one.
    g.apply([sighting("other", 2, ("email", "b@x.io"), ("conversation_id", "CH1"))])
    assert g.events["other"] != g.events["customer-msg"]


def test_a_placeholder_absorbed_in_the_same_batch_is_never_created() -> None:
    g = Graph()
    g.apply([sighting("ref", 0, ("order_id", "W9"))])
    res = resolve_batch(
        [
            sighting("ref2", 1, ("order_id", "W8")),
            sighting("buy", 2, ("email", "a@x.io"), ("order_id", "W8")),
        ],
        {},
        {},
        g.new_customer,
    )
    assert len(res.new_customers) == 1
    assert res.assignments["ref2"] == res.assignments["buy"] == res.new_customers[0].customer_id


def ident(t: str, v: str) -> Identifier:
    return Identifier(type=t, value=v)


def test_a_limit_keeps_two_accounts_apart_and_the_lower_priority_identifier_gives_way() -> None:
    g = Graph()
    g.apply([sighting("e1", 0, ("user_id", "u1"), ("phone", "+14155550100"))])
    res = resolve_batch(
        [sighting("e2", 1, ("user_id", "u2"), ("phone", "+14155550100"))],
        {ident("phone", "+14155550100"): g.events["e1"]},
        {g.events["e1"]: g.known_customer(g.events["e1"])},
        g.new_customer,
    )
    # The family phone stays with the first account; the second account is its own customer.
    assert res.merges == []
    assert res.assignments["e2"] != g.events["e1"]
    assert [(c.identifier.value, c.reason) for c in res.conflicts] == [
        ("+14155550100", "limit:user_id")
    ]
    assert [lk.identifier.value for lk in res.links] == ["u2"]


def test_the_highest_priority_identifier_decides_where_an_event_belongs() -> None:
    g = Graph()
    g.apply([sighting("e1", 0, ("user_id", "u1"), ("email", "a@x.io"))])
    g.apply([sighting("e2", 1, ("email", "a@x.io"), ("user_id", "u2"))])
    assert g.events["e2"] != g.events["e1"]
    assert g.owner[ident("email", "a@x.io")] == g.events["e1"]
    assert g.owner[ident("user_id", "u2")] == g.events["e2"]


def test_a_customer_holds_at_most_the_limit_of_emails() -> None:
    g = Graph()
    g.apply([sighting(f"e{n}", n, ("user_id", "u1"), ("email", f"m{n}@x.io")) for n in range(5)])
    assert len(set(g.events.values())) == 1
    emails = [i for i, c in g.owner.items() if i.type == "email"]
    assert sorted(i.value for i in emails) == ["m0@x.io", "m1@x.io", "m2@x.io"]


def test_merging_two_customers_respects_the_limit_on_their_sum() -> None:
    rules = IdentityRules.from_config({"types": {"email": {"priority": 80, "limit": 2}}})
    g = Graph(rules)
    g.apply([sighting("e1", 0, ("email", "a@x.io"), ("email", "b@x.io"))])
    g.apply([sighting("e2", 1, ("email", "c@x.io"), ("phone", "+14155550100"))])
    g.apply([sighting("e3", 2, ("phone", "+14155550100"), ("email", "a@x.io"))])
    assert len(g.partition()) == 2


def test_blocked_values_from_configuration_exact_and_pattern() -> None:
    rules = IdentityRules.from_config(
        {"blocked_values": ["CALLER-UNKNOWN"], "blocked_patterns": [r"^guest-\d+$"]}
    )
    assert rules.is_blocked(ident("user_id", "caller-unknown"))
    assert rules.is_blocked(ident("anonymous_id", "guest-42"))
    assert rules.is_blocked(ident("email", "noreply@shop.io")), "defaults kept"
    assert not rules.is_blocked(ident("anonymous_id", "guest-x"))
    g = Graph(rules)
    g.apply([sighting("e1", 0, ("email", "a@x.io"), ("anonymous_id", "guest-1"))])
    g.apply([sighting("e2", 1, ("email", "b@x.io"), ("anonymous_id", "guest-1"))])
    assert len(set(g.events.values())) == 2
    only = IdentityRules.from_config({"replace_default_blocks": True, "blocked_values": ["x"]})
    assert not only.is_blocked(ident("email", "noreply@shop.io"))


def test_bad_identity_configuration_fails_fast_naming_the_problem() -> None:
    import pytest

    from profile_store.domain.identity_rules import IdentityConfigError

    with pytest.raises(IdentityConfigError, match="blocked pattern"):
        IdentityRules.from_config({"blocked_patterns": ["(unclosed"]})
    with pytest.raises(IdentityConfigError, match="unknown identity rule keys"):
        IdentityRules.from_config({"limits": {}})
    with pytest.raises(IdentityConfigError, match="limit for email"):
        IdentityRules.from_config({"types": {"email": {"limit": 0}}})
    with pytest.raises(IdentityConfigError, match=r"types\.email"):
        IdentityRules.from_config({"types": {"email": {"weight": 3}}})


def test_reference_ids_find_a_customer_but_never_link_two() -> None:
    g = Graph()
    g.apply([sighting("e1", 0, ("email", "a@x.io"), ("order_id", "W1"))])
    g.apply([sighting("e2", 1, ("email", "b@x.io"), ("order_id", "W1"))])
    g.apply([sighting("e3", 2, ("order_id", "W1"))])
    assert g.events["e1"] != g.events["e2"]
    assert g.events["e3"] == g.events["e1"]


def test_a_separation_keeps_two_people_apart_for_good() -> None:
    sep = Constraints.of([(ident("email", "a@x.io"), ident("email", "b@x.io"))])
    g = Graph(constraints=sep)
    g.apply([sighting("e1", 0, ("email", "a@x.io"), ("phone", "+14155550100"))])
    g.apply([sighting("e2", 1, ("email", "b@x.io"))])
    g.apply([sighting("e3", 2, ("phone", "+14155550100"), ("email", "b@x.io"))])
    g.apply([sighting("e4", 3, ("email", "a@x.io"), ("email", "b@x.io"))])
    assert g.events["e2"] == g.events["e3"] != g.events["e1"]
    # An event naming both belongs to one of them (equal priority: the first by value).
    assert g.events["e4"] == g.events["e1"]
    assert len(g.partition()) == 2


def test_a_manual_merge_joins_two_customers_from_its_time_on() -> None:
    from profile_store.domain.identity_rules import Together

    together = Constraints.of(
        together=[
            Together(ident("email", "a@x.io"), ident("email", "b@x.io"), T0 + timedelta(minutes=5))
        ]
    )
    g = Graph(constraints=together)
    g.apply([sighting("e1", 0, ("email", "a@x.io")), sighting("e2", 1, ("email", "b@x.io"))])
    g.apply([sighting("e3", 6, ("email", "a@x.io"))])
    assert len(g.partition()) == 1
    assert g.events["e1"] == g.events["e2"]


def test_unmerge_gives_the_split_off_customer_back_its_id_and_events() -> None:
    g = Graph()
    g.apply([sighting("e1", 0, ("email", "ann@x.io"), ("email", "home@x.io"))])
    g.apply([sighting("e2", 1, ("email", "bob@x.io"))])
    alice, bob = g.events["e1"], g.events["e2"]
    # A shared household address merges Bob into Ann (two strong identifiers, within limits).
    g.apply([sighting("e3", 2, ("email", "home@x.io"), ("email", "bob@x.io"))])
    assert g.events["e2"] == alice and g.merged_into == {bob: alice}
    g.constraints = Constraints.of([(ident("email", "ann@x.io"), ident("email", "bob@x.io"))])
    g.rederive_all()
    assert g.events["e1"] == alice
    assert g.events["e2"] == g.events["e3"] == bob
    assert g.merged_into == {}


def test_a_weak_identifier_never_merges_two_established_identities() -> None:
    g = Graph()
    g.apply([sighting("e1", 0, ("email", "ann@x.io"), ("phone", "+14155550100"))])
    g.apply([sighting("e2", 1, ("email", "bob@x.io"))])
    g.apply([sighting("e3", 2, ("phone", "+14155550100"), ("email", "bob@x.io"))])
    assert g.events["e3"] == g.events["e2"] != g.events["e1"]
    # ...but it still joins activity known only by weak identifiers to a person.
    g.apply([sighting("e4", 3, ("phone", "+14155550199"), ("anonymous_id", "d1"))])
    g.apply([sighting("e5", 4, ("phone", "+14155550199"), ("email", "cara@x.io"))])
    assert g.events["e4"] == g.events["e5"]
