"""Reading screen pops for the agents' consoles: what was recorded after a row id (every
agent's, for an API process's one poll), or one agent's recent pops (a console that opens
during the call). Customers merged since the pop resolve to their survivor.

`screen_pops.id` comes from one sequence, but two workers may commit out of id order, so a
poller re-reads a short window below what it has seen (`LOOKBACK_IDS`) and skips repeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from profile_store.storage.driver import PgConnection, fetch_all, fetch_one

LOOKBACK_IDS: Final = 100
MAX_ROWS: Final = 200

_COLUMNS: Final = (
    "SELECT p.id, p.pop_id, p.agent, p.event_id, p.rang_at, "
    "coalesce(c.merged_into, p.customer_id) AS customer_id "
    "FROM screen_pops p LEFT JOIN customers c ON c.customer_id = p.customer_id "
)
_AFTER: Final = (
    f"{_COLUMNS}WHERE p.id > %(after)s AND p.rang_at >= %(fresh)s ORDER BY p.id LIMIT %(limit)s"
)
_FOR_AGENT: Final = (
    f"{_COLUMNS}WHERE p.agent = %(agent)s AND p.id > %(after)s AND p.rang_at >= %(fresh)s "
    "ORDER BY p.id LIMIT %(limit)s"
)
_HIGH_WATER: Final = "SELECT coalesce(max(id), 0) AS high FROM screen_pops"


@dataclass(frozen=True)
class PopRow:
    """One recorded pop: whose console, which customer, which call."""

    id: int
    pop_id: str
    agent: str
    customer_id: str
    event_id: str
    rang_at: datetime


def _rows(rows: list[Any]) -> list[PopRow]:
    return [PopRow(r.id, r.pop_id, r.agent, r.customer_id, r.event_id, r.rang_at) for r in rows]


async def pops_high_water(conn: PgConnection) -> int:
    """The largest pop row id now (0 when none)."""
    row = await fetch_one(conn, _HIGH_WATER, {})
    assert row is not None
    return int(row.high)


async def pops_after(
    conn: PgConnection, after_id: int, now: datetime, max_age: timedelta
) -> list[PopRow]:
    """Every agent's pops above `after_id` that rang within `max_age`, in id order."""
    params = {"after": after_id, "fresh": now - max_age, "limit": MAX_ROWS}
    return _rows(await fetch_all(conn, _AFTER, params))


async def agent_pops(
    conn: PgConnection, agent: str, after_id: int, now: datetime, max_age: timedelta
) -> list[PopRow]:
    """`agent`'s pops above `after_id` that rang within `max_age`, in id order."""
    params = {"agent": agent, "after": after_id, "fresh": now - max_age, "limit": MAX_ROWS}
    return _rows(await fetch_all(conn, _FOR_AGENT, params))
