"""Queries behind the live stream: what was appended to a customer's timeline since a row id,
and a cheap fingerprint of the profile row to notice trait, score and merge changes.

`timeline_events.id` comes from one sequence, so "rows after id N" is a primary-key range
scan over what was written since. The stream re-reads a window below the high-water mark
(`LOOKBACK_IDS`) and drops what it already sent, so a transaction that took its ids before
another but committed after it is still picked up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.read.models import TimelineItem
from profile_store.storage.tables import customers, timeline_events

#: What a timeline item is read from (plus `id`, the high-water mark).
TIMELINE_COLUMNS: Final = (
    timeline_events.c.id,
    timeline_events.c.event_id,
    timeline_events.c.channel,
    timeline_events.c.kind,
    timeline_events.c.occurred_at,
    timeline_events.c.received_at,
    timeline_events.c.source,
    timeline_events.c.summary,
    timeline_events.c.attributes,
)
LOOKBACK_IDS: Final = 2000
MAX_ROWS_PER_POLL: Final = 200


@dataclass(frozen=True)
class CustomerState:
    """The customer row's fingerprint: changes when traits, scores, last seen or merges do."""

    merged_into: str | None
    fingerprint: str


async def high_water(conn: AsyncConnection) -> int:
    """The largest timeline row id visible now (0 for an empty table)."""
    stmt = select(func.coalesce(func.max(timeline_events.c.id), 0))
    return int((await conn.execute(stmt)).scalar_one())


async def customer_state(conn: AsyncConnection, customer_id: str) -> CustomerState | None:
    """The fingerprint of `customer_id`'s row, or None if it does not exist (erased)."""
    c, m = customers, customers.alias("m")
    absorbed = select(func.count()).select_from(m).where(m.c.merged_into == c.c.customer_id)
    stmt = select(
        c.c.merged_into,
        func.md5(
            func.concat_ws(
                "|",
                c.c.last_seen,
                c.c.traits,
                c.c.cx,
                absorbed.scalar_subquery(),
            )
        ),
    ).where(c.c.customer_id == customer_id)
    row = (await conn.execute(stmt)).first()
    return None if row is None else CustomerState(row[0], str(row[1]))


async def appended_since(
    conn: AsyncConnection, customer_id: str, after_id: int, limit: int = MAX_ROWS_PER_POLL
) -> list[tuple[int, TimelineItem]]:
    """`customer_id`'s timeline rows with id above `after_id`, in id (write) order."""
    te = timeline_events
    stmt = (
        select(*TIMELINE_COLUMNS)
        .where(te.c.id > after_id, te.c.customer_id == customer_id)
        .order_by(te.c.id)
        .limit(limit)
    )
    return [(int(r.id), TimelineItem.from_row(r)) for r in await conn.execute(stmt)]
