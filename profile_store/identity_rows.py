"""Storing identity decisions: links as identifier rows, refused links as conflict rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.identity import Conflict, Link


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
        sa.text(
            "INSERT INTO identifiers (id_type, id_value, customer_id, event_id, rule, first_seen) "
            "SELECT * FROM unnest(CAST(:t AS text[]), CAST(:v AS text[]), CAST(:c AS text[]), "
            "CAST(:e AS text[]), CAST(:r AS text[]), CAST(:f AS timestamptz[])) "
            "ON CONFLICT DO NOTHING"
        ),
        {
            "t": [lk.identifier.type for lk in links],
            "v": [lk.identifier.value for lk in links],
            "c": [lk.customer_id for lk in links],
            "e": [lk.event_id for lk in links],
            "r": [lk.rule for lk in links],
            "f": [held.get((lk.identifier.type, lk.identifier.value), now) for lk in links],
        },
    )


async def insert_conflicts(conn: AsyncConnection, conflicts: Sequence[Conflict]) -> None:
    """One row per identifier an event carried but could not link, with the reason."""
    if not conflicts:
        return
    await conn.execute(
        sa.text(
            "INSERT INTO identity_conflicts (id_type, id_value, customer_id, event_id, reason) "
            "SELECT * FROM unnest(CAST(:t AS text[]), CAST(:v AS text[]), CAST(:c AS text[]), "
            "CAST(:e AS text[]), CAST(:r AS text[])) ON CONFLICT DO NOTHING"
        ),
        {
            "t": [c.identifier.type for c in conflicts],
            "v": [c.identifier.value for c in conflicts],
            "c": [c.customer_id for c in conflicts],
            "e": [c.event_id for c in conflicts],
            "r": [c.reason for c in conflicts],
        },
    )
