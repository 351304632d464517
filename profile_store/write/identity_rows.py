"""Storing identity decisions: links as identifier rows, refused links as conflict rows.

Rows travel as one JSON document (`profile_store.storage.bulk.json_rows`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from profile_store.domain.identity import Conflict, Link
from profile_store.storage.bulk import json_rows
from schemas.identifiers import Identifier


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
            "SELECT t, v, c, e, r, f FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
            "AS x(t text, v text, c text, e text, r text, f timestamptz) ON CONFLICT DO NOTHING"
        ),
        {
            "rows": json_rows(
                {
                    "t": lk.identifier.type,
                    "v": lk.identifier.value,
                    "c": lk.customer_id,
                    "e": lk.event_id,
                    "r": lk.rule,
                    "f": held.get((lk.identifier.type, lk.identifier.value), now),
                }
                for lk in links
            )
        },
    )


async def insert_conflicts(conn: AsyncConnection, conflicts: Sequence[Conflict]) -> None:
    """One row per identifier an event carried but could not link, with the reason."""
    if not conflicts:
        return
    await conn.execute(
        sa.text(
            "INSERT INTO identity_conflicts (id_type, id_value, customer_id, event_id, reason) "
            "SELECT t, v, c, e, r FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
            "AS x(t text, v text, c text, e text, r text) ON CONFLICT DO NOTHING"
        ),
        {
            "rows": json_rows(
                {
                    "t": c.identifier.type,
                    "v": c.identifier.value,
                    "c": c.customer_id,
                    "e": c.event_id,
                    "r": c.reason,
                }
                for c in conflicts
            )
        },
    )


def stored_identifiers(
    column: Sequence[Mapping[str, Any]], made: dict[tuple[str, str], Identifier]
) -> tuple[Identifier, ...]:
    """A timeline row's `identifiers` column as `Identifier`s, validating each distinct one
    once per `made` (a batch reads the same person's identifiers on many rows)."""
    out = []
    for item in column:
        key = (item["type"], item["value"])
        ident = made.get(key)
        if ident is None:
            ident = made[key] = Identifier(type=key[0], value=key[1])
        out.append(ident)
    return tuple(out)
