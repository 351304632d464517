"""Reading the stored identity graph back, and checking it is consistent (for tests)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from profile_store.domain.identity_rules import DEFAULT_RULES
from schemas import Identifier


async def stored(engine: AsyncEngine) -> tuple[set[frozenset[Identifier]], set[frozenset[str]]]:
    """The partition of linking identifiers and the grouping of events, as stored."""
    async with engine.connect() as conn:
        idents = (
            await conn.execute(sa.text("SELECT id_type, id_value, customer_id FROM identifiers"))
        ).all()
        rows = (
            await conn.execute(sa.text("SELECT event_id, customer_id FROM timeline_events"))
        ).all()
    groups: dict[str, set[Identifier]] = {}
    for t, v, c in idents:
        i = Identifier(type=t, value=v)
        if not DEFAULT_RULES.is_reference(i):
            groups.setdefault(c, set()).add(i)
    events: dict[str, set[str]] = {}
    for e, c in rows:
        events.setdefault(c, set()).add(e)
    return {frozenset(g) for g in groups.values()}, {frozenset(g) for g in events.values()}


async def check_consistency(engine: AsyncEngine) -> None:
    """Every row on a canonical customer; counts and merged ids agree with the timelines."""
    async with engine.connect() as conn:
        bad_rows = await conn.scalar(
            sa.text(
                "SELECT count(*) FROM timeline_events t JOIN customers c USING (customer_id) "
                "WHERE c.merged_into IS NOT NULL"
            )
        )
        chains = await conn.scalar(
            sa.text(
                "SELECT count(*) FROM customers a JOIN customers b "
                "ON a.merged_into = b.customer_id WHERE b.merged_into IS NOT NULL"
            )
        )
        counts = (
            await conn.execute(
                sa.text(
                    "SELECT customer_id, channel, count(*) FROM timeline_events GROUP BY 1, 2 "
                    "EXCEPT SELECT customer_id, channel, event_count FROM customer_channels"
                )
            )
        ).all()
        stray = await conn.scalar(
            sa.text(
                "SELECT count(*) FROM identifiers i JOIN customers c USING (customer_id) "
                "WHERE c.merged_into IS NOT NULL"
            )
        )
    assert (bad_rows, chains, counts, stray) == (0, 0, [], 0)
