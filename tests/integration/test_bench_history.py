"""The benchmark's bulk history on real PostgreSQL: every link it stores is backed by a stored
event that carries it, so re-deriving a customer (as a late event does) keeps every link."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.history import load_history
from bench.journeys import EPOCH
from bench.people import person
from bench.stack import admin_connection
from profile_store.storage.engines import make_async_engine
from profile_store.write.writer import TimelineWriter
from tests.support.events import T0, event

pytestmark = pytest.mark.integration

SEED, CUSTOMERS, EVENTS = 7, 40, 400


@pytest.fixture
async def engine(clean_db: str) -> AsyncIterator[AsyncEngine]:
    load_history(clean_db, SEED, CUSTOMERS, EVENTS, progress=lambda _: None)
    eng = make_async_engine(clean_db)
    yield eng
    await eng.dispose()


def _links(url: str, customer: str | None = None) -> list[tuple[str, str, str]]:
    with admin_connection(url) as conn:
        rows = conn.execute(
            "SELECT id_type, id_value, customer_id FROM identifiers "
            "WHERE %(c)s::text IS NULL OR customer_id = %(c)s ORDER BY 1, 2",
            {"c": customer},
        ).fetchall()
        unbacked = conn.execute(
            "SELECT count(*) FROM identifiers i LEFT JOIN timeline_events t USING (event_id) "
            "WHERE t.event_id IS NULL OR NOT t.identifiers @> "
            "jsonb_build_array(jsonb_build_object('type', i.id_type, 'value', i.id_value))"
        ).fetchone()
    assert unbacked == (0,)
    return [(str(t), str(v), str(c)) for t, v, c in rows]


async def test_every_history_link_is_carried_by_its_event(
    clean_db: str, engine: AsyncEngine
) -> None:
    links = _links(clean_db)
    assert len({c for _, _, c in links}) == CUSTOMERS
    assert {t for t, _, _ in links} >= {"email", "phone", "user_id", "anonymous_id"}


async def test_a_late_event_rederives_a_history_customer_without_losing_links(
    clean_db: str, engine: AsyncEngine
) -> None:
    p = person(SEED, 3)
    before = _links(clean_db, p.customer_id)
    assert ("phone", p.phone_e164, p.customer_id) in before
    earlier = EPOCH - timedelta(days=400)  # before any history event: a late arrival
    minutes = int((earlier - T0).total_seconds() // 60)
    # A device new to the store: placing this early could change identity, so it re-derives.
    late = event("late-1", ("email", p.email), ("anonymous_id", "late-device"), minutes=minutes)

    result = await TimelineWriter(engine).write([late])

    assert result.written == 1 and result.rederived == 1
    after = _links(clean_db, p.customer_id)
    assert after == sorted([*before, ("anonymous_id", "late-device", p.customer_id)])
