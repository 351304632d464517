"""Re-deriving a closure of any size: a late event at a kiosk's device connects more customers
than the old 500-customer limit, and is still placed as in time order, by the one
re-derivation path (kept in memory, or streamed twice under the store-wide lock)."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from profile_store.storage import locks
from profile_store.storage.tables import metadata
from profile_store.write import rebuild
from profile_store.write.writer import TimelineWriter
from schemas import CanonicalEvent
from tests.support.events import event
from tests.support.identity_db import check_consistency, stored
from tests.support.identity_graph import expected

pytestmark = pytest.mark.integration

#: More people than the old limit on a re-derivation (500 customers).
PEOPLE = 640
KIOSK = ("anonymous_id", "kiosk-7")


def kiosk_day() -> list[CanonicalEvent]:
    """Each person signs in at the shop's kiosk: their account, their email, the device."""
    return [
        event(f"k{p}", ("user_id", f"u{p}"), ("email", f"p{p}@shop.io"), KIOSK, minutes=10 + p)
        for p in range(PEOPLE)
    ]


async def truncate(engine: AsyncEngine) -> None:
    names = ", ".join(t.name for t in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.mark.parametrize("mode", ["in memory", "streamed twice, store-wide lock"])
async def test_a_late_event_over_the_old_closure_limit_is_placed_as_in_time_order(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    if mode != "in memory":
        monkeypatch.setattr(rebuild, "IN_MEMORY_EVENTS", 100)
        monkeypatch.setattr(rebuild, "FETCH_EVENTS", 64)
        monkeypatch.setattr(locks, "MAX_LOCK_KEYS", 50)
    history = kiosk_day()
    writer = TimelineWriter(engine)
    for lo in range(0, len(history), 200):
        await writer.write(history[lo : lo + 200])
    # Before anyone: the device with a walk-in's email. In time order the walk-in owns the
    # device, so every account seen on it is re-decided.
    late = event("walk-in", KIOSK, ("email", "walkin@shop.io"), minutes=0)
    result = await writer.write([late])
    assert result.rederived > 500 and result.written == 1
    want = expected([*history, late])
    partition, groups = await stored(engine)
    assert (partition, groups) == (want.partition(), want.event_groups())
    await check_consistency(engine)


async def test_any_other_arrival_order_gives_the_same_closure(engine: AsyncEngine) -> None:
    events = [*kiosk_day(), event("walk-in", KIOSK, ("email", "walkin@shop.io"), minutes=0)]
    want = expected(events)
    shuffled = random.Random(7).sample(events, len(events))
    writer = TimelineWriter(engine)
    for lo in range(0, len(shuffled), 160):
        await writer.write(shuffled[lo : lo + 160])
    partition, groups = await stored(engine)
    assert (partition, groups) == (want.partition(), want.event_groups())
    await check_consistency(engine)
