"""Recording screen pops once their call's event is in a timeline (the worker's last step).

The pop names the customer its event landed on (whatever the event's fate: written, a
duplicate, or an older revision the stored contact record outranks), so the agent's console
opens exactly that customer. A pop whose event is in no timeline (dropped for an erased
person, dead-lettered) is not recorded. Recording is idempotent on the pop id; rows older
than `KEEP_FOR` are pruned on the way, since an API delivers only fresh pops.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from profile_store.storage.errors import store_errors
from schemas.screen_pops import ScreenPop

KEEP_FOR: Final = timedelta(hours=1)

_RECORD: Final = sa.text(
    "INSERT INTO screen_pops (pop_id, agent, event_id, customer_id, rang_at) "
    "SELECT p.pop_id, p.agent, p.event_id, t.customer_id, p.rang_at "
    "FROM unnest(CAST(:pop_ids AS text[]), CAST(:agents AS text[]), CAST(:event_ids AS text[]), "
    "CAST(:rang AS timestamptz[])) AS p(pop_id, agent, event_id, rang_at) "
    "JOIN timeline_events t ON t.event_id = p.event_id "
    "ON CONFLICT (pop_id) DO NOTHING"
)
_PRUNE: Final = sa.text("DELETE FROM screen_pops WHERE created_at < now() - :keep")


async def record_screen_pops(engine: AsyncEngine, pops: Sequence[tuple[ScreenPop, str]]) -> int:
    """Record each (pop, event id) whose event is in a timeline; how many were new."""
    if not pops:
        return 0
    params = {
        "pop_ids": [p.pop_id for p, _ in pops],
        "agents": [p.agent for p, _ in pops],
        "event_ids": [event_id for _, event_id in pops],
        "rang": [p.rang_at for p, _ in pops],
    }
    async with store_errors, engine.begin() as conn:
        recorded = (await conn.execute(_RECORD, params)).rowcount or 0
        await conn.execute(_PRUNE, {"keep": KEEP_FOR})
    return int(recorded)
