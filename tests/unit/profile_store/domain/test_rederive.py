"""A replay fed in chunks, as the writer streams a closure, equals one in a single go (pure)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profile_store.domain.identity import KnownCustomer, Sighting
from profile_store.domain.identity_rules import DEFAULT_RULES, Constraints, Together
from profile_store.domain.rederive import Replay, ReplayOrderError, StoredEvent, rederive
from schemas import Identifier
from tests.support.identity_graph import POOL

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EXISTING = {f"cus_{n}": T0 + timedelta(seconds=n) for n in range(4)}


def maker() -> Callable[[], KnownCustomer]:
    seq = itertools.count()
    return lambda: KnownCustomer(f"new_{next(seq)}", T0)


stored_events = st.lists(
    st.tuples(
        st.integers(0, 60),
        st.lists(st.sampled_from(POOL), min_size=1, max_size=3),
        st.sampled_from([None, *EXISTING]),
        st.sampled_from([None, *EXISTING]),
    ),
    min_size=1,
    max_size=12,
).map(
    lambda drawn: [
        StoredEvent(
            Sighting(
                f"e{n}",
                T0 + timedelta(minutes=m),
                tuple(Identifier(type=t, value=v) for t, v in ids),
            ),
            now,
            first,
        )
        for n, (m, ids, now, first) in enumerate(drawn)
    ]
)


@settings(max_examples=200)
@given(events=stored_events, size=st.integers(1, 5), merged=st.booleans())
def test_a_replay_in_chunks_equals_one_in_a_single_go(
    events: list[StoredEvent], size: int, merged: bool
) -> None:
    constraints = Constraints.of(
        together=[
            Together(
                Identifier(type="email", value="p0@x.io"),
                Identifier(type="user_id", value="u1"),
                T0 + timedelta(minutes=30),
            )
        ]
    )
    merged_into = {"cus_3": "cus_0"} if merged else {}
    whole = rederive(events, EXISTING, merged_into, DEFAULT_RULES, constraints, maker())
    replay = Replay(DEFAULT_RULES, constraints)
    ordered = sorted(events, key=lambda e: (e.sighting.occurred_at, e.sighting.event_id))
    placed, conflicts = [], []
    for lo in range(0, len(ordered), size):
        placed += replay.feed(ordered[lo : lo + size])
        conflicts += replay.conflicts()
    naming = replay.finish(EXISTING, merged_into, maker())
    assert {e: naming.of(c) for e, c in placed} == whole.assignments
    assert [naming.conflict(c) for c in conflicts] == whole.conflicts
    assert list(naming.links) == whole.links
    assert (set(naming.kept), list(naming.created), dict(naming.retired)) == (
        whole.kept,
        whole.created,
        whole.retired,
    )


def test_a_replay_refuses_events_out_of_time_order() -> None:
    replay = Replay(DEFAULT_RULES, Constraints())
    ident = (Identifier(type="email", value="p0@x.io"),)
    replay.feed([StoredEvent(Sighting("b", T0, ident), None, None)])
    with pytest.raises(ReplayOrderError):
        replay.feed([StoredEvent(Sighting("a", T0, ident), None, None)])
