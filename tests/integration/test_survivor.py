"""The one survivor resolution: every read and the admin operations agree on a merged id's
survivor, follow a chain older data left, and report a chain that does not end."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from profile_store.read.profile import find_profile, load_profile
from profile_store.read.timeline import timeline_for
from profile_store.storage.connections import on_driver
from profile_store.storage.survivor import MAX_MERGE_HOPS, MergeChainBroken, survivor_of
from profile_store.storage.tables import customers
from profile_store.write.writer import TimelineWriter
from tests.support.events import event

pytestmark = pytest.mark.integration


async def chain(engine: AsyncEngine, survivor: str, hops: int) -> str:
    """`hops` merged-away customers, each merged into the next, the last into `survivor`."""
    rows = [
        {
            "customer_id": f"cus_hop{n}",
            "merged_into": f"cus_hop{n + 1}" if n + 1 < hops else survivor,
        }
        for n in range(hops)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(customers), list(reversed(rows)))
    return "cus_hop0"


async def test_a_chain_within_the_hops_resolves_everywhere(engine: AsyncEngine) -> None:
    await TimelineWriter(engine).write([event("a", ("email", "ann@shop.io"))])
    ann = await find_profile(engine, "email", "ann@shop.io")
    assert ann is not None
    start = await chain(engine, ann.customer_id, MAX_MERGE_HOPS)
    assert await survivor_of(engine, start) == ann.customer_id
    profile = await load_profile(engine, start)
    assert profile is not None and profile.customer_id == ann.customer_id
    async with on_driver(engine) as conn:
        canonical, page = await timeline_for(conn, start)
    assert canonical == ann.customer_id and [i.event_id for i in page.items] == ["a"]
    assert await survivor_of(engine, "cus_nobody") is None
    assert await load_profile(engine, "cus_nobody") is None


async def test_a_chain_that_does_not_end_is_reported_not_answered_as_unknown(
    engine: AsyncEngine,
) -> None:
    await TimelineWriter(engine).write([event("a", ("email", "ann@shop.io"))])
    ann = await find_profile(engine, "email", "ann@shop.io")
    assert ann is not None
    start = await chain(engine, ann.customer_id, MAX_MERGE_HOPS + 1)
    with pytest.raises(MergeChainBroken):
        await survivor_of(engine, start)
    with pytest.raises(MergeChainBroken):
        await load_profile(engine, start)
    async with on_driver(engine) as conn:
        with pytest.raises(MergeChainBroken):
            await timeline_for(conn, start)
