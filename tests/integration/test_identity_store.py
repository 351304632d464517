"""Identity resolution through the real writer and PostgreSQL: order, redelivery, concurrency."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from profile_store.storage import locks
from profile_store.storage.engines import make_async_engine
from profile_store.storage.tables import metadata
from profile_store.write.writer import TimelineWriter
from schemas import CanonicalEvent
from schemas.trust import Trust
from tests.support.events import event
from tests.support.identity_db import check_consistency, stored
from tests.support.identity_graph import POOL, expected, journeys

pytestmark = pytest.mark.integration


DEVICES = [i for i in POOL if i[0] == "anonymous_id"]


def _event(
    n: int, minutes: int, ids: list[tuple[str, str]], device: tuple[str, str] | None
) -> CanonicalEvent:
    """A server event, or (with `device`) an unverified browser event claiming `ids`."""
    if device is None:
        return event(f"e{n}", *ids, minutes=minutes)
    return event(
        f"e{n}",
        device,
        minutes=minutes,
        trust=Trust.BROWSER_UNVERIFIED,
        claims=tuple(i for i in dict.fromkeys(ids) if i != device),
        attributes={"traits": {"name": "Claimed"}},
    )


event_sets = st.lists(
    st.tuples(
        st.integers(0, 50),
        st.lists(st.sampled_from(POOL), min_size=1, max_size=3),
        st.none() | st.sampled_from(DEVICES),
    ),
    min_size=1,
    max_size=10,
).map(lambda evs: [_event(n, m, ids, device) for n, (m, ids, device) in enumerate(evs)])


async def truncate(engine: AsyncEngine) -> None:
    names = ", ".join(t.name for t in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def split(stream: list[CanonicalEvent], cuts: list[int]) -> list[list[CanonicalEvent]]:
    return [stream[lo:hi] for lo, hi in itertools.pairwise([0, *cuts, len(stream)])]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=event_sets, data=st.data())
async def test_any_arrival_order_batching_and_redelivery_gives_the_same_graph(
    engine: AsyncEngine, events: list[CanonicalEvent], data: st.DataObject
) -> None:
    await truncate(engine)
    order = data.draw(st.permutations(events))
    redelivered = data.draw(st.lists(st.sampled_from(events), max_size=4))
    stream = list(order) + redelivered
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(stream) - 1)), max_size=4)))
    writer = TimelineWriter(engine)
    for batch in split(stream, cuts):
        await writer.write(batch)
    want = expected(events)
    partition, groups = await stored(engine)
    assert partition == want.partition()
    assert groups == want.event_groups()
    await check_consistency(engine)
    async with engine.connect() as conn:
        # What unverified browser events carry never sets a trait, whatever the order.
        named = await conn.scalar(sa.text("SELECT count(*) FROM customers WHERE traits ? 'name'"))
    assert named == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_two_concurrent_writers_agree_with_one(
    engine: AsyncEngine, clean_db: str, seed: int
) -> None:
    await concurrent_writers_agree_with_one(engine, clean_db, seed)


async def test_writers_agree_when_lock_sets_go_store_wide(
    engine: AsyncEngine, clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lock sets over the limit take the store-wide key exclusively while the others hold it
    shared: no deadlock, and the same graph."""
    monkeypatch.setattr(locks, "MAX_LOCK_KEYS", 6)
    await concurrent_writers_agree_with_one(engine, clean_db, 4)


async def concurrent_writers_agree_with_one(engine: AsyncEngine, clean_db: str, seed: int) -> None:
    events = journeys(seed)
    rng = random.Random(seed)
    stream = events + rng.sample(events, 20)
    rng.shuffle(stream)
    halves = [stream[0::2], stream[1::2]]
    engines = [make_async_engine(clean_db) for _ in range(2)]
    try:

        async def run(part: list[CanonicalEvent], eng: AsyncEngine) -> None:
            writer = TimelineWriter(eng)
            for lo in range(0, len(part), 7):
                await writer.write(part[lo : lo + 7])

        await asyncio.wait_for(
            asyncio.gather(*(run(h, e) for h, e in zip(halves, engines, strict=True))), 120
        )
    finally:
        for e in engines:
            await e.dispose()
    want = expected(events)
    partition, groups = await stored(engine)
    assert groups == want.event_groups()
    assert partition == want.partition()
    await check_consistency(engine)


