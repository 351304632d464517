"""Source trust, pure: an unverified browser claim never moves a device, an event or a trait
to anyone; verified or server-confirmed links join the device's history to the customer; and
order and redelivery still never change the outcome."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from profile_store.domain.traits import flatten, merge_traits
from profile_store.domain.trust import Claim, sets_traits, sighting, unverified
from schemas import CanonicalEvent
from schemas.trust import Trust
from tests.support.events import event
from tests.support.identity_graph import Graph

VICTIM = [("user_id", "victim"), ("email", "victim@shop.io"), ("phone", "+14155550100")]
#: Identifiers of the company's own customers (server events).
PEOPLE = [*VICTIM, ("user_id", "u2"), ("email", "two@shop.io"), ("anonymous_id", "home-pc")]
#: The attacker's devices, and what they claim: anyone's identifiers, and their own phone.
DEVICES = [("anonymous_id", f"attacker-{n}") for n in range(3)]
CLAIMABLE = [*PEOPLE, ("phone", "+14155550199"), ("user_id", "u-new")]


def graph_of(events: Sequence[CanonicalEvent], cuts: Sequence[int] = ()) -> Graph:
    g = Graph()
    for lo, hi in itertools.pairwise([0, *cuts, len(events)]):
        g.apply([sighting(e) for e in events[lo:hi]])
    return g


def traits_of(events: Sequence[CanonicalEvent], g: Graph) -> dict[str, dict[str, Any]]:
    """Each customer's traits, folded as the writer folds them."""
    out: dict[str, dict[str, Any]] = {}
    for e in events:
        traits = e.attributes.get("traits")
        if isinstance(traits, dict) and sets_traits(e.trust):
            cid = g.events[e.event_id]
            at = e.occurred_at.isoformat()
            out[cid] = merge_traits(out.get(cid, {}), traits, at, e.source)
    return {c: flatten(t) for c, t in out.items()}


server_events = st.lists(
    st.tuples(st.integers(0, 40), st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=3)),
    min_size=1,
    max_size=8,
).map(
    lambda evs: [
        event(f"s{n}", *ids, minutes=m, attributes={"traits": {"name": "Victim Real"}})
        for n, (m, ids) in enumerate(evs)
    ]
)
attacks = st.lists(
    st.tuples(
        st.integers(0, 40),
        st.sampled_from(DEVICES),
        st.lists(st.sampled_from(CLAIMABLE), min_size=1, max_size=3, unique=True),
    ),
    min_size=1,
    max_size=6,
).map(
    lambda evs: [
        event(
            f"a{n}",
            device,
            minutes=m,
            kind="identified",
            trust=Trust.BROWSER_UNVERIFIED,
            claims=tuple(claims),
            attributes={"traits": {"name": "Mallory", "plan": "stolen"}},
            source="segment",
        )
        for n, (m, device, claims) in enumerate(evs)
    ]
)


@settings(max_examples=200, deadline=None)
@given(history=server_events, attack=attacks, data=st.data())
def test_unverified_claims_never_reach_anyone_whatever_the_order(
    history: list[CanonicalEvent], attack: list[CanonicalEvent], data: st.DataObject
) -> None:
    honest = graph_of(history)
    stream = list(data.draw(st.permutations(history + attack)))
    stream += data.draw(st.lists(st.sampled_from(history + attack), max_size=4))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=4)))
    g = graph_of(stream, cuts)
    assert g.partition() == graph_of(history + attack).partition()
    # The company's customers hold exactly what they held without the attack...
    device_ids = {v for _, v in DEVICES}
    assert {p for p in g.partition() if not {i.value for i in p} & device_ids} == honest.partition()
    # ...no identifier the attacker only claimed belongs to anyone (the phone finds nobody)...
    assert not any(i.value == "+14155550199" for p in g.partition() for i in p)
    # ...every attack event stays on a customer holding attacker devices only...
    for e in attack:
        held = {i.value for i, c in g.owner.items() if c == g.events[e.event_id]}
        assert held <= device_ids, held
    # ...the company's events are grouped as before, and no trait comes from an attack.
    attack_ids = {e.event_id for e in attack}
    groups = {frozenset(x - attack_ids) for x in g.event_groups()} - {frozenset()}
    assert groups == honest.event_groups()
    assert all("Mallory" not in t.values() for t in traits_of(stream, g).values())


@settings(max_examples=150, deadline=None)
@given(history=server_events, attack=attacks, data=st.data())
def test_a_server_event_confirming_a_device_joins_its_history_in_any_order(
    history: list[CanonicalEvent], attack: list[CanonicalEvent], data: st.DataObject
) -> None:
    """The site's backend, after a login, sends the device with the user id: the device's
    earlier (unverified) activity joins that customer, whatever order events arrive in."""
    device = attack[0].identifiers[0]
    confirm = event("confirm", ("user_id", "victim"), (device.type, device.value), minutes=41)
    events = history + attack + [confirm]
    stream = list(data.draw(st.permutations(events)))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=3)))
    g = graph_of(stream, cuts)
    assert g.partition() == graph_of(events).partition()
    victim = g.events["confirm"]
    for e in attack:
        if e.identifiers[0] == device:
            assert g.events[e.event_id] == victim
    # Its claims stay claims: the attacker's phone still finds nobody.
    assert not any(i.value == "+14155550199" for i in g.owner)


def test_a_verified_browser_event_links_its_device_and_user() -> None:
    first = event(
        "b1", ("anonymous_id", "phone-1"), kind="page_viewed", trust=Trust.BROWSER_UNVERIFIED
    )
    login = event(
        "b2",
        ("anonymous_id", "phone-1"),
        ("user_id", "victim"),
        minutes=1,
        trust=Trust.BROWSER_VERIFIED,
        claims=(("phone", "+14155550199"),),
    )
    server = event("s1", ("user_id", "victim"), ("email", "victim@shop.io"), minutes=2)
    g = graph_of([server, login, first])
    assert g.events["b1"] == g.events["b2"] == g.events["s1"]
    assert {i.value for i in g.owner} == {"phone-1", "victim", "victim@shop.io"}


def test_the_rule_of_traits_and_what_stitching_sees() -> None:
    claimed = event("c", ("anonymous_id", "d"), trust=Trust.BROWSER_UNVERIFIED, claims=VICTIM[:1])
    assert sighting(claimed).identifiers == claimed.identifiers
    assert not sets_traits(Trust.BROWSER_UNVERIFIED) and not sets_traits("browser_unverified")
    assert sets_traits(Trust.BROWSER_VERIFIED) and sets_traits(Trust.SERVER)


def test_unverified_claims_shown_once_newest_first_held_ones_left_out() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    claims = [
        Claim("email", "victim@shop.io", "e1", at),
        Claim("email", "victim@shop.io", "e3", at + timedelta(minutes=3)),
        Claim("phone", "+14155550199", "e2", at + timedelta(minutes=2)),
        Claim("user_id", "mine", "e4", at + timedelta(minutes=9)),
    ]
    shown = unverified(claims, {("user_id", "mine")})
    assert [(c.value, c.event_id) for c in shown] == [
        ("victim@shop.io", "e3"),
        ("+14155550199", "e2"),
    ]
    assert len(unverified(claims, set(), limit=1)) == 1
