"""Queries behind the live stream: what was appended to a customer's timeline since a row id,
and a cheap fingerprint of the profile row to notice trait, score and merge changes.

`timeline_events.id` comes from one sequence, so "rows after id N" is a primary-key range
scan over what was written since. The stream re-reads a window below the high-water mark
(`LOOKBACK_IDS`) and drops what it already sent, so a transaction that took its ids before
another but committed after it is still picked up. The statements run on the agent's psycopg
connections (`profile_store.storage.driver`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from profile_store.read.models import TimelineItem
from profile_store.storage.connections import Db, on_driver
from profile_store.storage.driver import PgConnection, fetch_all, fetch_one

LOOKBACK_IDS: Final = 2000
MAX_ROWS_PER_POLL: Final = 200

_HIGH_WATER: Final = "SELECT coalesce(max(id), 0) AS high FROM timeline_events"
_STATE: Final = (
    "SELECT c.merged_into, md5(concat_ws('|', c.last_seen, c.traits, c.cx, "
    "(SELECT count(*) FROM customers m WHERE m.merged_into = c.customer_id))) AS fingerprint "
    "FROM customers c WHERE c.customer_id = %(customer_id)s"
)
_APPENDED: Final = (
    "SELECT id, event_id, channel, kind, occurred_at, received_at, source, summary, attributes, "
    "trust FROM timeline_events WHERE id > %(after_id)s AND customer_id = %(customer_id)s "
    "ORDER BY id LIMIT %(limit)s"
)


@dataclass(frozen=True)
class CustomerState:
    """The customer row's fingerprint: changes when traits, scores, last seen or merges do."""

    merged_into: str | None
    fingerprint: str


async def high_water(db: Db | PgConnection) -> int:
    """The largest timeline row id visible now (0 for an empty table)."""
    async with on_driver(db) as conn:
        row = await fetch_one(conn, _HIGH_WATER, {})
    assert row is not None
    return int(row.high)


async def customer_state(db: Db | PgConnection, customer_id: str) -> CustomerState | None:
    """The fingerprint of `customer_id`'s row, or None if it does not exist (erased)."""
    async with on_driver(db) as conn:
        row = await fetch_one(conn, _STATE, {"customer_id": customer_id})
    return None if row is None else CustomerState(row.merged_into, str(row.fingerprint))


async def appended_since(
    db: Db | PgConnection, customer_id: str, after_id: int, limit: int = MAX_ROWS_PER_POLL
) -> list[tuple[int, TimelineItem]]:
    """`customer_id`'s timeline rows with id above `after_id`, in id (write) order."""
    params = {"customer_id": customer_id, "after_id": after_id, "limit": limit}
    async with on_driver(db) as conn:
        rows = await fetch_all(conn, _APPENDED, params)
    return [(int(r.id), TimelineItem.from_row(r)) for r in rows]