async def test_a_late_event_that_changes_the_outcome_rebuilds_the_customers(
    engine: AsyncEngine,
) -> None:
    writer = TimelineWriter(engine)
    await writer.write([event("x", ("email", "a@x.io"), ("user_id", "u1"), minutes=0)])
    await writer.write([event("f", ("email", "b@x.io"), ("user_id", "u2"), minutes=3)])
    await writer.write([event("g", ("email", "a@x.io"), ("email", "b@x.io"), minutes=5)])
    # u1 and u2 stay apart; now an event from minute 1 arrives late linking a and b...
    late = await writer.write(
        [event("late", ("email", "b@x.io"), ("phone", "+14155550100"), minutes=1)]
    )
    assert late.rederived >= 1
    want = expected(
        [
            event("x", ("email", "a@x.io"), ("user_id", "u1"), minutes=0),
            event("f", ("email", "b@x.io"), ("user_id", "u2"), minutes=3),
            event("g", ("email", "a@x.io"), ("email", "b@x.io"), minutes=5),
            event("late", ("email", "b@x.io"), ("phone", "+14155550100"), minutes=1),
        ]
    )
    partition, groups = await stored(engine)
    assert (partition, groups) == (want.partition(), want.event_groups())
    await check_consistency(engine)


async def test_a_late_event_rebuilds_only_its_part_of_the_batch(engine: AsyncEngine) -> None:
    """The late event's customers are re-derived; an unrelated customer touched by the same
    batch, and a new one, are applied incrementally, and the outcome is still the oracle's."""
    history = [
        event("x", ("email", "a@x.io"), ("user_id", "u1"), minutes=0),
        event("f", ("email", "b@x.io"), ("user_id", "u2"), minutes=3),
        event("g", ("email", "a@x.io"), ("email", "b@x.io"), minutes=5),
        event("z", ("email", "z@x.io"), ("user_id", "u9"), minutes=2),
    ]
    writer = TimelineWriter(engine)
    for e in history:
        await writer.write([e])
    batch = [
        event("late", ("email", "b@x.io"), ("phone", "+14155550100"), minutes=1),
        event("z2", ("email", "z@x.io"), ("anonymous_id", "dev-z"), minutes=9),
        event("new", ("email", "n@x.io"), minutes=8),
    ]
    result = await writer.write(batch)
    # u1's and u2's customers only: z's customer and the new one are not rebuilt.
    assert result.rederived == 2 and result.written == 3 and result.new_customers == 1
    want = expected([*history, *batch])
    partition, groups = await stored(engine)
    assert (partition, groups) == (want.partition(), want.event_groups())
    await check_consistency(engine)


async def test_conflicts_are_recorded_with_their_reason(engine: AsyncEngine) -> None:
    writer = TimelineWriter(engine)
    await writer.write([event("a", ("user_id", "u1"), ("phone", "+14155550100"))])
    result = await writer.write(
        [event("b", ("user_id", "u2"), ("phone", "+14155550100"), minutes=1)]
    )
    assert (result.conflicts, result.merges, result.new_customers) == (1, 0, 1)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(sa.text("SELECT id_type, event_id, reason FROM identity_conflicts"))
        ).all()
    assert rows == [("phone", "b", "limit:user_id")]


async def test_an_earlier_event_adding_to_one_customer_is_still_placed_in_time_order(
    engine: AsyncEngine,
) -> None:
    """Ann's email reached her customer through a shared device. An event from before that,
    with her email alone, would in time order have given her a customer the weak device link
    may not merge: only adding to one customer is not enough to skip the re-derivation."""
    history = [
        event("h0", ("email", "p1@x.io"), ("anonymous_id", "d0"), minutes=1),
        event("h1", ("email", "p0@x.io"), ("anonymous_id", "d0"), minutes=2),
    ]
    writer = TimelineWriter(engine)
    for e in history:
        await writer.write([e])
    late = event("b0", ("email", "p0@x.io"), minutes=0)
    assert (await writer.write([late])).rederived >= 1
    want = expected([*history, late])
    partition, groups = await stored(engine)
    assert (partition, groups) == (want.partition(), want.event_groups())
    await check_consistency(engine)
