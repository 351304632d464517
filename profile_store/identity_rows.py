"""Storing identity decisions: links as identifier rows, refused links as conflict rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.identity import Conflict, Link
from profile_store.models import identifiers, identity_conflicts


async def insert_links(
    conn: AsyncConnection,
    links: Sequence[Link],
    now: datetime,
    first_seen: Mapping[tuple[str, str], datetime] | None = None,
) -> None:
    """One identifier row per link (an identifier already owned stays where it is)."""
    if not links:
        return
    held = first_seen or {}
    await conn.execute(
        insert(identifiers).on_conflict_do_nothing(),
        [
            {
                "id_type": lk.identifier.type,
                "id_value": lk.identifier.value,
                "customer_id": lk.customer_id,
                "event_id": lk.event_id,
                "rule": lk.rule,
                "first_seen": held.get((lk.identifier.type, lk.identifier.value), now),
            }
            for lk in links
        ],
    )


async def insert_conflicts(conn: AsyncConnection, conflicts: Sequence[Conflict]) -> None:
    """One row per identifier an event carried but could not link, with the reason."""
    if not conflicts:
        return
    await conn.execute(
        insert(identity_conflicts).on_conflict_do_nothing(),
        [
            {
                "id_type": c.identifier.type,
                "id_value": c.identifier.value,
                "customer_id": c.customer_id,
                "event_id": c.event_id,
                "reason": c.reason,
            }
            for c in conflicts
        ],
    )
