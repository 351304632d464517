"""The batch writer against real PostgreSQL: stitching, merges, idempotency, aggregates."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from profile_store.storage.engines import make_async_engine
from profile_store.storage.tables import (
    customer_channels,
    customers,
    identifiers,
    merges,
    timeline_events,
)
from profile_store.write.writer import TimelineWriter
from schemas import CanonicalEvent
from tests.support.events import event

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(clean_db: str) -> AsyncIterator[AsyncEngine]:
    eng = make_async_engine(clean_db)
    yield eng
    await eng.dispose()


async def owners(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(timeline_events.c.event_id, timeline_events.c.customer_id)
        )
        return dict(rows.tuples().all())


async def test_anonymous_views_join_the_customer_after_identify(engine: AsyncEngine) -> None:
    writer = TimelineWriter(engine)
    await writer.write([event("p1", ("anonymous_id", "anon-1"), minutes=0)])
    await writer.write([event("p2", ("anonymous_id", "anon-1"), minutes=1)])
    result = await writer.write(
        [
            event(
                "i1",
                ("anonymous_id", "anon-1"),
                ("user_id", "u-42"),
                ("email", "Jane@Shop.io"),
                minutes=2,
                kind="identified",
            )
        ]
    )
    assert result.written == 1 and result.merges == 0
    got = await owners(engine)
    assert len(set(got.values())) == 1 and set(got) == {"p1", "p2", "i1"}
    async with engine.connect() as conn:
        ids = (
            await conn.execute(sa.select(identifiers.c.id_type, identifiers.c.customer_id))
        ).all()
        stats = (await conn.execute(sa.select(customer_channels))).mappings().one()
    assert {t for t, _ in ids} == {"anonymous_id", "user_id", "email"}
    assert {c for _, c in ids} == set(got.values())
    assert stats["event_count"] == 3 and stats["channel"] == "web"


async def test_two_customers_merge_into_the_older_and_keep_everything(engine: AsyncEngine) -> None:
    writer = TimelineWriter(engine)
    await writer.write(
        [event("a", ("email", "ann@shop.io"), minutes=0, channel="email", kind="email_received")]
    )
    await writer.write(
        [
            event(
                "b",
                ("phone", "+1 415 555 0100"),
                minutes=5,
                channel="call_centre",
                kind="call_completed",
            )
        ]
    )
    before = await owners(engine)
    older, younger = before["a"], before["b"]
    assert older != younger
    result = await writer.write(
        [
            event(
                "c",
                ("email", "ann@shop.io"),
                ("phone", "(415) 555-0100"),
                minutes=10,
                channel="chat",
                kind="chat_message",
            )
        ]
    )
    assert result.merges == 1
    after = await owners(engine)
    assert set(after.values()) == {older}
    async with engine.connect() as conn:
        merged_into = (
            await conn.execute(
                sa.select(customers.c.merged_into).where(customers.c.customer_id == younger)
            )
        ).scalar_one()
        merge = (await conn.execute(sa.select(merges))).mappings().one()
        stats = dict(
            (
                await conn.execute(
                    sa.select(customer_channels.c.channel, customer_channels.c.event_count)
                )
            )
            .tuples()
            .all()
        )
        span = (
            await conn.execute(
                sa.select(customers.c.first_seen, customers.c.last_seen).where(
                    customers.c.customer_id == older
                )
            )
        ).one()
    assert merged_into == older
    assert (merge["merged_id"], merge["survivor_id"], merge["event_id"]) == (younger, older, "c")
    assert stats == {"email": 1, "call_centre": 1, "chat": 1}
    assert span[0] < span[1]


async def test_redelivered_batch_adds_nothing(engine: AsyncEngine) -> None:
    writer = TimelineWriter(engine)
    batch = [event(f"e{i}", ("user_id", f"u{i % 3}"), minutes=i) for i in range(9)]
    first = await writer.write(batch)
    second = await writer.write(batch + batch[:2])
    assert (first.written, second.written, second.duplicates) == (9, 0, 11)
    async with engine.connect() as conn:
        count = (
            await conn.execute(sa.select(sa.func.count()).select_from(timeline_events))
        ).scalar_one()
        total = (
            await conn.execute(sa.select(sa.func.sum(customer_channels.c.event_count)))
        ).scalar_one()
    assert count == 9 and total == 9


async def test_reference_ids_find_but_never_link(engine: AsyncEngine) -> None:
    writer = TimelineWriter(engine)
    await writer.write(
        [
            event(
                "o1",
                ("email", "a@shop.io"),
                ("order_id", "W-1"),
                kind="order_placed",
                channel="store",
            )
        ]
    )
    await writer.write(
        [
            event(
                "o2",
                ("email", "b@shop.io"),
                ("order_id", "W-1"),
                kind="order_placed",
                channel="store",
            )
        ]
    )
    await writer.write([event("o3", ("order_id", "W-1"), kind="order_collected", channel="store")])
    got = await owners(engine)
    assert got["o1"] != got["o2"]
    assert got["o3"] == got["o1"]


async def test_traits_keep_the_latest_value_whatever_the_arrival_order(engine: AsyncEngine) -> None:
    writer = TimelineWriter(engine)
    late = event(
        "t2",
        ("user_id", "u1"),
        minutes=10,
        kind="identified",
        attributes={"traits": {"name": "Ann B"}},
    )
    early = event(
        "t1",
        ("user_id", "u1"),
        minutes=1,
        kind="identified",
        attributes={"traits": {"name": "Ann A", "plan": "gold"}},
    )
    await writer.write([late])
    await writer.write([early])
    async with engine.connect() as conn:
        traits = (await conn.execute(sa.select(customers.c.traits))).scalar_one()
    assert traits["name"]["value"] == "Ann B" and traits["plan"]["value"] == "gold"


async def test_placeholder_values_never_link_people(engine: AsyncEngine) -> None:
    writer = TimelineWriter(engine)
    await writer.write([event("x1", ("user_id", "u1"), ("email", "test@example.com"))])
    await writer.write([event("x2", ("user_id", "u2"), ("email", "test@example.com"))])
    got = await owners(engine)
    assert got["x1"] != got["x2"]


async def test_a_newer_revision_replaces_the_item_and_an_older_one_is_ignored(
    engine: AsyncEngine,
) -> None:
    writer = TimelineWriter(engine)

    def contact(rev: str, queue: str, *extra: tuple[str, str]) -> CanonicalEvent:
        return event(
            "connect:c-1",
            ("phone", "+14155550100"),
            *extra,
            channel="call_centre",
            kind="call_completed",
            attributes={"revision": rev, "queue": queue},
        )

    first = await writer.write([contact("2026-03-01T09:05:00.000000Z", "Billing")])
    newer = await writer.write(
        [
            contact("2026-03-01T09:07:00.000000Z", "Sales", ("email", "ann@shop.io")),
            contact("2026-03-01T09:06:00.000000Z", "Stale"),
        ]
    )
    older = await writer.write([contact("2026-03-01T09:04:00.000000Z", "Older")])
    assert (first.written, newer.revised, newer.written, older.revised) == (1, 1, 0, 0)
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(timeline_events.c.attributes))).scalars().all()
        count = (await conn.execute(sa.select(customer_channels.c.event_count))).scalar_one()
        owners_of = (await conn.execute(sa.select(identifiers.c.customer_id))).scalars().all()
    assert [r["queue"] for r in rows] == ["Sales"]
    assert count == 1, "a revision updates the item, it does not add a contact"
    assert len(set(owners_of)) == 1 and len(owners_of) == 2, "new identifiers join the owner"


async def test_survey_scores_fill_cx_latest_first_and_survive_a_merge(engine: AsyncEngine) -> None:
    writer = TimelineWriter(engine)

    def survey(
        eid: str, minutes: int, metric: str, score: int, who: tuple[str, str]
    ) -> CanonicalEvent:
        return event(
            eid,
            who,
            minutes=minutes,
            channel="survey",
            kind="survey_response",
            attributes={
                "metric": metric,
                "score": score,
                "scale_max": 10 if metric == "nps" else 5,
            },
        )

    await writer.write([survey("s2", 20, "nps", 3, ("email", "ann@shop.io"))])
    await writer.write([survey("s1", 10, "nps", 9, ("email", "ann@shop.io"))])
    await writer.write([survey("s3", 5, "csat", 4, ("phone", "+14155550100"))])
    await writer.write(
        [event("link", ("email", "ann@shop.io"), ("phone", "+14155550100"), minutes=30)]
    )
    async with engine.connect() as conn:
        cx = (
            await conn.execute(sa.select(customers.c.cx).where(customers.c.merged_into.is_(None)))
        ).scalar_one()
    assert cx["nps"]["score"] == 3 and cx["nps"]["event_id"] == "s2"
    assert cx["csat"]["score"] == 4


async def test_an_order_update_before_the_order_joins_the_buyer(engine: AsyncEngine) -> None:
    writer = TimelineWriter(engine)
    await writer.write([event("upd", ("order_id", "W-5001"), minutes=9, kind="order_collected")])
    result = await writer.write(
        [event("buy", ("email", "ann@shop.io"), ("order_id", "W-5001"), kind="order_placed")]
    )
    got = await owners(engine)
    assert got["upd"] == got["buy"]
    assert (result.merges, result.new_customers) == (0, 0), "the placeholder becomes the buyer"
    await writer.write([event("buy2", ("email", "bob@shop.io"), ("order_id", "W-5002"))])
    await writer.write([event("upd2", ("order_id", "W-5002"), minutes=5, kind="order_collected")])
    await writer.write([event("upd3", ("order_id", "W-5003"), minutes=5, kind="order_collected")])
    await writer.write([event("buy3", ("email", "bob@shop.io"), ("order_id", "W-5003"), minutes=6)])
    got = await owners(engine)
    assert got["buy2"] == got["upd2"] == got["upd3"] == got["buy3"]
    async with engine.connect() as conn:
        rule = (await conn.execute(sa.select(merges.c.rule))).scalar_one()
    assert rule == "reference_claimed"
